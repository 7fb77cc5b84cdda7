/**
 * Who is acting. Every mutation that makes an authorisation decision (granting a role, adding a
 * permission to a role, editing a membership, minting a token) takes a Principal first, and the
 * service decides with the rule of this module: **nobody grants what they do not hold**.
 */
export interface Principal {
  /** the acting user; null for the local operator (CLI on the server's machine) and the system */
  readonly userId: string | null;
  /**
   * holds every permission. False for a superuser acting through a narrowed credential (an API
   * token with `read` scope or explicit codenames): that credential holds only what it was given.
   */
  readonly isSuperuser: boolean;
  /** the codenames held (for a superuser, whatever the set says, `holds` answers true) */
  readonly permissions: ReadonlySet<string>;
  /** how audit records name this principal: `user:<id>`, `token:<id>`, `cli:<os user>`, `system` */
  readonly actor: string;
  /**
   * Set when the principal is a credential narrower than its user (an API token with `read` scope,
   * explicit codenames, or a declared token): what it may still do on the user's **own** objects
   * (their applications, tokens, account), which need no codename otherwise. Absent: the user's
   * full reach (session, Basic, an unnarrowed token). See `mayActOnOwn`.
   */
  readonly credential?: CredentialLimits;
}

export interface CredentialLimits {
  /** safe methods only, and on own objects only what a `view_*` codename names (`read` scope) */
  readonly readOnly: boolean;
  /** only what these codenames name; null: no codename list */
  readonly codenames: ReadonlySet<string> | null;
}

/** The local operator: the CLI talking to its own server over the control socket. A superuser. */
export function operatorPrincipal(osUser = 'operator'): Principal {
  return { userId: null, isSuperuser: true, permissions: new Set(), actor: `cli:${osUser}` };
}

/** Gatehouse itself (bootstrap steps such as AUTH_TOKENS). A superuser. */
export const systemPrincipal: Principal = Object.freeze({
  userId: null,
  isSuperuser: true,
  permissions: new Set<string>(),
  actor: 'system',
});

/** Whether `principal` holds `codename` (a superuser holds everything). */
export function holds(principal: Principal, codename: string): boolean {
  return principal.isSuperuser || principal.permissions.has(codename);
}

/**
 * Whether `principal` may do what `codename` names (`change_application`) to objects that are its
 * user's own, without holding the codename: a person acting as themselves may, a narrowed
 * credential only within its narrowing (a `read` token views its user's applications but cannot
 * change them; a token narrowed to `view_token` sees its user's tokens and nothing else), and a
 * principal without a user (the operator, the system) has no own objects (they are superusers).
 */
export function mayActOnOwn(principal: Principal, codename: string): boolean {
  if (principal.userId === null) return false;
  const limits = principal.credential;
  if (!limits) return true;
  if (limits.readOnly && !codename.startsWith('view_')) return false;
  return limits.codenames === null || limits.codenames.has(codename);
}

/** The codenames of `codenames` that `principal` does not hold, in order, without duplicates. */
export function missingPermissions(principal: Principal, codenames: Iterable<string>): string[] {
  if (principal.isSuperuser) return [];
  return [...new Set(codenames)].filter((c) => !principal.permissions.has(c));
}

/** The result of an access check: which of the asked codenames are granted, which denied. */
export interface AccessDecision {
  granted: string[];
  denied: string[];
}

/**
 * Which of `codenames` `principal` holds, for `POST /access-check` and AuthZEN evaluations. Order
 * follows the question; duplicates are answered once. A superuser is granted every codename, even
 * one no API defines (they hold everything, including what is not modelled yet).
 */
export function check(principal: Principal, codenames: readonly string[]): AccessDecision {
  const granted: string[] = [];
  const denied: string[] = [];
  for (const codename of new Set(codenames)) (holds(principal, codename) ? granted : denied).push(codename);
  return { granted, denied };
}

/**
 * Whether `principal` may act on a user (change their email, password, active flag, delete them,
 * create tokens acting as them, bring them into an organisation it administers): a superuser may;
 * anyone else only on a non-superuser whose every permission it holds itself. Acting on someone who
 * holds more would let the actor become them (set their password, mint their token): escalation.
 * The rule covers the principal's own account too: a narrowed credential (a `read` token) cannot
 * change its own user's password.
 */
export function canActOnUser(principal: Principal, target: { isSuperuser: boolean; permissions: ReadonlySet<string> }): boolean {
  if (principal.isSuperuser) return true;
  if (target.isSuperuser) return false;
  return missingPermissions(principal, target.permissions).length === 0;
}

/** How an API token narrows its user's permissions. */
export interface Narrowing {
  /** `read`: only `view_*` codenames (and, at the HTTP layer, safe methods); `write`: everything */
  scope: 'read' | 'write';
  /** when given and not empty, only these codenames (on top of the scope) */
  codenames?: readonly string[] | undefined;
}

/** Codenames that only read: `view_<model>`. */
export function isViewCodename(codename: string): boolean {
  return codename.startsWith('view_');
}

/**
 * The permissions an API token holds: its user's, narrowed by the token's scope and its explicit
 * codenames. Never adds a codename the user does not hold.
 */
export function narrow(permissions: ReadonlySet<string>, narrowing: Narrowing): Set<string> {
  const only = narrowing.codenames?.length ? new Set(narrowing.codenames) : null;
  const result = new Set<string>();
  for (const codename of permissions) {
    if (narrowing.scope === 'read' && !isViewCodename(codename)) continue;
    if (only && !only.has(codename)) continue;
    result.add(codename);
  }
  return result;
}

/** Whether a narrowing leaves every permission in place (a `write` token with no codename list). */
export function isUnnarrowed(narrowing: Narrowing): boolean {
  return narrowing.scope === 'write' && !narrowing.codenames?.length;
}

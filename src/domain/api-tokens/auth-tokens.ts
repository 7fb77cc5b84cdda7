import { isCodename } from '../permissions/codename.ts';
import { Username } from '../users/user.schema.ts';

/**
 * `AUTH_TOKENS`: API tokens declared by the operator, one entry `username:secret:perm1&perm2` per
 * line. Entries are separated by any whitespace, so both compose styles work:
 *
 *   AUTH_TOKENS: |            AUTH_TOKENS: >
 *     alice:s3cret:view_user     alice:s3cret:view_user
 *     ci:t0ken:add_job&view_job  ci:t0ken:add_job&view_job     (folded into one line)
 *
 * Entries are numbered from 1 in order ("line 2"), blank lines not counted: in a compose file
 * that writes one entry per line, the number is the line within the variable.
 *
 * The secret is everything between the first and the last colon (so it may hold colons itself);
 * the permissions field may be empty (a token that only identifies its user).
 *
 * Error and warning messages name the line and never quote any part of a malformed entry: in a
 * mistyped entry (fields swapped, a colon missing) any field may be the secret.
 */
export interface DeclaredToken {
  /** position of the entry, from 1 */
  line: number;
  username: string;
  secret: string;
  /** codenames, without duplicates, sorted */
  permissions: string[];
}

/** Operator-chosen secrets below this length get a warning (a generated token has 54 characters). */
export const SHORT_SECRET_LENGTH = 32;
/** Longer secrets are refused: no real token needs it, and it bounds the work per lookup. */
export const MAX_SECRET_LENGTH = 512;

/** One or more malformed AUTH_TOKENS entries; `issues` name each by line. Never holds a secret. */
export class AuthTokensError extends Error {
  constructor(readonly issues: string[]) {
    super(`AUTH_TOKENS is not valid:\n${issues.map((i) => `  - ${i}`).join('\n')}`);
    this.name = 'AuthTokensError';
  }
}

// Whitespace separates entries; every other control character (and DEL) is refused in a secret.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROL = /[\u0000-\u001f\u007f]/;

/**
 * Parses an AUTH_TOKENS value (undefined or blank: no declared token).
 * @returns the entries, and warnings (short secrets) naming their line
 * @throws AuthTokensError naming every malformed entry and every secret used twice
 */
export function parseAuthTokens(value: string | undefined): { tokens: DeclaredToken[]; warnings: string[] } {
  const entries = (value ?? '').split(/\s+/).filter(Boolean);
  const tokens: DeclaredToken[] = [];
  const issues: string[] = [];
  const warnings: string[] = [];
  const firstLineOf = new Map<string, number>();

  entries.forEach((entry, index) => {
    const line = index + 1;
    const first = entry.indexOf(':');
    const last = entry.lastIndexOf(':');
    if (first < 0 || last === first) {
      issues.push(`line ${line}: expected username:secret:permissions (permissions separated by &, possibly none)`);
      return;
    }
    const username = entry.slice(0, first);
    const secret = entry.slice(first + 1, last);
    const field = entry.slice(last + 1);
    const problems: string[] = [];
    if (!Username.safeParse(username).success) problems.push('the username is not valid (letters, digits and @ . + - _, up to 150)');
    if (secret === '') problems.push('the secret is empty');
    else if (CONTROL.test(secret)) problems.push('the secret contains a control character');
    else if (secret.length > MAX_SECRET_LENGTH) problems.push(`the secret is longer than ${MAX_SECRET_LENGTH} characters`);
    const permissions = field === '' ? [] : field.split('&');
    const bad = permissions.filter((c) => !isCodename(c)).length;
    if (bad)
      problems.push(
        `${bad} of its permissions ${bad === 1 ? 'is not a codename' : 'are not codenames'} (<action>_<model>, e.g. view_user)`,
      );
    if (problems.length) {
      issues.push(`line ${line}: ${problems.join('; ')}`);
      return;
    }
    const earlier = firstLineOf.get(secret);
    if (earlier !== undefined) {
      issues.push(`line ${line}: uses the same secret as line ${earlier}; each token needs its own`);
      return;
    }
    firstLineOf.set(secret, line);
    if (secret.length < SHORT_SECRET_LENGTH) {
      warnings.push(
        `AUTH_TOKENS line ${line}: the secret has fewer than ${SHORT_SECRET_LENGTH} characters; prefer a generated token (e.g. \`openssl rand -base64 32\`)`,
      );
    }
    tokens.push({ line, username, secret, permissions: [...new Set(permissions)].sort() });
  });

  if (issues.length) throw new AuthTokensError(issues);
  return { tokens, warnings };
}

/**
 * What a client asks for, in words a person understands, for the consent and device-confirm pages.
 * OIDC scopes (OpenID Connect Core 1.0 §5.4, offline_access §11) have fixed meanings; an API's
 * scopes are the operator's own words, shown under the API's name.
 */

export interface ScopeDescription {
  scope: string;
  text: string;
}

const OIDC_SCOPE_TEXT: Readonly<Record<string, string>> = {
  openid: 'Confirm who you are (your account’s unique identifier)',
  profile: 'See your name and username',
  email: 'See your email address and whether it is verified',
  address: 'See your postal address',
  phone: 'See your phone number',
  offline_access: 'Keep this access while you are away, until you revoke it',
};

const OIDC_SCOPE_ORDER = Object.keys(OIDC_SCOPE_TEXT);

/**
 * Sentences for OIDC scopes, in a fixed order (identity first, lasting access last), each once.
 * A scope Gatehouse has no words for is named as it is, never dropped: a person must see all of it.
 */
export function describeOidcScopes(scopes: Iterable<string>): ScopeDescription[] {
  const unique = [...new Set(scopes)].filter((s) => s.length > 0);
  const rank = (s: string) => {
    const i = OIDC_SCOPE_ORDER.indexOf(s);
    // offline_access after any scope we have no words for: "and keep it" reads last
    if (s === 'offline_access') return Number.MAX_SAFE_INTEGER;
    return i === -1 ? OIDC_SCOPE_ORDER.length : i;
  };
  return unique
    .map((scope, position) => ({ scope, position }))
    .sort((a, b) => rank(a.scope) - rank(b.scope) || a.position - b.position)
    .map(({ scope }) => ({ scope, text: OIDC_SCOPE_TEXT[scope] ?? `Use the “${scope}” permission` }));
}

const CLAIM_TEXT: Readonly<Record<string, string>> = {
  name: 'your name',
  given_name: 'your given name',
  family_name: 'your family name',
  nickname: 'your nickname',
  preferred_username: 'your username',
  picture: 'your picture',
  email: 'your email address',
  email_verified: 'whether your email address is verified',
  locale: 'your language',
  zoneinfo: 'your time zone',
  updated_at: 'when your profile last changed',
};

/** Protocol bookkeeping the `claims` parameter may name; nothing about the person. */
const NOT_PERSONAL = new Set(['sub', 'sid', 'auth_time', 'acr', 'amr', 'nonce', 'iss', 'aud', 'azp', 'at_hash', 'c_hash', 's_hash']);

/** Claims asked for individually (the `claims` request parameter), as short noun phrases. */
export function describeClaims(claims: Iterable<string>): string[] {
  return [...new Set(claims)].filter((c) => c.length > 0 && !NOT_PERSONAL.has(c)).map((c) => CLAIM_TEXT[c] ?? `your “${c}”`);
}

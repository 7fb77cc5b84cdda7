/**
 * Who may learn about a token at introspection, and who may revoke it.
 *
 * RFC 7662 §4 leaves it to the server to decide which protected resources may introspect which
 * tokens, and warns that an open endpoint lets anyone holding a token scan it for its facts. RFC 7009
 * §2.1 lets a client revoke only the tokens issued to it. Pure functions over facts the caller already
 * holds: the caller's rights travel with its cached client record, so no decision costs a query.
 *
 * A refusal is never an error: the endpoints answer it exactly as they answer an unknown token
 * (`{"active":false}`, or revocation's empty 200), so a caller cannot tell a foreign token from none.
 */

/**
 * What a presented token is:
 * - `access_token`: an OAuth access token (a JWT, or an opaque one), for the APIs in its `aud`;
 * - `refresh_token`: only ever presented by its own client (RFC 6749 §1.5), never to an API;
 * - `api_token`: an opaque API token (`Authorization: Token`), which has no audience.
 */
export type TokenKind = 'access_token' | 'refresh_token' | 'api_token';

/** The facts of a live token that the policy needs. */
export interface TokenParties {
  kind: TokenKind;
  /** the client the token was issued to (absent for tokens no client holds) */
  clientId?: string | undefined;
  /** the token's `aud`: the APIs (resource identifiers) it is for */
  audiences: readonly string[];
}

/** The authenticated client asking, with the APIs it was granted (ClientRecord fits). */
export interface PolicyCaller {
  clientId: string;
  /** `introspect`: may introspect tokens whose audience is this API, whichever client holds them */
  apis: ReadonlyArray<{ identifier: string; introspect: boolean }>;
}

/** The `aud` claim as a list (RFC 7519 §4.1.3: a string or an array of strings). */
export function audiencesOf(aud: unknown): string[] {
  if (typeof aud === 'string') return [aud];
  return Array.isArray(aud) ? aud.filter((a): a is string => typeof a === 'string') : [];
}

const isOwn = (caller: PolicyCaller, token: TokenParties) => typeof token.clientId === 'string' && token.clientId === caller.clientId;

/**
 * RFC 7662 §4: whether `caller` may see that `token` is active and what it carries.
 *
 * - Its own client may always.
 * - An access token also to a client holding the introspect right for one of the APIs in its
 *   audience: the resource server the token is presented to. One matching audience is enough (the
 *   token is meant for that API too); the answer then names the other audiences as the token does.
 * - A refresh token, or an access token without an audience, only to its own client.
 * - Anything else (a kind this policy does not know) to nobody.
 */
export function mayIntrospect(caller: PolicyCaller, token: TokenParties): boolean {
  switch (token.kind) {
    case 'access_token':
      return isOwn(caller, token) || token.audiences.some((aud) => caller.apis.some((api) => api.introspect && api.identifier === aud));
    case 'refresh_token':
      return isOwn(caller, token);
    case 'api_token':
      // API tokens have no audience: any client holding an introspect right for some API (a
      // resource server) may introspect them, as may the application they are bound to, if any.
      return isOwn(caller, token) || caller.apis.some((api) => api.introspect);
    default:
      return false;
  }
}

/** RFC 7009 §2.1: only the client a token was issued to may revoke it. */
export function mayRevoke(caller: PolicyCaller, token: TokenParties): boolean {
  switch (token.kind) {
    case 'access_token':
    case 'refresh_token':
    case 'api_token':
      return isOwn(caller, token);
    default:
      return false;
  }
}

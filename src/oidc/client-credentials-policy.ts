/**
 * Which API and which scopes a client credentials request (RFC 6749 §4.4) gets: the one statement
 * of these rules, used by oidc-provider's resource-indicator hooks (resources.ts, which turns a
 * refusal into the library's error) and by the token fast path (token-fast-path.ts, which hands a
 * refused request to oidc-provider so that every error answer stays the library's).
 *
 * Pure functions over what the caller already holds: the request's parameters, the APIs the client
 * was granted (its cached record) and the registered API the request names (resolved by the caller).
 *
 * The parameters are read as oidc-provider reads them: an empty value is no value
 * (lib/helpers/params.js keeps `params[name] || undefined`), and `audience` is Gatehouse's
 * Auth0-style alias of RFC 8707's `resource`.
 */

/** The request's parameters that choose the API and the scopes, each sent at most once. */
export interface ClientCredentialsParams {
  resource?: string | undefined;
  audience?: string | undefined;
  scope?: string | undefined;
}

/** An API the client was granted, with the scopes it may request there (ClientRecord['apis'] fits). */
export interface ApiGrantView {
  identifier: string;
  scopes: readonly string[];
}

/** Why a request gets no token: the OAuth error (RFC 8707 §2, RFC 6749 §5.2) and its description. */
export interface Refusal {
  refusal: 'invalid_target' | 'invalid_scope';
  description: string;
  /** for invalid_scope: the refused scopes, space-separated (oidc-provider's `scope` detail) */
  scope?: string;
}

export interface ClientCredentialsDecision<A> {
  /** the registered API the token is for (its `aud`) */
  api: A;
  /** the token's scopes, in request order, each once; the granted ones when none was requested */
  scopes: string[];
}

export const isRefusal = (value: object): value is Refusal => 'refusal' in value;

const present = (value: string | undefined): string | undefined => (value === '' ? undefined : value);

/** RFC 6749 §3.3: scope = scope-token *( SP scope-token ), scope-token = 1*( %x21 / %x23-5B / %x5D-7E ). */
const SCOPE_SYNTAX = /^[\x21\x23-\x5B\x5D-\x7E]+(?: [\x21\x23-\x5B\x5D-\x7E]+)*$/;

const refuse = (refusal: Refusal['refusal'], description: string, scope?: string): Refusal =>
  scope === undefined ? { refusal, description } : { refusal, description, scope };

/**
 * The API a request is for: the one `resource` or `audience` names (both may be sent when they
 * agree), else, as RFC 8707 §2 lets the server choose, the client's only granted API.
 */
export function chooseApi(params: ClientCredentialsParams, grants: readonly ApiGrantView[]): { identifier: string } | Refusal {
  const resource = present(params.resource);
  const audience = present(params.audience);
  if (resource !== undefined && audience !== undefined && resource !== audience) {
    return refuse('invalid_target', 'audience and resource name different APIs');
  }
  const named = resource ?? audience;
  if (named !== undefined) return { identifier: named };
  const [only] = grants;
  if (grants.length === 1 && only) return { identifier: only.identifier };
  return refuse(
    'invalid_target',
    grants.length === 0
      ? 'this client has not been granted any API'
      : 'this client may request tokens for several APIs: name one with the audience or resource parameter',
  );
}

/**
 * Whether the client may have a token for `identifier` (the API chosen by `chooseApi`, or the
 * resource oidc-provider resolved): `audience`, when sent, must name the same API; the API must be
 * registered (`api`: the caller's lookup, null when none is); and the client must be granted it.
 */
export function checkTarget<A>(
  params: ClientCredentialsParams,
  identifier: string,
  api: A | null,
  grants: readonly ApiGrantView[],
): { api: A; grant: ApiGrantView } | Refusal {
  const audience = present(params.audience);
  if (audience !== undefined && audience !== identifier) return refuse('invalid_target', 'audience and resource name different APIs');
  if (!api) return refuse('invalid_target', 'no API is registered with this identifier');
  const grant = grants.find((g) => g.identifier === identifier);
  if (!grant) return refuse('invalid_target', 'this client is not allowed to request tokens for this API');
  return { api, grant };
}

/**
 * The token's scopes at an API the client was granted: those requested, each once in request
 * order, when every one is granted (RFC 6749 §5.2 invalid_scope otherwise, rather than silently
 * dropping the others); every granted scope when none is requested (RFC 6749 §3.3: the server's
 * pre-defined default).
 */
export function requestedScopes(scope: string | undefined, grant: ApiGrantView): { scopes: string[] } | Refusal {
  const requested = present(scope);
  if (requested === undefined) return { scopes: [...grant.scopes] };
  if (!SCOPE_SYNTAX.test(requested)) return refuse('invalid_scope', 'scope contains invalid characters');
  const tokens = requested.split(' ');
  const refused = tokens.filter((s) => !grant.scopes.includes(s));
  if (refused.length) return refuse('invalid_scope', 'requested scope is not allowed', refused.join(' '));
  return { scopes: [...new Set(tokens)] };
}

/**
 * The whole decision for a client credentials request once its API is chosen and looked up:
 * `checkTarget`, then `requestedScopes`.
 */
export function decideClientCredentials<A>(
  params: ClientCredentialsParams,
  identifier: string,
  api: A | null,
  grants: readonly ApiGrantView[],
): ClientCredentialsDecision<A> | Refusal {
  const target = checkTarget(params, identifier, api, grants);
  if (isRefusal(target)) return target;
  const scopes = requestedScopes(params.scope, target.grant);
  if (isRefusal(scopes)) return scopes;
  return { api: target.api, scopes: scopes.scopes };
}

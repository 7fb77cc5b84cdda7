import type { Context } from 'koa';
import type { ApiResourceService } from '../domain/api-resources/api-resource.service.ts';
import type { ClientRecord } from '../domain/applications/application.schema.ts';
import type { ApplicationService } from '../domain/applications/application.service.ts';
import type { Clock } from '../lib/clock.ts';
import { newTokenId } from '../lib/ids.ts';
import { authenticateClient, type ClientAuthFailure, isClientAuthFailure, type PresentedClient } from './client-auth.ts';
import { chooseApi, decideClientCredentials, isRefusal } from './client-credentials-policy.ts';
import { type ProviderForm, singleValued } from './form-body.ts';
import type { JwtSigner } from './jwt-signer.ts';
import type { TokenClaims } from './token-claims.ts';
import { setTokenEndpointCors } from './token-endpoint-checks.ts';

/**
 * POST /oauth/token — the fast path for the request machines send most: a client credentials
 * grant (RFC 6749 §4.4) for an API with JWT access tokens (RFC 9068).
 *
 * Mirrors oidc-provider 9.13.3 (package.json pins it): its token endpoint (lib/actions/token.js,
 * lib/actions/grants/client_credentials.js, lib/models/formats/jwt.js) and our hooks in it
 * (resources.ts, provider.ts). On an upgrade of the library, run the parity suite,
 * test/http/token-fast-path.test.ts, which compares this path's answers with the library's field
 * by field for every kind of request this path takes, and checks that it takes each of them.
 *
 * oidc-provider's token endpoint runs a general pipeline (CORS policy, parameter and body parsers,
 * client authentication for every method, grant dispatch, token models) that costs more than the
 * signature itself. For the plainest, most frequent request, this issues the very token
 * oidc-provider would — same header, claims and claim order, same response body and headers, the
 * same client authentication (client-auth.ts) and the same API, scope and lifetime rules
 * (client-credentials-policy.ts, which the library's hooks apply too) — from in-memory state.
 *
 * Anything else goes on to oidc-provider untouched (token-endpoint.ts replays the body): other
 * grants, any error (unknown client, wrong secret, unknown audience, a scope not granted…, so every
 * error response stays the library's), opaque-token APIs, DPoP, client assertions, browser
 * origins, repeated parameters, bodies without a Content-Length. `TOKEN_FAST_PATH=false` turns it
 * off entirely.
 *
 * One exception: a request whose secret is wrong (or whose client is unknown) from a client id or IP
 * the client-authentication throttle has blocked gets the throttle's 429 here, as it would after
 * oidc-provider's 401, without running oidc-provider's pipeline for each request of a flood.
 */
export interface TokenFastPathDeps {
  issuer: string;
  applications: ApplicationService;
  apis: ApiResourceService;
  signer: JwtSigner;
  clock: Clock;
  /** Gatehouse's own claims, as oidc-provider's extraTokenClaims adds them (token-claims.ts) */
  claims: TokenClaims;
  /** answers failures from blocked sources (http/client-auth-throttle.ts) */
  throttle?: { answerIfBlocked(ctx: Context, clientId: string | undefined): boolean } | null;
}

export interface TokenFastPath {
  /**
   * Answers the token request whose form (as oidc-provider parses it, form-body.ts) and
   * credentials are given: true when it did (a token, or the throttle's 429), false when the
   * request is oidc-provider's.
   */
  answer(ctx: Context, read: ProviderForm, presented: PresentedClient | ClientAuthFailure): Promise<boolean>;
}

const CLIENT_CREDENTIALS = 'client_credentials';
const BLOCKED = Symbol('answered by the client-authentication throttle');

export function createTokenFastPath(deps: TokenFastPathDeps): TokenFastPath {
  const { issuer, applications, apis, signer, clock, claims, throttle } = deps;

  /**
   * The token response for `form`, null when oidc-provider must answer instead, or BLOCKED when the
   * throttle answered a failed client authentication.
   */
  async function issue(ctx: Context, form: Readonly<Record<string, string>>, presented: PresentedClient | ClientAuthFailure) {
    if (form.grant_type !== CLIENT_CREDENTIALS || form.client_assertion !== undefined || form.client_assertion_type !== undefined) {
      return null;
    }
    // Secret-based client authentication only (client-auth.ts); oidc-provider judges anything else.
    if (isClientAuthFailure(presented) || presented.method === 'none') return null;
    const authenticated = await authenticateClient(applications, presented);
    if (isClientAuthFailure(authenticated)) {
      // oidc-provider would answer this request 401 invalid_client (same credentials, same check).
      return throttle?.answerIfBlocked(ctx, presented.clientId) ? BLOCKED : null;
    }
    const { client } = authenticated;
    if (!isMachineClient(client)) return null;

    // The same rules as oidc-provider's hooks (client-credentials-policy.ts); a refusal is the
    // library's to answer.
    const chosen = chooseApi(form, client.apis);
    if (isRefusal(chosen)) return null;
    const decision = decideClientCredentials(form, chosen.identifier, await apis.resolve(chosen.identifier), client.apis);
    if (isRefusal(decision)) return null;
    const { api } = decision;
    if (api.accessTokenFormat !== 'jwt' || !signer.activeKid(api.signingAlg)) return null;
    const scope = decision.scopes.join(' ') || undefined;

    // Claims in oidc-provider's order for a client credentials JWT (RFC 9068 §2.2): its
    // extraTokenClaims first, then its own.
    const extra = await claims.forClientCredentials(client.clientId, api.identifier);
    const iat = clock.epoch();
    const payload = {
      ...extra,
      jti: newTokenId(),
      sub: client.clientId,
      iat,
      exp: iat + api.accessTokenTtlSeconds,
      scope,
      client_id: client.clientId,
      iss: issuer,
      aud: api.identifier,
    };
    const accessToken = signer.sign(api.signingAlg, 'at+jwt', payload);
    return { access_token: accessToken, expires_in: api.accessTokenTtlSeconds, scope, token_type: 'Bearer' };
  }

  return {
    async answer(ctx, read, presented) {
      if (!read.fromBody || ctx.request.length === undefined || ctx.get('origin') || ctx.get('dpop')) return false;
      const form = singleValued(read.params);
      const response = form ? await issue(ctx, form, presented) : null;
      if (response === BLOCKED) return true;
      if (!response) return false;
      // The headers oidc-provider's token endpoint sends with a success.
      setTokenEndpointCors(ctx);
      ctx.set('Cache-Control', 'no-store');
      ctx.status = 200;
      ctx.type = 'application/json; charset=utf-8';
      ctx.body = JSON.stringify(response);
      return true;
    },
  };
}

function isMachineClient(client: ClientRecord): boolean {
  return client.isActive && client.clientType === 'confidential' && client.grantTypes.includes(CLIENT_CREDENTIALS);
}

import type { Context } from 'koa';
import { errors } from 'oidc-provider';
import type { ApplicationService } from '../domain/applications/application.service.ts';
import { authenticateClient, type ClientAuthFailure, isClientAuthFailure, type PresentedClient } from './client-auth.ts';
import type { ProviderParams } from './form-body.ts';

/**
 * The checks Gatehouse makes at the token endpoint before oidc-provider sees the request, so that
 * two answers are RFC 6749 §5.2's rather than the library's:
 *
 * - no client authentication at all, an Authorization scheme other than Basic, an empty id or
 *   secret in the Basic header: 401 `invalid_client` with `WWW-Authenticate` ("no client
 *   authentication included, or unsupported authentication method"); oidc-provider 9.13 answers
 *   `invalid_request`;
 * - a client that authenticates but is not registered for the grant type it asks for:
 *   `unauthorized_client`; oidc-provider answers `invalid_request`.
 *
 * Each check runs exactly where oidc-provider's token endpoint would reach the same decision
 * (lib/actions/token.js, lib/shared/client_auth.js, lib/shared/cors.js), after the same earlier
 * checks, so every other request, and every request an earlier check of the library refuses, is
 * left to it untouched (null). The credentials are read by client-auth.ts, which reads them as the
 * library does.
 */

export interface TokenRequest {
  /** the Authorization header, undefined when absent */
  authorization: string | undefined;
  /** the Origin header, undefined when absent or empty */
  origin: string | undefined;
  /** OAuth-Client-Attestation and OAuth-Client-Attestation-PoP headers sent (draft-ietf-oauth-attestation-based-client-auth) */
  attestation: boolean;
  attestationPop: boolean;
  /** the form's parameters as oidc-provider parses them (form-body.ts) */
  params: ProviderParams;
  /** the credentials the request presents (client-auth.ts readPresentedClient) */
  presented: PresentedClient | ClientAuthFailure;
}

export interface TokenCheckDeps {
  applications: Pick<ApplicationService, 'findClient' | 'verifySecret'>;
  /** the grant types the token endpoint serves (surface.ts): oidc-provider's `grant_types_supported` */
  servedGrantTypes: readonly string[];
}

/** The request as the checks read it. */
export function tokenRequestOf(ctx: Context, params: ProviderParams, presented: PresentedClient | ClientAuthFailure): TokenRequest {
  return {
    authorization: ctx.headers.authorization,
    origin: ctx.get('origin') || undefined,
    attestation: ctx.headers['oauth-client-attestation'] !== undefined,
    attestationPop: ctx.headers['oauth-client-attestation-pop'] !== undefined,
    params,
    presented,
  };
}

/** The answer Gatehouse gives instead of oidc-provider, or null when the request is the library's. */
export async function checkTokenRequest(request: TokenRequest, deps: TokenCheckDeps): Promise<Error | null> {
  const { params, presented } = request;
  // Client attestation takes another path through the library's client authentication, and with
  // any other credentials it is "more than one mechanism": the library answers both.
  if (request.attestation) return null;
  if (request.attestationPop && (request.authorization || params.client_secret)) return null;

  if (isClientAuthFailure(presented)) {
    // RFC 6749 §5.2 invalid_client: none included, or an unsupported method. A malformed request
    // (invalid_request) is answered by the library in the same words.
    return presented.failure === 'invalid_client' ? new errors.InvalidClientAuth(presented.description) : null;
  }
  // The library authenticates public clients by their id alone (method none).
  const authenticated = await authenticateClient(deps.applications, presented, { publicClients: true });
  if (isClientAuthFailure(authenticated)) return null;
  const { client } = authenticated;
  // The library checks the client's browser origins as soon as it knows the client (cors.ts).
  if (request.origin !== undefined && !client.allowedOrigins.includes(request.origin)) return null;

  // After client authentication: a repeated, missing or unsupported grant type is the library's.
  const grantType = params.grant_type;
  if (typeof grantType !== 'string' || !deps.servedGrantTypes.includes(grantType)) return null;
  // The library knows the client's served grant types only (client-metadata.ts).
  if (!client.grantTypes.includes(grantType as never)) {
    return new errors.UnauthorizedClient('this client is not allowed to use this grant type');
  }
  return null;
}

/**
 * The CORS headers oidc-provider's token endpoint puts on every answer (lib/shared/cors.js, as
 * lib/helpers/initialize_app.js configures it for the token route), for the answers Gatehouse
 * gives in its stead: the fast path's tokens and the refusals above.
 */
export function setTokenEndpointCors(ctx: Context): void {
  ctx.vary('Origin');
  ctx.set('Access-Control-Allow-Origin', ctx.get('origin') || '*');
  ctx.set('Access-Control-Expose-Headers', 'WWW-Authenticate');
}

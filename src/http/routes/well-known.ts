import { createHash } from 'node:crypto';
import type Router from '@koa/router';
import type { Context } from 'koa';
import type { KeyRing } from '../../domain/signing-keys/signing-key.schema.ts';
import { renderDiscovery } from '../../oidc/internals.ts';
import type { ProviderSlot } from '../../oidc/provider-slot.ts';
import { DISCOVERY_PATH, OAUTH_DISCOVERY_PATH, OIDC_ROUTES } from '../../oidc/routes.ts';
import { isServedRoute, type ProtocolRoute } from '../../oidc/surface.ts';

/**
 * GET /.well-known/openid-configuration        OpenID Connect Discovery 1.0 §4
 * GET /.well-known/oauth-authorization-server  RFC 8414 §3 (same document)
 * GET /.well-known/jwks.json                   RFC 7517 §5
 *
 * Both documents are rendered once per key ring / provider instance and served from memory with
 * an ETag and Cache-Control, so they cost no work per request and caches can revalidate cheaply.
 */
interface Rendered {
  source: unknown;
  body: string;
  etag: string;
}

function render(source: unknown, value: unknown): Rendered {
  const body = JSON.stringify(value);
  return { source, body, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"` };
}

function serve(ctx: Context, doc: Rendered, type: string, maxAgeSeconds: number): void {
  ctx.set('Cache-Control', `public, max-age=${maxAgeSeconds}`);
  ctx.set('ETag', doc.etag);
  ctx.set('Access-Control-Allow-Origin', '*');
  // Public documents: any site may load them, also without CORS (http/middleware/security-headers.ts).
  ctx.set('Cross-Origin-Resource-Policy', 'cross-origin');
  ctx.type = type;
  if (ctx.get('if-none-match') === doc.etag) {
    ctx.status = 304;
    return;
  }
  ctx.status = 200;
  ctx.body = doc.body;
}

export const JWKS_MAX_AGE_SECONDS = 300;
const SECRET_AUTH_METHODS = ['client_secret_basic', 'client_secret_post'];
export const DISCOVERY_MAX_AGE_SECONDS = 3600;

/** The metadata member naming each endpoint (RFC 8414 §2, OIDC Discovery 1.0 §3, RFC 9126 §5, RFC 8628 §4). */
const ENDPOINT_MEMBERS: Partial<Record<ProtocolRoute, string>> = {
  authorization: 'authorization_endpoint',
  userinfo: 'userinfo_endpoint',
  end_session: 'end_session_endpoint',
  pushed_authorization_request: 'pushed_authorization_request_endpoint',
  device_authorization: 'device_authorization_endpoint',
  introspection: 'introspection_endpoint',
  revocation: 'revocation_endpoint',
};

/** Members that describe the authorization endpoint's requests and responses (RFC 8414 §2, RFC 9207 §3, OIDC Discovery §3). */
const AUTHORIZATION_REQUEST_MEMBERS = [
  'response_modes_supported',
  'code_challenge_methods_supported',
  'authorization_response_iss_parameter_supported',
  'request_parameter_supported',
  'request_uri_parameter_supported',
  'claims_parameter_supported',
  'require_pushed_authorization_requests',
];

/**
 * oidc-provider's metadata without what is not served (oidc/surface.ts): it always names its
 * authorization endpoint. RFC 8414 §2 requires `authorization_endpoint` only when a grant type uses
 * it; OpenID Connect Discovery §3 requires it unconditionally, so until sign-in is served the
 * OpenID document, like the OAuth one, describes an authorization server for machine clients.
 */
function servedMetadata(metadata: Record<string, unknown>): Record<string, unknown> {
  const served = { ...metadata };
  for (const [route, member] of Object.entries(ENDPOINT_MEMBERS)) {
    if (!isServedRoute(route as ProtocolRoute)) delete served[member];
  }
  if (!isServedRoute('authorization')) {
    for (const member of AUTHORIZATION_REQUEST_MEMBERS) delete served[member];
    // RFC 8414 §2: required; with no authorization endpoint, no response type is supported.
    served.response_types_supported = [];
  }
  return served;
}

export function registerWellKnownRoutes(router: Router, deps: { keyRing: () => KeyRing; provider: ProviderSlot }): void {
  let jwks: Rendered | undefined;
  let discovery: Rendered | undefined;

  router.get(OIDC_ROUTES.jwks, (ctx) => {
    const ring = deps.keyRing();
    if (jwks?.source !== ring) jwks = render(ring, { keys: ring.publicJwks });
    serve(ctx, jwks, 'application/jwk-set+json; charset=utf-8', JWKS_MAX_AGE_SECONDS);
  });

  const serveDiscovery = async (ctx: Context) => {
    const provider = deps.provider.current;
    if (discovery?.source !== provider) {
      // Let oidc-provider render its metadata once for this instance, then keep the result.
      const metadata = await renderDiscovery(deps.provider.middleware, ctx);
      if (!metadata) return;
      discovery = render(provider, {
        ...servedMetadata(metadata),
        // RFC 8414 §2: Gatehouse serves these two endpoints itself, for confidential clients only.
        introspection_endpoint_auth_methods_supported: SECRET_AUTH_METHODS,
        revocation_endpoint_auth_methods_supported: SECRET_AUTH_METHODS,
      });
    }
    serve(ctx, discovery, 'application/json; charset=utf-8', DISCOVERY_MAX_AGE_SECONDS);
  };
  router.get(DISCOVERY_PATH, serveDiscovery);
  router.get(OAUTH_DISCOVERY_PATH, serveDiscovery);
}

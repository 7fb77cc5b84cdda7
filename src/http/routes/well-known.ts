import { createHash } from 'node:crypto';
import type Router from '@koa/router';
import type { Context } from 'koa';
import type { KeyRing } from '../../domain/signing-keys/signing-key.schema.ts';
import { DISCOVERY_PATH, OIDC_ROUTES } from '../../oidc/routes.ts';
import type { ProviderSlot } from '../provider-slot.ts';

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
      const path = ctx.path;
      ctx.path = DISCOVERY_PATH;
      await deps.provider.middleware(ctx, async () => {});
      ctx.path = path;
      if (ctx.status !== 200 || typeof ctx.body !== 'object') return;
      discovery = render(provider, {
        ...(ctx.body as Record<string, unknown>),
        // RFC 8414 §2: Gatehouse serves these two endpoints itself, for confidential clients only.
        introspection_endpoint_auth_methods_supported: SECRET_AUTH_METHODS,
        revocation_endpoint_auth_methods_supported: SECRET_AUTH_METHODS,
      });
    }
    serve(ctx, discovery, 'application/json; charset=utf-8', DISCOVERY_MAX_AGE_SECONDS);
  };
  router.get(DISCOVERY_PATH, serveDiscovery);
  router.get('/.well-known/oauth-authorization-server', serveDiscovery);
}

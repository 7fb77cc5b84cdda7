import type { Context, Next } from 'koa';
import { OIDC_ROUTES } from './routes.ts';

/**
 * Brings oidc-provider's token-endpoint errors in line with RFC 6749 §5.2 where they differ:
 * - a client using a grant type it is not registered for gets `unauthorized_client` (the library
 *   answers `invalid_request`);
 * - a request with no client authentication, with an empty client id or secret in the Basic
 *   header, or with another Authorization scheme (`Bearer …`) gets 401 `invalid_client`: §5.2 lists
 *   "no client authentication included" and "unsupported authentication method" under
 *   invalid_client (the library answers `invalid_request`). A Basic header that cannot be parsed
 *   at all stays `invalid_request` ("otherwise malformed");
 * - every 401 carries `WWW-Authenticate` (RFC 7235 §3.1), also when the client authenticated in
 *   the body with client_secret_post (the library adds it only for the Basic header).
 */
const GRANT_NOT_ALLOWED = 'requested grant type is not allowed for this client';
const NO_CLIENT_AUTH = new Set([
  'no client authentication mechanism provided',
  'client_secret must be provided in the Authorization header',
]);
const BAD_AUTH_HEADER = 'invalid authorization header value format';
/** Endpoints where oidc-provider authenticates clients (userinfo parses Authorization differently). */
const CLIENT_AUTH_PATHS: ReadonlySet<string> = new Set([
  OIDC_ROUTES.token,
  OIDC_ROUTES.device_authorization,
  OIDC_ROUTES.pushed_authorization_request,
]);

function isClientAuthFailure(ctx: Context, description: unknown): boolean {
  if (!CLIENT_AUTH_PATHS.has(ctx.path)) return false;
  if (typeof description === 'string' && NO_CLIENT_AUTH.has(description)) return true;
  const scheme = ctx.get('authorization').trim().split(' ')[0] ?? '';
  return description === BAD_AUTH_HEADER && scheme.toLowerCase() !== 'basic';
}

export function normalizeProtocolErrors(issuer: string) {
  return async function normalizeProtocolErrorsMiddleware(ctx: Context, next: Next): Promise<void> {
    await next();
    const body = ctx.body as { error?: unknown; error_description?: unknown } | undefined;
    if (!body || typeof body !== 'object' || typeof body.error !== 'string') return;
    if (body.error === 'invalid_request' && body.error_description === GRANT_NOT_ALLOWED) {
      ctx.status = 400;
      ctx.body = { error: 'unauthorized_client', error_description: 'this client is not allowed to use this grant type' };
    }
    if (body.error === 'invalid_request' && isClientAuthFailure(ctx, body.error_description)) {
      ctx.status = 401;
      ctx.body = { error: 'invalid_client', error_description: 'client authentication failed' };
    }
    // RFC 6749 §5.1/§5.2: no cache may keep an OAuth answer, errors included.
    if (ctx.status >= 400 && !ctx.response.get('Cache-Control')) ctx.set('Cache-Control', 'no-store');
    if (ctx.status === 401 && !ctx.response.get('WWW-Authenticate')) {
      const sent = ctx.body as { error?: unknown; error_description?: unknown };
      ctx.set('WWW-Authenticate', basicChallenge(issuer, sent.error, sent.error_description));
    }
  };
}

/** `Basic realm="…", error="…", error_description="…"` with quoted-string escaping. */
export function basicChallenge(issuer: string, error: unknown, description: unknown): string {
  const quote = (v: unknown) => `"${String(v).replace(/["\\]/g, '\\$&')}"`;
  const params = [`realm=${quote(issuer)}`, `error=${quote(error)}`];
  if (typeof description === 'string') params.push(`error_description=${quote(description)}`);
  return `Basic ${params.join(', ')}`;
}

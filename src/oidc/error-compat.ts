import type { Context, Next } from 'koa';
import { isDatabaseUnavailable } from '../db/errors.ts';
import { renderProtocolErrorPage } from './error-page.ts';
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
 *   the body with client_secret_post (the library adds it only for the Basic header);
 * - a `server_error` the database's absence caused is a 503 `temporarily_unavailable` with
 *   Retry-After (see noteProviderServerError).
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

export interface ProtocolErrorOptions {
  /** told of every request the database's absence failed (it logs once per burst) */
  onUnavailable?: (err: unknown) => void;
}

export function normalizeProtocolErrors(issuer: string, options: ProtocolErrorOptions = {}) {
  return async function normalizeProtocolErrorsMiddleware(ctx: Context, next: Next): Promise<void> {
    await next();
    const outage = providerOutages.get(ctx);
    if (outage !== undefined) {
      options.onUnavailable?.(outage);
      // TODO(sign-in): the authorization endpoint redirects its server_error to the client
      // (lib/shared/authorization_error_handler.js); that redirect is left as it is for now.
      if (ctx.status === 500) {
        await sendTemporarilyUnavailable(ctx);
        return;
      }
    }
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

/**
 * Requests whose oidc-provider answer is a `server_error` caused by the database being away, with
 * that error. oidc-provider catches errors itself and renders `server_error` 500
 * (lib/shared/error_handler.js); the `server_error` event it emits right after, with the request's
 * context and the original error, is the only place the cause is visible (events.ts notes it here).
 */
const providerOutages = new WeakMap<object, unknown>();

/** Called with oidc-provider's `server_error` event; true when the database was away (then answered 503). */
export function noteProviderServerError(ctx: object, err: unknown): boolean {
  if (!isDatabaseUnavailable(err)) return false;
  providerOutages.set(ctx, err);
  return true;
}

/** Seconds a client should wait before retrying while the database is away (RFC 9110 §10.2.3). */
export const RETRY_AFTER_SECONDS = 5;
const UNAVAILABLE = {
  error: 'temporarily_unavailable',
  error_description: 'the server is temporarily unable to handle the request; retry later',
} as const;

/**
 * 503 `temporarily_unavailable` with Retry-After: the database is away, and the same request may
 * succeed in a few seconds. RFC 6749 §4.1.2.1 defines the code for the authorization endpoint;
 * Gatehouse uses it on every OAuth endpoint, where §5.2 has no code for a temporary failure. Browser
 * endpoints that rendered the HTML error page get it again with this error.
 */
export async function sendTemporarilyUnavailable(ctx: Context): Promise<void> {
  ctx.status = 503;
  ctx.set('Retry-After', String(RETRY_AFTER_SECONDS));
  ctx.set('Cache-Control', 'no-store');
  if (ctx.response.is('html')) {
    await renderProtocolErrorPage(ctx, UNAVAILABLE);
    return;
  }
  ctx.body = { ...UNAVAILABLE };
}

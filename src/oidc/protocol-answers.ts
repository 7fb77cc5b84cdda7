import type { Context, Next } from 'koa';
import { isDatabaseUnavailable } from '../db/errors.ts';
import type { ProtocolPages } from './protocol-pages.ts';

/**
 * The finishing touches on every answer oidc-provider gives, in one place (it runs between
 * Gatehouse's routes and the library, http/app.ts):
 * - `Cache-Control: no-store` on every error (RFC 6749 §5.1-5.2: no cache may keep an OAuth answer);
 * - `WWW-Authenticate` on every 401 (RFC 7235 §3.1), built here for every endpoint, also when the
 *   client authenticated in the body with client_secret_post (the library adds its own only for
 *   the Basic header, in the same form, which this replaces);
 * - a `server_error` the database's absence caused becomes a 503 `temporarily_unavailable` with
 *   Retry-After (see noteProviderServerError).
 *
 * Nothing here reads the library's words: the answers RFC 6749 §5.2 words differently from
 * oidc-provider (invalid_client, unauthorized_client) are given before the library sees the
 * request (token-endpoint-checks.ts).
 */

export interface ProtocolErrorOptions {
  /** told of every request the database's absence failed (it logs once per burst) */
  onUnavailable?: (err: unknown) => void;
  /** renders the error page, for browser endpoints whose answer was a page */
  pages?: Pick<ProtocolPages, 'error'>;
}

export function finishProtocolAnswers(issuer: string, options: ProtocolErrorOptions = {}) {
  return async function finishProtocolAnswersMiddleware(ctx: Context, next: Next): Promise<void> {
    await next();
    const outage = providerOutages.get(ctx);
    if (outage !== undefined) {
      options.onUnavailable?.(outage);
      // The authorization endpoint redirects its server_error to the client when it can
      // (lib/shared/authorization_error_handler.js, RFC 6749 §4.1.2.1): that redirect stands, the
      // client retries. A 500 it rendered as a page (no usable redirect_uri) becomes the 503.
      if (ctx.status === 500) {
        await sendTemporarilyUnavailable(ctx, options.pages);
        return;
      }
    }
    // RFC 6749 §5.1/§5.2: no cache may keep an OAuth answer, errors included.
    if (ctx.status >= 400 && !ctx.response.get('Cache-Control')) ctx.set('Cache-Control', 'no-store');
    if (ctx.status === 401) {
      const sent = (ctx.body ?? {}) as { error?: unknown; error_description?: unknown };
      ctx.set('WWW-Authenticate', basicChallenge(issuer, sent.error, sent.error_description));
    }
  };
}

/**
 * The challenge of a 401 (RFC 7235 §4.1, RFC 6749 §5.2): `Basic realm="…", error="…",
 * error_description="…"` with quoted-string escaping. The one place it is built: here for
 * oidc-provider's answers, and in http/middleware/error-boundary.ts for Gatehouse's own.
 */
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
export async function sendTemporarilyUnavailable(ctx: Context, pages?: Pick<ProtocolPages, 'error'>): Promise<void> {
  ctx.status = 503;
  ctx.set('Retry-After', String(RETRY_AFTER_SECONDS));
  ctx.set('Cache-Control', 'no-store');
  if (pages && ctx.response.is('html')) {
    await pages.error(ctx, UNAVAILABLE);
    ctx.status = 503;
    return;
  }
  ctx.body = { ...UNAVAILABLE };
}

import type { Context, Next } from 'koa';

/**
 * Brings oidc-provider's token-endpoint errors in line with RFC 6749 §5.2 where they differ:
 * - a client using a grant type it is not registered for gets `unauthorized_client` (the library
 *   answers `invalid_request`);
 * - every 401 carries `WWW-Authenticate` (RFC 7235 §3.1), also when the client authenticated in
 *   the body with client_secret_post (the library adds it only for the Basic header).
 */
const GRANT_NOT_ALLOWED = 'requested grant type is not allowed for this client';

export function normalizeProtocolErrors(issuer: string) {
  return async function normalizeProtocolErrorsMiddleware(ctx: Context, next: Next): Promise<void> {
    await next();
    const body = ctx.body as { error?: unknown; error_description?: unknown } | undefined;
    if (!body || typeof body !== 'object' || typeof body.error !== 'string') return;
    if (body.error === 'invalid_request' && body.error_description === GRANT_NOT_ALLOWED) {
      ctx.status = 400;
      ctx.body = { error: 'unauthorized_client', error_description: 'this client is not allowed to use this grant type' };
    }
    if (ctx.status === 401 && !ctx.response.get('WWW-Authenticate')) {
      ctx.set('WWW-Authenticate', basicChallenge(issuer, body.error, body.error_description));
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

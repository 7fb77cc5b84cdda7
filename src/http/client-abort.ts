import type { Context } from 'koa';

/**
 * nginx's "client closed request": the status the access log gives a request whose client hung up
 * before the answer could be sent. Nothing is sent with it; there is nobody to send it to.
 */
export const CLIENT_CLOSED_REQUEST = 499;

/** Whether the client's connection is gone while no answer went out yet. */
export function isClientGone(ctx: Context): boolean {
  return !ctx.res.headersSent && ctx.req.socket?.destroyed === true;
}

/**
 * Whether `err` is the request body's stream failing because the client went away: Node's
 * `aborted` (ECONNRESET) on the request, raw-body's `request.aborted`, or either as the `cause` of
 * a wrapping error (oidc-provider's and the token fast path's "failed to read the request body").
 * Only with the client's connection gone: a database driver's ECONNRESET is a server fault.
 */
export function isClientAbort(ctx: Context, err: unknown): boolean {
  if (!isClientGone(ctx)) return false;
  for (
    let e = err as { code?: unknown; type?: unknown; message?: unknown; cause?: unknown } | undefined, depth = 0;
    e && depth < 5;
    depth++
  ) {
    if (e.code === 'ECONNRESET' || e.code === 'ECONNABORTED' || e.type === 'request.aborted' || e.message === 'aborted') return true;
    e = e.cause as typeof e;
  }
  return false;
}

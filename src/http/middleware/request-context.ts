import { randomUUID } from 'node:crypto';
import type { Context, Next } from 'koa';
import type { Logger } from 'pino';
import { createAccessLogger } from '../../lib/logger.ts';
import { CLIENT_CLOSED_REQUEST, isClientGone } from '../client-abort.ts';

declare module 'koa' {
  interface DefaultState {
    reqId: string;
    log: Logger;
  }
}

const INCOMING_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Gives each request an id (a caller's well-formed `X-Request-Id`, or a new UUID), echoes it back,
 * attaches `ctx.state.log` (a child logger carrying it), and writes one access-log line.
 * The path is logged without its query string: queries can carry codes and state.
 *
 * Hot path: the child logger is made only if something logs through it, and the access line goes
 * through a non-redacting logger (its fields are fixed and never secret; see createAccessLogger).
 */
export function requestContext(log: Logger) {
  const accessLog = createAccessLogger(log);
  return async function requestContextMiddleware(ctx: Context, next: Next): Promise<void> {
    const incoming = ctx.get('x-request-id');
    const reqId = INCOMING_ID.test(incoming) ? incoming : randomUUID();
    ctx.state.reqId = reqId;
    let child: Logger | undefined;
    Object.defineProperty(ctx.state, 'log', {
      get: () => {
        child ??= log.child({ reqId });
        return child;
      },
      configurable: true,
      enumerable: true,
    });
    ctx.set('X-Request-Id', reqId);
    const started = performance.now();
    try {
      await next();
    } finally {
      const ms = Math.round((performance.now() - started) * 100) / 100;
      // A client that hung up (mid-body, or while we worked) gets nothing; it is not a server fault.
      if (isClientGone(ctx)) {
        ctx.status = CLIENT_CLOSED_REQUEST;
        ctx.state.log.info('client closed the connection before the answer was sent');
      }
      const line = { reqId, method: ctx.method, path: ctx.path, status: ctx.status, ms };
      // 501 is a method we do not implement (PROPFIND…), the caller's doing, not a server fault;
      // 503 is the database away (logged once per outage where it is detected) or not ready yet.
      if (ctx.status >= 500 && ctx.status !== 501 && ctx.status !== 503) accessLog.error(line, 'request');
      else if (ctx.status === 501 || ctx.status === 503) accessLog.warn(line, 'request');
      else accessLog.info(line, 'request');
    }
  };
}

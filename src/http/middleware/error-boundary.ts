import type { Context, Next } from 'koa';
import { errors as oidcErrors } from 'oidc-provider';
import { ZodError } from 'zod';
import { isDatabaseUnavailable } from '../../db/errors.ts';
import { AppError } from '../../lib/app-error.ts';
import { basicChallenge, RETRY_AFTER_SECONDS, sendTemporarilyUnavailable } from '../../oidc/protocol-answers.ts';
import { OIDC_ROUTES } from '../../oidc/routes.ts';
import { CLIENT_CLOSED_REQUEST, isClientAbort } from '../client-abort.ts';
import { sendProblem } from '../problem.ts';

export interface ErrorBoundaryOptions {
  /** told of every request answered 503 because the database is away (it logs once per burst) */
  onUnavailable?: (err: unknown) => void;
}

const OAUTH_PATHS: ReadonlySet<string> = new Set(Object.values(OIDC_ROUTES));

/**
 * The one place errors become responses (STYLE.md §5):
 * - protocol errors (oidc-provider's `errors.*`, thrown by Gatehouse's own OAuth endpoints) give
 *   RFC 6749 §5.2 JSON, with `WWW-Authenticate` on 401;
 * - AppError gives its status and problem JSON; ZodError gives 400 `guard.invalid_input`;
 * - errors Koa raised on purpose (`ctx.throw`, body too large) keep their status;
 * - a body that failed because the client closed the connection answers nothing (499): checked
 *   first, as its ECONNRESET would otherwise read as the database being away;
 * - the database being away (db/errors.ts) is a 503 with Retry-After: `temporarily_unavailable`
 *   on OAuth endpoints, a problem elsewhere; reported to `onUnavailable`, not logged per request;
 * - anything else is a 500 `internal` with no detail, logged with the request id.
 * Routes that fall through give a 404 problem rather than Koa's text.
 */
export function errorBoundary(issuer: string, options: ErrorBoundaryOptions = {}) {
  return async function errorBoundaryMiddleware(ctx: Context, next: Next): Promise<void> {
    try {
      await next();
      if (ctx.status === 404 && ctx.body == null) sendProblem(ctx, 404, 'route.not_found', `no route for ${ctx.method} ${ctx.path}`);
    } catch (err) {
      // The client hung up mid-request: its doing, not a fault; request-context.ts logs it at info.
      if (isClientAbort(ctx, err)) {
        ctx.status = CLIENT_CLOSED_REQUEST;
        return;
      }
      if (!(err as { expose?: unknown }).expose && isDatabaseUnavailable(err)) {
        options.onUnavailable?.(err);
        if (OAUTH_PATHS.has(ctx.path)) {
          await sendTemporarilyUnavailable(ctx);
        } else {
          sendProblem(ctx, 503, 'service.unavailable', 'the server is temporarily unable to handle the request; retry later');
          ctx.set('Retry-After', String(RETRY_AFTER_SECONDS));
          ctx.set('Cache-Control', 'no-store');
        }
        return;
      }
      if (err instanceof oidcErrors.OIDCProviderError) {
        ctx.status = err.status;
        ctx.body = { error: err.error, error_description: err.error_description };
        if (err.status === 401) ctx.set('WWW-Authenticate', basicChallenge(issuer, err.error, err.error_description));
        // RFC 6749 §5.1/§5.2: no cache may keep an OAuth answer, errors included.
        ctx.set('Cache-Control', 'no-store');
        ctx.state.log?.debug({ error: err.error, error_detail: (err as { error_detail?: string }).error_detail }, 'protocol error');
        return;
      }
      if (err instanceof AppError) {
        if (!err.expose) ctx.state.log?.error({ err }, 'request failed');
        sendProblem(ctx, err.status, err.code, err.expose ? err.message : 'internal error', err.expose ? err.details : undefined);
        return;
      }
      if (err instanceof ZodError) {
        sendProblem(ctx, 400, 'guard.invalid_input', 'the request is not valid', {
          issues: err.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
        });
        return;
      }
      const status = (err as { status?: unknown }).status;
      if (typeof status === 'number' && status >= 400 && status < 500 && (err as { expose?: boolean }).expose) {
        sendProblem(ctx, status, 'request.invalid', (err as Error).message);
        return;
      }
      ctx.state.log?.error({ err }, 'unhandled error');
      sendProblem(ctx, 500, 'internal', 'internal error');
    }
  };
}

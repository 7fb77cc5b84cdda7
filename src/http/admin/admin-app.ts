import Koa from 'koa';
import type { Logger } from 'pino';
import type { Services } from '../../container.ts';
import { operatorPrincipal } from '../../domain/access/principal.ts';
import { errorBoundary } from '../middleware/error-boundary.ts';
import { requestContext } from '../middleware/request-context.ts';
import { sendProblem } from '../problem.ts';
import { createAdminRouter } from './admin-api.ts';
import type { Principal } from './route.ts';

/** Says who a request to the admin API acts as, or undefined (the route then answers 401). */
export type Authenticate = (ctx: Koa.Context) => Principal | undefined | Promise<Principal | undefined>;

/** The header the local operator's CLI names itself with (`cli:<unix user>`) on the control socket. */
export const ACTOR_HEADER = 'x-gatehouse-actor';

/**
 * The operator at this machine: whoever can open the control socket, which the file system allows
 * only to the data directory's owner (server/control-socket.ts), or the CLI running the admin API
 * in its own process on a database it opened itself. A superuser principal; its audit actor is
 * what the CLI says it is (`cli:alice`).
 */
export const localOperator: Authenticate = (ctx) => {
  const claimed = /^cli:([\w.@-]{1,64})$/.exec(ctx.get(ACTOR_HEADER))?.[1];
  return operatorPrincipal(claimed ?? 'unknown');
};

/**
 * A Koa application serving only the admin API: request context, the one error boundary, the
 * surface's authentication, then the routes. The control socket serves it; so does the CLI in its
 * own process when no server holds the database.
 */
export function createAdminApp(deps: { services: Services; log: Logger; issuer: string; authenticate: Authenticate }): Koa {
  const app = new Koa();
  app.silent = true;
  app.use(requestContext(deps.log));
  app.use(errorBoundary(deps.issuer));
  app.use(async (ctx, next) => {
    const principal = await deps.authenticate(ctx);
    ctx.state.principal = principal;
    try {
      await next();
    } finally {
      // Who did what through the admin API (the access line says only that a request happened).
      if (ctx.method !== 'GET')
        ctx.state.log.info({ actor: principal?.actor, method: ctx.method, path: ctx.path, status: ctx.status }, 'admin request');
    }
  });
  // A known path with a method it does not serve (PUT /users) answers a problem too, with Allow.
  app.use(async (ctx, next) => {
    await next();
    if ((ctx.status === 405 || ctx.status === 501) && ctx.body == null)
      sendProblem(ctx, ctx.status, 'route.method_not_allowed', `${ctx.method} is not served on ${ctx.path}`);
  });
  const router = createAdminRouter(deps.services);
  app.use(router.routes());
  app.use(router.allowedMethods({ throw: false }));
  return app;
}

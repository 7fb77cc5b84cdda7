import type { Context, Middleware, Next } from 'koa';
import compose from 'koa-compose';
import type { Services } from '../../container.ts';
import { authenticateRequest, type HttpAuthenticator } from '../middleware/authenticate.ts';
import { sendProblem } from '../problem.ts';
import { AUTHZEN_BASE, AUTHZEN_METADATA_PATH, authzenErrors, createAuthzenRouter } from '../routes/authzen.ts';
import { ADMIN_API_BASE, createAdminRouter } from './admin-api.ts';

export interface AdminSurfaceDeps {
  issuer: string;
  services: Services;
  authenticator: HttpAuthenticator;
  bodyLimitBytes: number;
}

/** The admin API's identifier, the audience of the access tokens it accepts: `${ISSUER}/api/v1`. */
export function adminApiAudience(issuer: string): string {
  return `${issuer}${ADMIN_API_BASE}`;
}

/**
 * The admin API (`/api/v1`) and the AuthZEN endpoints (`/access/v1`) on the public HTTP app, each
 * behind HTTP authentication (middleware/authenticate.ts). The control socket serves the same admin
 * routes to the local operator (admin-app.ts); nothing else differs.
 */
export function createAdminSurface(deps: AdminSurfaceDeps): Middleware {
  const admin = createAdminRouter(deps.services);
  const authzen = createAuthzenRouter({
    issuer: deps.issuer,
    access: deps.services.access,
    applications: deps.services.applications,
    bodyLimitBytes: deps.bodyLimitBytes,
  });
  const authenticate = authenticateRequest(deps.authenticator);
  const stack = (...middleware: Middleware[]) => compose(middleware);
  // A known path with a method it does not serve (PUT /users) answers a problem too, with Allow.
  const methodProblems: Middleware = async (ctx, next) => {
    await next();
    if ((ctx.status === 405 || ctx.status === 501) && ctx.body == null)
      sendProblem(ctx, ctx.status, 'route.method_not_allowed', `${ctx.method} is not served on ${ctx.path}`);
  };
  const adminStack = stack(
    authenticate,
    methodProblems,
    admin.routes() as Middleware,
    admin.allowedMethods({ throw: false }) as Middleware,
  );
  const authzenRoutes = [authzen.routes() as Middleware, authzen.allowedMethods({ throw: false }) as Middleware];
  const authzenStack = stack(authzenErrors, authenticate, ...authzenRoutes);
  const metadata = stack(...authzenRoutes);

  return function adminSurface(ctx: Context, next: Next): Promise<unknown> {
    const path = ctx.path;
    // Nothing after these: an unknown path under them is the error boundary's 404, not oidc-provider's.
    const end = async () => {};
    if (path === ADMIN_API_BASE || path.startsWith(`${ADMIN_API_BASE}/`)) return adminStack(ctx, end);
    if (path.startsWith(`${AUTHZEN_BASE}/`)) return authzenStack(ctx, end);
    if (path === AUTHZEN_METADATA_PATH) return metadata(ctx, end);
    return next();
  };
}

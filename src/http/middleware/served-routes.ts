import type { Context, Next } from 'koa';
import { isServedPath } from '../../oidc/surface.ts';

/**
 * Stands in front of oidc-provider and lets through only the routes this build serves
 * (oidc/surface.ts). oidc-provider always mounts its authorization endpoint (and the logout
 * confirmation), and those store an Interaction or a Session for any visitor; a route that is not
 * served must not exist, so it gets exactly the 404 problem of an unknown path (the error boundary
 * writes it). An OAuth error body would tell a scanner that the endpoint exists and merely
 * disliked the request, and the browser-facing routes have no OAuth client to read it anyway.
 */
export function serveOnlyServedRoutes() {
  return function servedRoutesMiddleware(ctx: Context, next: Next): Promise<unknown> | undefined {
    if (isServedPath(ctx.path)) return next();
    return undefined;
  };
}

import Router from '@koa/router';
import type { Services } from '../../container.ts';
import { apiRoutes } from './apis.routes.ts';
import { applicationRoutes } from './applications.routes.ts';
import { keyRoutes } from './keys.routes.ts';
import { type AnyRoute, mountRoutes } from './route.ts';

/** Where the admin API lives on every surface that serves it (the control socket now; HTTP with sign-in later). */
export const ADMIN_API_BASE = '/api/v1';

/** Every admin route, in the order they are registered: the API and its OpenAPI document in one list. */
export function adminRoutes(services: Pick<Services, 'apis' | 'applications' | 'signingKeys'>): AnyRoute[] {
  return [...apiRoutes(services), ...applicationRoutes(services), ...keyRoutes(services)];
}

/** The admin API's router, mounted at ADMIN_API_BASE. Authentication (ctx.state.principal) comes before it. */
export function createAdminRouter(services: Pick<Services, 'apis' | 'applications' | 'signingKeys'>): Router {
  const router = new Router({ prefix: ADMIN_API_BASE });
  mountRoutes(router, adminRoutes(services));
  return router;
}

import Router from '@koa/router';
import type { Services } from '../../container.ts';
import { accessCheckRoutes } from './access-check.routes.ts';
import { apiRoutes } from './apis.routes.ts';
import { applicationRoutes } from './applications.routes.ts';
import { keyRoutes } from './keys.routes.ts';
import { meRoutes } from './me.routes.ts';
import { type AnyRoute, mountRoutes } from './route.ts';

/** Where the admin API lives on every surface that serves it (the control socket, and HTTP for authenticated callers). */
export const ADMIN_API_BASE = '/api/v1';

/** Every admin route, in the order they are registered: the API and its OpenAPI document in one list. */
export function adminRoutes(services: Pick<Services, 'apis' | 'applications' | 'signingKeys' | 'access'>): AnyRoute[] {
  return [
    ...apiRoutes(services),
    ...applicationRoutes(services),
    ...keyRoutes(services),
    ...meRoutes(services),
    ...accessCheckRoutes(services),
  ];
}

/** The admin API's router, mounted at ADMIN_API_BASE. Authentication (ctx.state.principal) comes before it. */
export function createAdminRouter(services: Pick<Services, 'apis' | 'applications' | 'signingKeys' | 'access'>): Router {
  const router = new Router({ prefix: ADMIN_API_BASE });
  mountRoutes(router, adminRoutes(services));
  return router;
}

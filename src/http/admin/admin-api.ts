import Router from '@koa/router';
import type { Services } from '../../container.ts';
import { withAuditContext } from '../../domain/audit/audit.context.ts';
import { pageSecurityHeaders } from '../pages/security-headers.ts';
import { accessCheckRoutes } from './access-check.routes.ts';
import { activityRoutes } from './activity.routes.ts';
import { apiRoutes } from './apis.routes.ts';
import { applicationRoutes } from './applications.routes.ts';
import { renderDocsPage } from './docs-page.tsx';
import { keyRoutes } from './keys.routes.ts';
import { meRoutes } from './me.routes.ts';
import { buildOpenApiDocument, type OpenApiDocument } from './openapi.ts';
import { organizationRoutes } from './organizations.routes.ts';
import { permissionRoutes } from './permissions.routes.ts';
import { roleRoutes } from './roles.routes.ts';
import { type AnyRoute, defineRoute, mountRoutes } from './route.ts';
import { tokenRoutes } from './tokens.routes.ts';
import { userRoutes } from './users.routes.ts';

/** Where the admin API lives on every surface that serves it (the control socket, and /api/v1 over HTTP). */
export const ADMIN_API_BASE = '/api/v1';

/** The version the OpenAPI document names. */
const API_VERSION = '1.0.0';

/** Every resource route of the admin API, in the order they are registered. */
export function resourceRoutes(services: Services): AnyRoute[] {
  return [
    ...apiRoutes(services),
    ...applicationRoutes(services),
    ...keyRoutes(services),
    ...userRoutes(services),
    ...roleRoutes(services),
    ...permissionRoutes(services),
    ...organizationRoutes(services),
    ...tokenRoutes(services),
    ...activityRoutes(services),
    ...meRoutes(services),
    ...accessCheckRoutes(services),
  ];
}

/**
 * Every admin route: the resources, then the two that describe them (served without
 * authentication: what the API is, is no secret). The OpenAPI document covers all of them.
 */
export function adminRoutes(services: Services): AnyRoute[] {
  const resources = resourceRoutes(services);
  let document: OpenApiDocument | undefined;
  let page: string | undefined;
  const meta: AnyRoute[] = [
    defineRoute({
      method: 'get',
      path: '/openapi.json',
      tag: 'meta',
      summary: 'This API as an OpenAPI 3.1 document (no authentication needed)',
      permission: null,
      public: true,
      list: true,
      status: [200],
      async handle() {
        document ??= buildOpenApiDocument([...resources, ...meta], { base: ADMIN_API_BASE, version: API_VERSION });
        return { body: document };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/docs',
      tag: 'meta',
      summary: 'This API as a page to read (no authentication needed)',
      permission: null,
      public: true,
      list: true,
      status: [200],
      async handle({ ctx }) {
        document ??= buildOpenApiDocument([...resources, ...meta], { base: ADMIN_API_BASE, version: API_VERSION });
        page ??= renderDocsPage(document, `${ADMIN_API_BASE}/openapi.json`);
        pageSecurityHeaders(ctx);
        ctx.type = 'text/html; charset=utf-8';
        return { body: page };
      },
    }),
  ];
  return [...resources, ...meta];
}

/** The admin API's router, mounted at ADMIN_API_BASE. Authentication (ctx.state.principal) comes before it. */
export function createAdminRouter(services: Services): Router {
  const router = new Router({ prefix: ADMIN_API_BASE });
  // Every audit event a request causes names its address and request id (never a credential).
  // ctx.ip follows the app's proxy setting (TRUST_PROXY); on the control socket there is none.
  router.use((ctx, next) => withAuditContext({ ip: ctx.ip || null, requestId: ctx.state.reqId ?? null }, next));
  mountRoutes(router, adminRoutes(services));
  return router;
}

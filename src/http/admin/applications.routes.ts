import { z } from 'zod';
import { ResourceIdentifier, ScopeToken } from '../../domain/api-resources/api-resource.schema.ts';
import { AllowedOrigin, type Application, ClientType, GrantType, RedirectUri } from '../../domain/applications/application.schema.ts';
import type { ApplicationService, ApplicationWithSecret } from '../../domain/applications/application.service.ts';
import { defineRoute } from './route.ts';
import { Id, iso, Timestamp } from './wire.ts';

/**
 * GET    /applications              list (filter: ?client_id=ID)
 * POST   /applications              register; a confidential client's secret is in this answer only
 * GET    /applications/:id          one
 * PATCH  /applications/:id          rename, replace its APIs, set its introspect right
 * POST   /applications/:id/secrets  a new secret (the old one stops working); in this answer only
 * DELETE /applications/:id          remove; its tokens stop being accepted at introspection
 */
const GrantedApiWire = z.object({ identifier: z.string(), scopes: z.array(z.string()), introspect: z.boolean() });

export const ApplicationWire = z.object({
  id: z.string(),
  client_id: z.string(),
  /** only in the answers that create one: register and rotate */
  client_secret: z.string().optional(),
  name: z.string(),
  client_type: ClientType,
  grant_types: z.array(z.string()),
  redirect_uris: z.array(z.string()),
  allowed_origins: z.array(z.string()),
  apis: z.array(GrantedApiWire),
  is_active: z.boolean(),
  secret_hint: z.string().nullable(),
  secret_rotated_at: Timestamp,
  created_at: Timestamp,
});
export type ApplicationWire = z.infer<typeof ApplicationWire>;

const ApiGrantWire = z
  .object({
    identifier: ResourceIdentifier,
    scopes: z.array(ScopeToken).optional(),
    introspect: z.boolean().optional(),
  })
  .strict();

export const CreateApplicationWire = z
  .object({
    name: z.string().trim().min(1).max(200),
    client_type: ClientType.optional(),
    grant_types: z.array(GrantType).min(1).optional(),
    redirect_uris: z.array(RedirectUri).max(50).optional(),
    allowed_origins: z.array(AllowedOrigin).max(50).optional(),
    apis: z.array(ApiGrantWire).max(100).optional(),
    skip_authorization: z.boolean().optional(),
  })
  .strict();

export const UpdateApplicationWire = z
  .object({
    name: z.string().trim().min(1).max(200).optional(),
    apis: z.array(ApiGrantWire).max(100).optional(),
    introspect: z.boolean().optional(),
    allowed_origins: z.array(AllowedOrigin).max(50).optional(),
  })
  .strict();

export function applicationToWire(app: Application, clientSecret?: string | null): ApplicationWire {
  return {
    id: app.id,
    client_id: app.clientId,
    ...(clientSecret ? { client_secret: clientSecret } : {}),
    name: app.name,
    client_type: app.clientType,
    grant_types: app.grantTypes,
    redirect_uris: app.redirectUris,
    allowed_origins: app.allowedOrigins,
    apis: app.apis,
    is_active: app.isActive,
    secret_hint: app.secretHint,
    secret_rotated_at: iso(app.secretRotatedAt),
    created_at: iso(app.createdAt),
  };
}

const withSecret = ({ application, clientSecret }: ApplicationWithSecret) => applicationToWire(application, clientSecret);

export function applicationRoutes({ applications }: { applications: ApplicationService }) {
  const ById = z.object({ id: Id });
  return [
    defineRoute({
      method: 'get',
      path: '/applications',
      summary: 'List applications (never their secrets)',
      permission: 'view_application',
      query: z.object({ client_id: z.string().max(200).optional() }),
      response: z.array(ApplicationWire),
      status: [200, 400],
      async handle({ query }) {
        const all = await applications.list();
        return {
          body: all.filter((a) => query.client_id === undefined || a.clientId === query.client_id).map((a) => applicationToWire(a)),
        };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/applications',
      summary: 'Register an application (OAuth client); the answer carries its secret, once',
      permission: 'add_application',
      body: CreateApplicationWire,
      response: ApplicationWire,
      status: [201, 400, 409],
      async handle({ body, principal }) {
        const created = await applications.register(
          {
            name: body.name,
            clientType: body.client_type,
            grantTypes: body.grant_types,
            redirectUris: body.redirect_uris,
            allowedOrigins: body.allowed_origins,
            apis: body.apis,
            skipAuthorization: body.skip_authorization,
          },
          principal.actor,
        );
        return { body: withSecret(created) };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/applications/:id',
      summary: 'Show one application',
      permission: 'view_application',
      params: ById,
      response: ApplicationWire,
      status: [200, 404],
      handle: async ({ params }) => ({ body: applicationToWire(await applications.getById(params.id)) }),
    }),
    defineRoute({
      method: 'patch',
      path: '/applications/:id',
      summary: "Change an application's name, APIs or introspect right",
      permission: 'change_application',
      params: ById,
      body: UpdateApplicationWire,
      response: ApplicationWire,
      status: [200, 400, 404, 409],
      async handle({ params, body, principal }) {
        const { clientId } = await applications.getById(params.id);
        const updated = await applications.update(
          { clientId, name: body.name, apis: body.apis, introspect: body.introspect, allowedOrigins: body.allowed_origins },
          principal.actor,
        );
        return { body: applicationToWire(updated) };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/applications/:id/secrets',
      summary: "Replace an application's secret; the answer carries the new one, once",
      permission: 'change_application',
      params: ById,
      response: ApplicationWire,
      status: [201, 400, 404],
      async handle({ params, principal }) {
        const { clientId } = await applications.getById(params.id);
        return { body: withSecret(await applications.rotateSecret(clientId, principal.actor)) };
      },
    }),
    defineRoute({
      method: 'delete',
      path: '/applications/:id',
      summary: 'Remove an application',
      permission: 'delete_application',
      params: ById,
      status: [204, 404],
      async handle({ params, principal }) {
        const { clientId } = await applications.getById(params.id);
        await applications.remove(clientId, principal.actor);
        return {};
      },
    }),
  ];
}

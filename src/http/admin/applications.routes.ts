import { ZodError, z } from 'zod';
import type { Services } from '../../container.ts';
import { ResourceIdentifier, ScopeToken } from '../../domain/api-resources/api-resource.schema.ts';
import { apiTokenError } from '../../domain/api-tokens/api-token.errors.ts';
import { ApiTokenScope } from '../../domain/api-tokens/api-token.schema.ts';
import { AllowedOrigin, type Application, ClientType, GrantType, RedirectUri } from '../../domain/applications/application.schema.ts';
import type { ApplicationView } from '../../domain/applications/application.service.ts';
import { CodenameList } from '../../domain/permissions/permission.schema.ts';
import { defineRoute } from './route.ts';
import { CreateApplicationTokenWire, createToken, MASK, TokenWire, tokenToWire } from './tokens.routes.ts';
import { apiUrl, ById, bool, Id, iso, listQuery, pageBody, paginated, paging, QueryBool, Timestamp } from './wire.ts';

/**
 * GET    /applications              list (holders of view_application: all; others: theirs and their
 *                                   organisations' as admin); filter: client_id, name, user, organization
 * POST   /applications              register (add_application); `user` and `authorization_grant_type`
 *                                   required; a confidential client's secret is in this answer only
 * GET    /applications/:id          one
 * PATCH  /applications/:id          name, redirect_uris, post_logout_redirect_uris, skip_authorization,
 *                                   organization, apis, introspect, allowed_origins; client_id, client_secret, user,
 *                                   authorization_grant_type and client_type are read-only (400)
 * POST   /applications/:id/secrets  a new secret (the old one stops working); in this answer only
 * DELETE /applications/:id          remove; its tokens stop being accepted at introspection
 * GET    /applications/:id/tokens   the API tokens bound to it (masked)
 * POST   /applications/:id/tokens   { scope }: a token for the caller (the operator: for the owner), bound to it
 * GET    /users/:id/applications    a user's applications (as far as the caller reaches)
 *
 * The AWX rules (issue 10): superusers reach every application; organisation admins those of
 * their organisations and of their members; anyone else their own, and registers new ones only
 * with `add_application`. An application out of reach is a 404, never a 403.
 */
const GrantedApiWire = z.object({ identifier: z.string(), scopes: z.array(z.string()), introspect: z.boolean() });

export const ApplicationWire = z.object({
  id: z.string(),
  type: z.literal('application'),
  url: z.string(),
  related: z.object({
    owner: z.string().nullable(),
    organization: z.string().nullable(),
    tokens: z.string(),
    activity: z.string(),
    secrets: z.string(),
  }),
  summary_fields: z.object({
    owner: z.object({ id: z.string(), username: z.string() }).nullable(),
    tokens: z.object({
      count: z.number().int(),
      results: z.array(z.object({ id: z.string(), name: z.string(), scope: ApiTokenScope, token: z.string() })),
    }),
  }),
  client_id: z.string(),
  /** only in the answers that create one: register and rotate */
  client_secret: z.string().optional(),
  name: z.string(),
  client_type: ClientType,
  authorization_grant_type: z.string(),
  grant_types: z.array(z.string()),
  redirect_uris: z.array(z.string()),
  post_logout_redirect_uris: z.array(z.string()),
  skip_authorization: z.boolean(),
  allowed_origins: z.array(z.string()),
  apis: z.array(GrantedApiWire),
  user: z.string().nullable(),
  organization: z.string().nullable(),
  is_active: z.boolean(),
  secret_hint: z.string().nullable(),
  secret_rotated_at: Timestamp,
  created_at: Timestamp,
  updated_at: Timestamp,
});
export type ApplicationWire = z.infer<typeof ApplicationWire>;

const ApiGrantWire = z
  .object({
    identifier: ResourceIdentifier,
    scopes: z.array(ScopeToken).optional(),
    introspect: z.boolean().optional(),
  })
  .strict();

const readOnly = (why: string) =>
  z
    .never({ error: why })
    .optional()
    .meta({ description: `read-only: ${why}` });

export const CreateApplicationWire = z.strictObject({
  name: z.string().trim().min(1).max(200),
  user: Id.meta({ description: "the owner's id: yourself, or (organisation admins) one of your members" }),
  authorization_grant_type: GrantType,
  grant_types: z.array(GrantType).min(1).max(4).optional().meta({
    description:
      'every grant type it may use, when more than authorization_grant_type (which must be among them): refresh_token beside authorization_code',
  }),
  client_type: ClientType.optional(),
  redirect_uris: z.array(RedirectUri).max(50).optional(),
  post_logout_redirect_uris: z.array(RedirectUri).max(50).optional(),
  skip_authorization: z.boolean().optional(),
  organization: Id.nullable().optional(),
  allowed_origins: z.array(AllowedOrigin).max(50).optional(),
  apis: z.array(ApiGrantWire).max(100).optional(),
  client_id: readOnly('client_id is generated'),
  client_secret: readOnly('client_secret is generated'),
});

export const UpdateApplicationWire = z.strictObject({
  name: z.string().trim().min(1).max(200).optional(),
  redirect_uris: z.array(RedirectUri).max(50).optional(),
  post_logout_redirect_uris: z.array(RedirectUri).max(50).optional(),
  skip_authorization: z.boolean().optional(),
  organization: Id.nullable().optional(),
  apis: z.array(ApiGrantWire).max(100).optional(),
  introspect: z.boolean().optional(),
  allowed_origins: z.array(AllowedOrigin).max(50).optional(),
  client_id: readOnly('client_id cannot change'),
  client_secret: readOnly('rotate the secret with POST /applications/{id}/secrets'),
  user: readOnly('the owner cannot change'),
  authorization_grant_type: readOnly('authorization_grant_type cannot change'),
  client_type: readOnly('client_type cannot change'),
});

export function applicationToWire(app: ApplicationView, clientSecret?: string | null): ApplicationWire {
  const url = apiUrl(`/applications/${app.id}`);
  return {
    id: app.id,
    type: 'application',
    url,
    related: {
      owner: app.ownerUserId ? apiUrl(`/users/${app.ownerUserId}`) : null,
      organization: app.organizationId ? apiUrl(`/organizations/${app.organizationId}`) : null,
      tokens: `${url}/tokens`,
      activity: `${url}/activity`,
      secrets: `${url}/secrets`,
    },
    summary_fields: {
      owner: app.summary.owner,
      tokens: {
        count: app.summary.tokenCount,
        results: app.summary.tokens.map((t) => ({ id: t.id, name: t.name, scope: t.scope, token: MASK })),
      },
    },
    client_id: app.clientId,
    ...(clientSecret ? { client_secret: clientSecret } : {}),
    name: app.name,
    client_type: app.clientType,
    authorization_grant_type: app.grantTypes[0] ?? 'client_credentials',
    grant_types: app.grantTypes,
    redirect_uris: app.redirectUris,
    post_logout_redirect_uris: app.postLogoutRedirectUris,
    skip_authorization: app.skipAuthorization,
    allowed_origins: app.allowedOrigins,
    apis: app.apis,
    user: app.ownerUserId,
    organization: app.organizationId,
    is_active: app.isActive,
    secret_hint: app.secretHint,
    secret_rotated_at: iso(app.secretRotatedAt),
    created_at: iso(app.createdAt),
    updated_at: iso(app.updatedAt),
  };
}

/** Wire bodies of kept list pages, by page object (weakly) and query string. */
type ApplicationPageWire = { count: number; next: string | null; previous: string | null; results: ApplicationWire[] };
const wireBodies = new WeakMap<object, Map<string, ApplicationPageWire>>();

const ListQuery = listQuery(['name', '-name', 'created', '-created'], {
  client_id: z.string().max(200).optional(),
  name: z.string().max(200).optional(),
  user: Id.optional(),
  organization: Id.optional(),
});

/** The permissions granted to an application itself: what its client-credentials tokens carry. */
export const ApplicationPermissionsWire = z.object({ permissions: z.array(z.string()) });
export const SetApplicationPermissionsWire = z.strictObject({ permissions: CodenameList });

export function applicationRoutes({ applications, apiTokens, permissions }: Pick<Services, 'applications' | 'apiTokens' | 'permissions'>) {
  const show = async ({ principal, params }: { principal: Parameters<typeof applications.getVisible>[0]; params: { id: string } }) =>
    applicationToWire(await applications.getVisible(principal, params.id));
  return [
    defineRoute({
      method: 'get',
      path: '/applications',
      tag: 'applications',
      summary: 'List applications you reach (never their secrets)',
      permission: 'view_application',
      own: true,
      list: true,
      query: ListQuery,
      response: paginated(ApplicationWire),
      status: [200, 400, 401, 403],
      async handle({ query, principal, ctx }) {
        const page = await applications.listVisible(
          principal,
          { clientId: query.client_id, name: query.name, ownerUserId: query.user, organizationId: query.organization },
          { ...paging(query), orderBy: query.order_by },
        );
        // A kept page (the service answers the same object until it changes) keeps its wire body
        // per query string (the next/previous links), so the guard's parse is kept with it too.
        const bodies = wireBodies.get(page) ?? new Map<string, ApplicationPageWire>();
        wireBodies.set(page, bodies);
        let body = bodies.get(ctx.querystring);
        if (!body) {
          body = pageBody(ctx, page, (a) => applicationToWire(a));
          // a few spellings of the same page's query at most: made-up ones are answered, not kept
          if (bodies.size < 8) bodies.set(ctx.querystring, body);
        }
        return { body };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/applications',
      tag: 'applications',
      summary: 'Register an application (OAuth client); the answer carries its secret, once',
      permission: 'add_application',
      body: CreateApplicationWire,
      response: ApplicationWire,
      status: [201, 400, 401, 403, 409],
      async handle({ body, principal }) {
        if (body.grant_types && !body.grant_types.includes(body.authorization_grant_type)) {
          throw new ZodError([
            { code: 'custom', path: ['grant_types'], message: 'must include authorization_grant_type', input: body.grant_types },
          ]);
        }
        const created = await applications.registerAs(principal, {
          name: body.name,
          ownerUserId: body.user,
          organizationId: body.organization ?? null,
          clientType: body.client_type,
          // authorization_grant_type first: it is the one the wire's single-valued field shows
          grantTypes: [body.authorization_grant_type, ...(body.grant_types ?? []).filter((g) => g !== body.authorization_grant_type)],
          redirectUris: body.redirect_uris,
          postLogoutRedirectUris: body.post_logout_redirect_uris,
          allowedOrigins: body.allowed_origins,
          apis: body.apis,
          skipAuthorization: body.skip_authorization,
        });
        return { body: applicationToWire(created.view, created.clientSecret) };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/applications/:id',
      tag: 'applications',
      summary: 'Show one application',
      permission: 'view_application',
      own: true,
      params: ById,
      response: ApplicationWire,
      status: [200, 400, 401, 403, 404],
      handle: async (input) => ({ body: await show(input) }),
    }),
    defineRoute({
      method: 'patch',
      path: '/applications/:id',
      tag: 'applications',
      summary: "Change an application's name, redirect URIs, organization, APIs, introspect right or allowed origins",
      permission: 'change_application',
      own: true,
      params: ById,
      body: UpdateApplicationWire,
      response: ApplicationWire,
      status: [200, 400, 401, 403, 404, 409, 412],
      current: show,
      async handle({ params, body, principal }) {
        const updated = await applications.updateAs(principal, params.id, {
          name: body.name,
          redirectUris: body.redirect_uris,
          postLogoutRedirectUris: body.post_logout_redirect_uris,
          skipAuthorization: body.skip_authorization,
          organizationId: body.organization,
          apis: body.apis,
          introspect: body.introspect,
          allowedOrigins: body.allowed_origins,
        });
        return { body: applicationToWire(updated) };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/applications/:id/secrets',
      tag: 'applications',
      summary: "Replace an application's secret; the answer carries the new one, once",
      permission: 'change_application',
      own: true,
      params: ById,
      response: ApplicationWire,
      status: [201, 400, 401, 403, 404],
      async handle({ params, principal }) {
        const rotated = await applications.rotateSecretAs(principal, params.id);
        return { body: applicationToWire(rotated.view, rotated.clientSecret) };
      },
    }),
    defineRoute({
      method: 'delete',
      path: '/applications/:id',
      tag: 'applications',
      summary: 'Remove an application; its tokens stop being accepted',
      permission: 'delete_application',
      own: true,
      params: ById,
      status: [204, 400, 401, 403, 404, 412],
      current: show,
      async handle({ params, principal }) {
        await applications.removeAs(principal, params.id);
        return {};
      },
    }),
    defineRoute({
      method: 'get',
      path: '/applications/:id/tokens',
      tag: 'applications',
      summary: 'List the API tokens bound to an application (masked)',
      permission: 'view_application',
      own: true,
      list: true,
      params: ById,
      query: listQuery(['-created'], { include_inactive: QueryBool.optional() }),
      response: paginated(TokenWire),
      status: [200, 400, 401, 403, 404],
      async handle({ params, query, principal, ctx }) {
        await applications.getVisible(principal, params.id);
        const page = await apiTokens.listForApplication(params.id, { ...paging(query), includeInactive: bool(query.include_inactive) });
        return { body: pageBody(ctx, page, (t) => tokenToWire(t)) };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/applications/:id/tokens',
      tag: 'applications',
      summary: 'Create an API token bound to this application, acting as you (the operator: as its owner); its secret, once',
      permission: 'add_token',
      own: true,
      params: ById,
      body: CreateApplicationTokenWire,
      response: TokenWire,
      status: [201, 400, 401, 403, 404],
      async handle({ params, body, principal, scope }) {
        const application = await applications.getVisible(principal, params.id);
        const userId = principal.userId ?? application.ownerUserId;
        if (!userId) throw apiTokenError('unknown_application', { id: params.id }, 'this application has no owner to act as: give it one');
        return { body: await createToken({ apiTokens }, principal, scope, userId, body, application.id) };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/applications/:id/permissions',
      tag: 'applications',
      summary: "The permissions granted to the application itself (its client-credentials tokens' `permissions` claim)",
      permission: 'view_application',
      own: true,
      params: ById,
      response: ApplicationPermissionsWire,
      status: [200, 400, 401, 403, 404],
      async handle({ params, principal }) {
        await applications.getVisible(principal, params.id);
        const granted = await permissions.listApplicationPermissions(params.id);
        return { body: { permissions: granted.map((p) => p.codename).sort() } };
      },
    }),
    defineRoute({
      method: 'put',
      path: '/applications/:id/permissions',
      tag: 'applications',
      summary: 'Replace the permissions granted to the application itself (you may give or take only what you hold)',
      permission: 'change_application',
      params: ById,
      body: SetApplicationPermissionsWire,
      response: ApplicationPermissionsWire,
      status: [200, 400, 401, 403, 404],
      async handle({ params, body, principal }) {
        await applications.getVisible(principal, params.id);
        const granted = await permissions.setApplicationPermissions(principal, params.id, body.permissions);
        return { body: { permissions: granted.map((p) => p.codename).sort() } };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/users/:id/applications',
      tag: 'applications',
      summary: "List a user's applications (as far as you reach them)",
      permission: 'view_application',
      own: true,
      list: true,
      params: ById,
      query: ListQuery.omit({ user: true }),
      response: paginated(ApplicationWire),
      status: [200, 400, 401, 403, 404],
      async handle({ params, query, principal, ctx }) {
        const page = await applications.listVisible(
          principal,
          { clientId: query.client_id, name: query.name, ownerUserId: params.id, organizationId: query.organization },
          { ...paging(query), orderBy: query.order_by },
        );
        return { body: pageBody(ctx, page, (a) => applicationToWire(a)) };
      },
    }),
  ];
}

export type { Application };

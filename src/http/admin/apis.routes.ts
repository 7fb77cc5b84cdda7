import { z } from 'zod';
import {
  AccessTokenFormat,
  type ApiResource,
  ResourceIdentifier,
  ScopeToken,
  SigningAlg,
} from '../../domain/api-resources/api-resource.schema.ts';
import type { ApiResourceService } from '../../domain/api-resources/api-resource.service.ts';
import { defineRoute } from './route.ts';
import { ById, iso, listQuery, pageBody, pageOf, paginated, Timestamp } from './wire.ts';

/**
 * GET    /apis            list (filter: ?identifier=URI)
 * POST   /apis            register
 * GET    /apis/:id        one
 * DELETE /apis/:id        remove (?force=true also removes it from the applications granted it)
 */
export const ApiWire = z.object({
  id: z.string(),
  identifier: z.string(),
  name: z.string(),
  scopes: z.array(z.string()),
  signing_alg: SigningAlg,
  access_token_format: AccessTokenFormat,
  access_token_ttl_seconds: z.number().int(),
  created_at: Timestamp,
});
export type ApiWire = z.infer<typeof ApiWire>;

export const CreateApiWire = z
  .object({
    identifier: ResourceIdentifier,
    name: z.string().trim().min(1).max(200),
    scopes: z.array(ScopeToken).max(200).optional(),
    signing_alg: SigningAlg.optional(),
    access_token_format: AccessTokenFormat.optional(),
    access_token_ttl_seconds: z
      .number()
      .int()
      .min(60)
      .max(86400 * 30)
      .optional(),
  })
  .strict();

export function apiToWire(api: ApiResource): ApiWire {
  return {
    id: api.id,
    identifier: api.identifier,
    name: api.name,
    scopes: api.scopes,
    signing_alg: api.signingAlg,
    access_token_format: api.accessTokenFormat,
    access_token_ttl_seconds: api.accessTokenTtlSeconds,
    created_at: iso(api.createdAt),
  };
}

export function apiRoutes({ apis }: { apis: ApiResourceService }) {
  return [
    defineRoute({
      method: 'get',
      path: '/apis',
      summary: 'List APIs (resource servers)',
      permission: 'view_api',
      tag: 'apis',
      list: true,
      query: listQuery(['created'], { identifier: ResourceIdentifier.optional() }),
      response: paginated(ApiWire),
      status: [200, 400, 401, 403],
      async handle({ query, ctx }) {
        const all = await apis.list();
        const matching = all.filter((a) => query.identifier === undefined || a.identifier === query.identifier);
        return { body: pageBody(ctx, pageOf(matching, query), apiToWire) };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/apis',
      summary: 'Register an API',
      permission: 'add_api',
      tag: 'apis',
      body: CreateApiWire,
      response: ApiWire,
      status: [201, 400, 401, 403, 409],
      async handle({ body, principal }) {
        const created = await apis.register(
          {
            identifier: body.identifier,
            name: body.name,
            scopes: body.scopes,
            signingAlg: body.signing_alg,
            accessTokenFormat: body.access_token_format,
            accessTokenTtlSeconds: body.access_token_ttl_seconds,
          },
          principal.actor,
        );
        return { body: apiToWire(created) };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/apis/:id',
      summary: 'Show one API',
      tag: 'apis',
      permission: 'view_api',
      params: ById,
      response: ApiWire,
      status: [200, 400, 401, 403, 404],
      handle: async ({ params }) => ({ body: apiToWire(await apis.getById(params.id)) }),
    }),
    defineRoute({
      method: 'delete',
      path: '/apis/:id',
      summary: 'Remove an API',
      tag: 'apis',
      permission: 'delete_api',
      params: ById,
      query: z.strictObject({ force: z.enum(['true', 'false']).optional() }),
      status: [204, 400, 401, 403, 404, 409],
      async handle({ params, query, principal }) {
        const api = await apis.getById(params.id);
        await apis.remove(api.identifier, principal.actor, { force: query.force === 'true' });
        return {};
      },
    }),
  ];
}

import { z } from 'zod';
import type { Services } from '../../container.ts';
import { CreatePermission, type Permission } from '../../domain/permissions/permission.schema.ts';
import { defineRoute } from './route.ts';
import { apiUrl, ById, bool, iso, listQuery, pageBody, paginated, paging, QueryBool, Timestamp } from './wire.ts';

/**
 * GET    /permissions       list (filter: api, codename_prefix, built_in)
 * POST   /permissions       create a codename, optionally belonging to an API
 * GET    /permissions/:id   one
 * DELETE /permissions/:id   delete (not the built-in ones; only one you hold)
 */
export const PermissionWire = z.object({
  id: z.string(),
  type: z.literal('permission'),
  url: z.string(),
  codename: z.string(),
  name: z.string(),
  api: z.string().nullable(),
  is_built_in: z.boolean(),
  created_at: Timestamp,
});

export function permissionToWire(p: Permission): z.infer<typeof PermissionWire> {
  return {
    id: p.id,
    type: 'permission',
    url: apiUrl(`/permissions/${p.id}`),
    codename: p.codename,
    name: p.name,
    api: p.api,
    is_built_in: p.isBuiltIn,
    created_at: iso(p.createdAt),
  };
}

export function permissionRoutes({ permissions }: Pick<Services, 'permissions'>) {
  const show = async ({ params }: { params: { id: string } }) => permissionToWire(await permissions.get(params.id));
  return [
    defineRoute({
      method: 'get',
      path: '/permissions',
      tag: 'permissions',
      summary: 'List permission codenames',
      permission: 'view_permission',
      list: true,
      query: listQuery(['codename'], {
        api: z.string().max(2048).optional().meta({ description: "an API's identifier; `none` for the permissions of no API" }),
        codename_prefix: z.string().max(100).optional(),
        built_in: QueryBool.optional(),
      }),
      response: paginated(PermissionWire),
      status: [200, 400, 401, 403],
      async handle({ query, ctx }) {
        const page = await permissions.list({
          ...paging(query),
          api: query.api === 'none' ? null : query.api,
          codenamePrefix: query.codename_prefix,
          isBuiltIn: bool(query.built_in),
        });
        return { body: pageBody(ctx, page, permissionToWire) };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/permissions',
      tag: 'permissions',
      summary: 'Create a permission codename (`<action>_<model>`), optionally of an API',
      permission: 'add_permission',
      body: CreatePermission,
      response: PermissionWire,
      status: [201, 400, 401, 403, 409],
      handle: async ({ body, principal }) => ({ body: permissionToWire(await permissions.create(principal, body)) }),
    }),
    defineRoute({
      method: 'get',
      path: '/permissions/:id',
      tag: 'permissions',
      summary: 'Show one permission',
      permission: 'view_permission',
      params: ById,
      response: PermissionWire,
      status: [200, 400, 401, 403, 404],
      handle: async (input) => ({ body: await show(input) }),
    }),
    defineRoute({
      method: 'delete',
      path: '/permissions/:id',
      tag: 'permissions',
      summary: 'Delete a permission: roles and applications lose it',
      permission: 'delete_permission',
      params: ById,
      status: [204, 400, 401, 403, 404, 409, 412],
      current: show,
      async handle({ params, principal }) {
        await permissions.delete(principal, params.id);
        return {};
      },
    }),
  ];
}

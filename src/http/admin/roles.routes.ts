import { z } from 'zod';
import type { Services } from '../../container.ts';
import { Codename } from '../../domain/permissions/codename.ts';
import { CodenameList } from '../../domain/permissions/permission.schema.ts';
import { CreateRole, type Role, UpdateRole } from '../../domain/roles/role.schema.ts';
import { PermissionWire, permissionToWire } from './permissions.routes.ts';
import { defineRoute } from './route.ts';
import { visibleUser } from './users.routes.ts';
import { apiUrl, ById, Id, iso, listQuery, pageBody, pageOf, paginated, paging, Timestamp } from './wire.ts';

/**
 * GET    /roles                              list
 * POST   /roles                              create (with permissions the caller holds)
 * GET    /roles/:id                          one
 * PATCH  /roles/:id                          rename, describe
 * DELETE /roles/:id                          delete (its holders lose its permissions)
 * GET    /roles/:id/permissions              its permissions
 * POST   /roles/:id/permissions              add permissions { permissions: [codename] }
 * PUT    /roles/:id/permissions              replace its permissions
 * DELETE /roles/:id/permissions/:codename    remove one
 * GET    /users/:id/roles                    a user's roles (yours without view_role)
 * POST   /users/:id/roles                    grant { role: id }
 * DELETE /users/:id/roles/:roleId            withdraw
 *
 * No self-escalation: the role service refuses to touch, grant or extend a role with a permission
 * the caller does not hold (403 `role.escalation`, naming the codenames).
 */
export const RoleWire = z.object({
  id: z.string(),
  type: z.literal('role'),
  url: z.string(),
  related: z.object({ permissions: z.string() }),
  name: z.string(),
  description: z.string(),
  permissions: z.array(z.string()),
  created_at: Timestamp,
  updated_at: Timestamp,
});

export function roleToWire(role: Role): z.infer<typeof RoleWire> {
  const url = apiUrl(`/roles/${role.id}`);
  return {
    id: role.id,
    type: 'role',
    url,
    related: { permissions: `${url}/permissions` },
    name: role.name,
    description: role.description,
    permissions: role.permissions,
    created_at: iso(role.createdAt),
    updated_at: iso(role.updatedAt),
  };
}

const PermissionsBody = z.strictObject({ permissions: CodenameList });

export function roleRoutes({ roles, permissions, users }: Pick<Services, 'roles' | 'permissions' | 'users'>) {
  const show = async ({ params }: { params: { id: string } }) => roleToWire(await roles.get(params.id));
  return [
    defineRoute({
      method: 'get',
      path: '/roles',
      tag: 'roles',
      summary: 'List roles',
      permission: 'view_role',
      list: true,
      query: listQuery(['name'], { name_prefix: z.string().max(150).optional() }),
      response: paginated(RoleWire),
      status: [200, 400, 401, 403],
      async handle({ query, ctx }) {
        return { body: pageBody(ctx, await roles.list({ ...paging(query), namePrefix: query.name_prefix }), roleToWire) };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/roles',
      tag: 'roles',
      summary: 'Create a role, optionally with permissions (each one you hold)',
      permission: 'add_role',
      body: CreateRole,
      response: RoleWire,
      status: [201, 400, 401, 403, 409],
      handle: async ({ body, principal }) => ({ body: roleToWire(await roles.create(principal, body)) }),
    }),
    defineRoute({
      method: 'get',
      path: '/roles/:id',
      tag: 'roles',
      summary: 'Show one role',
      permission: 'view_role',
      params: ById,
      response: RoleWire,
      status: [200, 400, 401, 403, 404],
      handle: async (input) => ({ body: await show(input) }),
    }),
    defineRoute({
      method: 'patch',
      path: '/roles/:id',
      tag: 'roles',
      summary: 'Rename a role or change its description',
      permission: 'change_role',
      params: ById,
      body: UpdateRole,
      response: RoleWire,
      status: [200, 400, 401, 403, 404, 409, 412],
      current: show,
      handle: async ({ params, body, principal }) => ({ body: roleToWire(await roles.update(principal, params.id, body)) }),
    }),
    defineRoute({
      method: 'delete',
      path: '/roles/:id',
      tag: 'roles',
      summary: 'Delete a role',
      permission: 'delete_role',
      params: ById,
      status: [204, 400, 401, 403, 404, 412],
      current: show,
      async handle({ params, principal }) {
        await roles.delete(principal, params.id);
        return {};
      },
    }),
    defineRoute({
      method: 'get',
      path: '/roles/:id/permissions',
      tag: 'roles',
      summary: "List a role's permissions",
      permission: 'view_role',
      list: true,
      params: ById,
      query: listQuery(['codename'], {}),
      response: paginated(PermissionWire),
      status: [200, 400, 401, 403, 404],
      async handle({ params, query, ctx }) {
        const role = await roles.get(params.id);
        const held = role.permissions.length ? await permissions.resolve(role.permissions) : [];
        held.sort((a, b) => a.codename.localeCompare(b.codename));
        return { body: pageBody(ctx, pageOf(held, query), permissionToWire) };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/roles/:id/permissions',
      tag: 'roles',
      summary: 'Add permissions to a role (only ones you hold)',
      permission: 'change_role',
      params: ById,
      body: PermissionsBody,
      response: RoleWire,
      status: [200, 400, 401, 403, 404],
      handle: async ({ params, body, principal }) => ({
        body: roleToWire(await roles.addPermissions(principal, params.id, body.permissions)),
      }),
    }),
    defineRoute({
      method: 'put',
      path: '/roles/:id/permissions',
      tag: 'roles',
      summary: "Replace a role's permissions",
      permission: 'change_role',
      params: ById,
      body: PermissionsBody,
      response: RoleWire,
      status: [200, 400, 401, 403, 404, 412],
      current: show,
      handle: async ({ params, body, principal }) => ({
        body: roleToWire(await roles.setPermissions(principal, params.id, body.permissions)),
      }),
    }),
    defineRoute({
      method: 'delete',
      path: '/roles/:id/permissions/:codename',
      tag: 'roles',
      summary: 'Remove a permission from a role',
      permission: 'change_role',
      params: z.strictObject({ id: Id, codename: Codename }),
      status: [204, 400, 401, 403, 404],
      async handle({ params, principal }) {
        await roles.removePermissions(principal, params.id, [params.codename]);
        return {};
      },
    }),
    defineRoute({
      method: 'get',
      path: '/users/:id/roles',
      tag: 'roles',
      summary: "List a user's roles (your own without view_role)",
      permission: 'view_role',
      own: true,
      list: true,
      params: ById,
      query: listQuery(['name'], {}),
      response: paginated(RoleWire),
      status: [200, 400, 401, 403, 404],
      async handle({ params, query, principal, scope, ctx }) {
        await visibleUser(users, principal, scope, params.id);
        return { body: pageBody(ctx, pageOf(await roles.listForUser(params.id), query), roleToWire) };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/users/:id/roles',
      tag: 'roles',
      summary: 'Grant a role to a user (only a role whose every permission you hold)',
      permission: 'change_user',
      params: ById,
      body: z.strictObject({ role: Id }),
      response: RoleWire,
      status: [201, 400, 401, 403, 404],
      async handle({ params, body, principal }) {
        await roles.assign(principal, body.role, params.id);
        return { body: roleToWire(await roles.get(body.role)) };
      },
    }),
    defineRoute({
      method: 'delete',
      path: '/users/:id/roles/:roleId',
      tag: 'roles',
      summary: 'Withdraw a role from a user (only a role whose every permission you hold)',
      permission: 'change_user',
      params: z.strictObject({ id: Id, roleId: Id }),
      status: [204, 400, 401, 403, 404],
      async handle({ params, principal }) {
        await roles.unassign(principal, params.roleId, params.id);
        return {};
      },
    }),
  ];
}

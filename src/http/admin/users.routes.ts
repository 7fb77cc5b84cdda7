import { z } from 'zod';
import type { Services } from '../../container.ts';
import { userError } from '../../domain/users/user.errors.ts';
import { Email, Password, type User, Username } from '../../domain/users/user.schema.ts';
import { type AccessScope, defineRoute, type Principal } from './route.ts';
import { apiUrl, ById, bool, iso, listQuery, pageBody, pageOf, paginated, paging, QueryBool, Timestamp } from './wire.ts';

/**
 * GET    /users                 list (holders of view_user: everyone; others: themselves)
 * POST   /users                 create (username, email, password); never answers the hash
 * GET    /users/:id             one
 * PATCH  /users/:id             email, is_active, is_superuser (superusers only)
 * DELETE /users/:id             delete, with their tokens, roles and memberships
 * POST   /users/:id/password    set (or, with null, remove) the password
 */
export const UserWire = z.object({
  id: z.string(),
  type: z.literal('user'),
  url: z.string(),
  related: z.object({ roles: z.string(), tokens: z.string(), applications: z.string() }),
  username: z.string(),
  email: z.string().nullable(),
  is_active: z.boolean(),
  is_superuser: z.boolean(),
  has_password: z.boolean(),
  last_login_at: Timestamp,
  created_at: Timestamp,
  updated_at: Timestamp,
});
export type UserWire = z.infer<typeof UserWire>;

export function userToWire(user: User): UserWire {
  const url = apiUrl(`/users/${user.id}`);
  return {
    id: user.id,
    type: 'user',
    url,
    related: { roles: `${url}/roles`, tokens: `${url}/tokens`, applications: `${url}/applications` },
    username: user.username,
    email: user.email,
    is_active: user.isActive,
    is_superuser: user.isSuperuser,
    has_password: user.hasPassword,
    last_login_at: iso(user.lastLoginAt),
    created_at: iso(user.createdAt),
    updated_at: iso(user.updatedAt),
  };
}

export const CreateUserWire = z.strictObject({
  username: Username,
  email: Email.optional(),
  /** absent: the user cannot sign in with a password (API tokens only) */
  password: Password.optional(),
  is_active: z.boolean().optional(),
  is_superuser: z.boolean().optional(),
});

export const UpdateUserWire = z.strictObject({
  email: Email.nullable().optional(),
  is_active: z.boolean().optional(),
  is_superuser: z.boolean().optional(),
  username: z.never({ error: 'the username cannot change' }).optional(),
  password: z.never({ error: 'set it with POST /users/{id}/password' }).optional(),
});

export const SetPasswordWire = z.strictObject({ password: Password.nullable() });

/**
 * The user `id` as `principal` may see it: anyone, for holders of the route's codename; only
 * themselves otherwise (another user is a 404, as if absent).
 */
export async function visibleUser(users: Services['users'], principal: Principal, scope: AccessScope, id: string): Promise<User> {
  if (scope === 'own' && id !== principal.userId) throw userError('not_found', { id });
  return users.get(id);
}

export function userRoutes({ users }: Pick<Services, 'users'>) {
  const show = ({ principal, scope, params }: { principal: Principal; scope: AccessScope; params: { id: string } }) =>
    visibleUser(users, principal, scope, params.id).then(userToWire);
  return [
    defineRoute({
      method: 'get',
      path: '/users',
      tag: 'users',
      summary: 'List users (without the codename: only yourself)',
      permission: 'view_user',
      own: true,
      list: true,
      query: listQuery(['username', '-username', 'created', '-created'], {
        username: Username.optional().meta({ description: 'exactly this username' }),
        username_prefix: z.string().max(150).optional(),
        is_active: QueryBool.optional(),
      }),
      response: paginated(UserWire),
      status: [200, 400, 401, 403],
      async handle({ query, principal, scope, ctx }) {
        const orderBy = query.order_by && ({ created: 'createdAt', '-created': '-createdAt' } as const)[query.order_by as 'created'];
        const page =
          scope === 'own'
            ? pageOf(
                [await users.get(principal.userId as string)].filter(
                  (u) =>
                    (query.username === undefined || u.username === query.username) &&
                    (query.username_prefix === undefined || u.username.startsWith(query.username_prefix)) &&
                    (query.is_active === undefined || u.isActive === bool(query.is_active)),
                ),
                query,
              )
            : query.username !== undefined
              ? pageOf(
                  [await users.findByUsername(query.username)].filter((u): u is User => u !== null),
                  query,
                )
              : await users.list({
                  ...paging(query),
                  usernamePrefix: query.username_prefix,
                  isActive: bool(query.is_active),
                  orderBy: orderBy ?? (query.order_by as 'username' | '-username' | undefined),
                });
        return { body: pageBody(ctx, page, userToWire) };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/users',
      tag: 'users',
      summary: 'Create a user (a password is optional: without one, the user signs in only with API tokens)',
      permission: 'add_user',
      body: CreateUserWire,
      response: UserWire,
      status: [201, 400, 401, 403, 409],
      async handle({ body, principal }) {
        const user = await users.create(principal, {
          username: body.username,
          email: body.email,
          password: body.password,
          isActive: body.is_active,
          isSuperuser: body.is_superuser,
        });
        return { body: userToWire(user) };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/users/:id',
      tag: 'users',
      summary: 'Show one user',
      permission: 'view_user',
      own: true,
      params: ById,
      response: UserWire,
      status: [200, 400, 401, 403, 404],
      handle: async (input) => ({ body: await show(input) }),
    }),
    defineRoute({
      method: 'patch',
      path: '/users/:id',
      tag: 'users',
      summary: "Change a user's email, active flag or (superusers only) superuser flag",
      permission: 'change_user',
      own: true,
      params: ById,
      body: UpdateUserWire,
      response: UserWire,
      status: [200, 400, 401, 403, 404, 409, 412],
      current: show,
      async handle({ params, body, principal, scope }) {
        await visibleUser(users, principal, scope, params.id);
        const user = await users.change(principal, params.id, {
          email: body.email,
          isActive: body.is_active,
          isSuperuser: body.is_superuser,
        });
        return { body: userToWire(user) };
      },
    }),
    defineRoute({
      method: 'delete',
      path: '/users/:id',
      tag: 'users',
      summary: 'Delete a user with their tokens, role assignments and memberships',
      permission: 'delete_user',
      params: ById,
      status: [204, 400, 401, 403, 404, 412],
      current: show,
      async handle({ params, principal }) {
        await users.delete(principal, params.id);
        return {};
      },
    }),
    defineRoute({
      method: 'post',
      path: '/users/:id/password',
      tag: 'users',
      summary: "Set a user's password (null removes it); yours, or, with change_user, another's you may act on",
      permission: 'change_user',
      own: true,
      params: ById,
      body: SetPasswordWire,
      status: [204, 400, 401, 403, 404],
      async handle({ params, body, principal, scope }) {
        await visibleUser(users, principal, scope, params.id);
        await users.setPassword(principal, params.id, body.password);
        return {};
      },
    }),
  ];
}

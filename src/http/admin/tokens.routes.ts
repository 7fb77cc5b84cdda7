import { z } from 'zod';
import type { Services } from '../../container.ts';
import type { Principal } from '../../domain/access/principal.ts';
import { apiTokenError } from '../../domain/api-tokens/api-token.errors.ts';
import { type ApiToken, ApiTokenScope } from '../../domain/api-tokens/api-token.schema.ts';
import { Codename } from '../../domain/permissions/codename.ts';
import { type AccessScope, defineRoute } from './route.ts';
import { visibleUser } from './users.routes.ts';
import { apiUrl, ById, bool, Id, iso, listQuery, pageBody, paginated, paging, QueryBool, Timestamp } from './wire.ts';

/**
 * GET    /tokens                     list (without view_token: yours)
 * POST   /tokens                     create { user, scope, permissions?, application?, expires_in_seconds?, name? }
 * GET    /tokens/:id                 one (masked)
 * DELETE /tokens/:id                 delete (declared ones: remove their AUTH_TOKENS line, or revoke)
 * POST   /tokens/:id/revocation      revoke: it stops working at once, and stays listed as revoked
 * GET    /users/:id/tokens           a user's tokens
 * POST   /users/:id/tokens           create one for that user
 *
 * A token's secret is in its create answer only; every other answer shows `"************"`.
 * Creating a token for someone else is acting as them: the API token service refuses a token that
 * would hold anything the caller does not hold (403 `api_token.escalation`).
 */
export const MASK = '************';

export const TokenWire = z.object({
  id: z.string(),
  type: z.literal('token'),
  url: z.string(),
  user: z.string(),
  application: z.string().nullable(),
  name: z.string(),
  /** the secret in the create answer; `"************"` everywhere else */
  token: z.string(),
  prefix: z.string(),
  scope: ApiTokenScope,
  permissions: z.array(z.string()),
  is_declared: z.boolean(),
  expires_at: Timestamp,
  last_used_at: Timestamp,
  last_used_ip: z.string().nullable(),
  revoked_at: Timestamp,
  created_at: Timestamp,
});
export type TokenWire = z.infer<typeof TokenWire>;

export function tokenToWire(token: ApiToken, secret?: string): TokenWire {
  return {
    id: token.id,
    type: 'token',
    url: apiUrl(`/tokens/${token.id}`),
    user: token.userId,
    application: token.applicationId,
    name: token.name,
    token: secret ?? MASK,
    prefix: token.prefix,
    scope: token.scope,
    permissions: token.permissions,
    is_declared: token.isDeclared,
    expires_at: iso(token.expiresAt),
    last_used_at: iso(token.lastUsedAt),
    last_used_ip: token.lastUsedIp,
    revoked_at: iso(token.revokedAt),
    created_at: iso(token.createdAt),
  };
}

const TokenFields = {
  name: z.string().trim().max(200).optional(),
  scope: ApiTokenScope.default('write'),
  permissions: z.array(Codename).min(1).max(500).optional().meta({ description: 'narrow the token to these codenames' }),
  application: Id.optional().meta({ description: 'bind the token to an application: it ends with it' }),
  expires_in_seconds: z
    .number()
    .int()
    .min(60)
    .max(86400 * 3660)
    .optional(),
};
export const CreateTokenWire = z.strictObject({ user: Id, ...TokenFields });
export const CreateUserTokenWire = z.strictObject(TokenFields);
/** POST /applications/{id}/tokens: only the scope; the application is linked, the caller is the user. */
export const CreateApplicationTokenWire = z.strictObject({ scope: ApiTokenScope.default('write') });

export const TokenQuery = listQuery(['-created'], {
  user: Id.optional(),
  application: Id.optional(),
  include_inactive: QueryBool.optional().meta({ description: 'also list revoked and expired tokens' }),
});

/** The token `id` if the caller may see it: holders of the codename, and the token's own user. */
async function visibleToken(apiTokens: Services['apiTokens'], principal: Principal, scope: AccessScope, id: string): Promise<ApiToken> {
  const token = await apiTokens.get(id);
  if (scope === 'own' && token.userId !== principal.userId) throw apiTokenError('not_found', { id });
  return token;
}

export type CreateTokenBody = z.infer<typeof CreateUserTokenWire>;

/** Creates a token for `userId`; with only `own` scope, the caller must be that user. */
export async function createToken(
  { apiTokens }: Pick<Services, 'apiTokens'>,
  principal: Principal,
  scope: AccessScope,
  userId: string,
  body: Partial<CreateTokenBody> & { scope: 'read' | 'write' },
  applicationId?: string,
) {
  if (scope === 'own' && userId !== principal.userId) throw apiTokenError('escalation');
  const { token, secret } = await apiTokens.create(principal, {
    userId,
    name: body.name,
    scope: body.scope,
    permissions: body.permissions,
    applicationId: applicationId ?? body.application,
    expiresInSeconds: body.expires_in_seconds,
  });
  return tokenToWire(token, secret);
}

export function tokenRoutes({ apiTokens, users }: Pick<Services, 'apiTokens' | 'users'>) {
  const show = async ({ principal, scope, params }: { principal: Principal; scope: AccessScope; params: { id: string } }) =>
    tokenToWire(await visibleToken(apiTokens, principal, scope, params.id));
  return [
    defineRoute({
      method: 'get',
      path: '/tokens',
      tag: 'tokens',
      summary: 'List API tokens, newest first (without view_token: yours); secrets are masked',
      permission: 'view_token',
      own: true,
      list: true,
      query: TokenQuery,
      response: paginated(TokenWire),
      status: [200, 400, 401, 403],
      async handle({ query, principal, scope, ctx }) {
        const userId = scope === 'own' ? (principal.userId as string) : query.user;
        // someone else's tokens, asked for without the codename: an empty list, as if none existed
        const page =
          scope === 'own' && query.user !== undefined && query.user !== principal.userId
            ? { items: [], count: 0, page: query.page, pageSize: query.page_size }
            : await apiTokens.list(
                { userId, applicationId: query.application },
                { ...paging(query), includeInactive: bool(query.include_inactive) },
              );
        return { body: pageBody(ctx, page, (t) => tokenToWire(t)) };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/tokens',
      tag: 'tokens',
      summary: 'Create an API token for a user (yourself, or one you may act on); the answer carries its secret, once',
      permission: 'add_token',
      own: true,
      body: CreateTokenWire,
      response: TokenWire,
      status: [201, 400, 401, 403, 404],
      handle: async ({ body, principal, scope }) => ({ body: await createToken({ apiTokens }, principal, scope, body.user, body) }),
    }),
    defineRoute({
      method: 'get',
      path: '/tokens/:id',
      tag: 'tokens',
      summary: 'Show one API token (masked)',
      permission: 'view_token',
      own: true,
      params: ById,
      response: TokenWire,
      status: [200, 400, 401, 403, 404],
      handle: async (input) => ({ body: await show(input) }),
    }),
    defineRoute({
      method: 'delete',
      path: '/tokens/:id',
      tag: 'tokens',
      summary: 'Delete an API token (a declared one: revoke it, or remove its AUTH_TOKENS line)',
      permission: 'delete_token',
      own: true,
      params: ById,
      status: [204, 400, 401, 403, 404, 409, 412],
      current: show,
      async handle({ params, principal, scope }) {
        await visibleToken(apiTokens, principal, scope, params.id);
        await apiTokens.delete(principal, params.id);
        return {};
      },
    }),
    defineRoute({
      method: 'post',
      path: '/tokens/:id/revocation',
      tag: 'tokens',
      summary: 'Revoke an API token: it stops working at once (idempotent)',
      permission: 'delete_token',
      own: true,
      params: ById,
      response: TokenWire,
      status: [200, 400, 401, 403, 404],
      async handle({ params, principal, scope }) {
        await visibleToken(apiTokens, principal, scope, params.id);
        return { body: tokenToWire(await apiTokens.revoke(principal, params.id)) };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/users/:id/tokens',
      tag: 'tokens',
      summary: "List a user's API tokens (your own without view_token)",
      permission: 'view_token',
      own: true,
      list: true,
      params: ById,
      query: listQuery(['-created'], { include_inactive: QueryBool.optional() }),
      response: paginated(TokenWire),
      status: [200, 400, 401, 403, 404],
      async handle({ params, query, principal, scope, ctx }) {
        await visibleUser(users, principal, scope, params.id);
        const page = await apiTokens.listForUser(params.id, { ...paging(query), includeInactive: bool(query.include_inactive) });
        return { body: pageBody(ctx, page, (t) => tokenToWire(t)) };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/users/:id/tokens',
      tag: 'tokens',
      summary: 'Create an API token for this user; the answer carries its secret, once',
      permission: 'add_token',
      own: true,
      params: ById,
      body: CreateUserTokenWire,
      response: TokenWire,
      status: [201, 400, 401, 403, 404],
      async handle({ params, body, principal, scope }) {
        await visibleUser(users, principal, scope, params.id);
        return { body: await createToken({ apiTokens }, principal, scope, params.id, body) };
      },
    }),
  ];
}

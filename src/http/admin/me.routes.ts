import type { Context } from 'koa';
import { z } from 'zod';
import type { AccessService } from '../../domain/access/access.service.ts';
import type { Principal } from '../../domain/access/principal.ts';
import { defineRoute } from './route.ts';
import { iso, Timestamp } from './wire.ts';

/**
 * GET /me     who the caller is: identity, roles, organisations and effective permissions, with the
 *             credential's narrowing applied (a `read` token lists only `view_*` codenames); for the
 *             browser session, the CSRF token its unsafe requests send (middleware/authenticate.ts)
 */
export const MeWire = z.object({
  /** how audit records name the caller */
  actor: z.string(),
  credential: z.object({
    type: z.enum(['token', 'bearer', 'basic', 'session', 'operator']),
    /** the API token's id (`token`) */
    id: z.string().optional(),
    /** `read` or `write` for an API token; the access token's scope for `bearer` */
    scope: z.string().optional(),
    /** the client the access token was issued to (`bearer`) */
    client_id: z.string().optional(),
    expires_at: Timestamp.optional(),
    /** `session`: send it as `X-CSRF-Token` with every POST, PUT, PATCH and DELETE made with the session */
    csrf_token: z.string().optional(),
  }),
  /** the user the caller acts as; null for an application acting for itself and the local operator */
  user: z.object({ id: z.string(), username: z.string(), is_superuser: z.boolean() }).nullable(),
  /** the application acting for itself (a client-credentials token), or the one an API token is bound to */
  application: z.object({ id: z.string(), client_id: z.string().nullable() }).nullable(),
  roles: z.array(z.string()),
  organizations: z.array(z.object({ id: z.string(), name: z.string(), role: z.enum(['admin', 'member']) })),
  /** whether this credential holds every permission (a narrowed superuser credential does not) */
  is_superuser: z.boolean(),
  /** may only read (GET) and ask (access checks): a `read`-scoped credential */
  read_only: z.boolean(),
  /** the codenames this credential holds, sorted */
  permissions: z.array(z.string()),
});
export type MeWire = z.infer<typeof MeWire>;

async function describeCaller(access: Pick<AccessService, 'effectivePermissions'>, principal: Principal, ctx: Context): Promise<MeWire> {
  const credential = ctx.state.credential ?? { kind: 'operator' as const };
  const userId = principal.userId;
  const person = userId ? await access.effectivePermissions(userId) : null;
  const base = {
    actor: principal.actor,
    user: person ? { id: person.userId, username: person.username, is_superuser: person.isSuperuser } : null,
    application: null as MeWire['application'],
    roles: person?.roles ?? [],
    organizations: person?.organizations ?? [],
    is_superuser: principal.isSuperuser,
    read_only: false,
    permissions: [...principal.permissions].sort(),
  };
  switch (credential.kind) {
    case 'token':
      return {
        ...base,
        credential: { type: 'token', id: credential.tokenId, scope: credential.scope, expires_at: iso(credential.expiresAt) },
        application: credential.applicationId ? { id: credential.applicationId, client_id: null } : null,
        read_only: credential.scope === 'read',
      };
    case 'bearer':
      return {
        ...base,
        credential: { type: 'bearer', scope: credential.scope, client_id: credential.clientId, expires_at: iso(credential.expiresAt) },
        application: credential.applicationId ? { id: credential.applicationId, client_id: credential.clientId } : null,
        read_only: credential.readOnly,
      };
    case 'basic':
      return { ...base, credential: { type: 'basic' } };
    case 'session':
      return { ...base, credential: { type: 'session', expires_at: iso(credential.expiresAt), csrf_token: credential.csrfToken } };
    default:
      return { ...base, credential: { type: 'operator' } };
  }
}

export function meRoutes({ access }: { access: Pick<AccessService, 'effectivePermissions'> }) {
  return [
    defineRoute({
      method: 'get',
      path: '/me',
      summary: "The caller's identity, roles, organisations and effective permissions",
      permission: null,
      response: MeWire,
      status: [200],
      handle: async ({ principal, ctx }) => ({ body: await describeCaller(access, principal, ctx) }),
    }),
  ];
}

import { z } from 'zod';
import type { Services } from '../../container.ts';
import type { Principal } from '../../domain/access/principal.ts';
import { organizationError } from '../../domain/organizations/organization.errors.ts';
import {
  CreateOrganization,
  type Membership,
  MembershipRole,
  type Organization,
  UpdateOrganization,
} from '../../domain/organizations/organization.schema.ts';
import { type AccessScope, defineRoute } from './route.ts';
import { apiUrl, ById, Id, iso, listQuery, pageBody, pageOf, paginated, paging, Timestamp } from './wire.ts';

/**
 * GET    /organizations                        list (without view_organization: yours)
 * POST   /organizations                        create (a user creating one becomes its admin)
 * GET    /organizations/:id                    one
 * PATCH  /organizations/:id                    rename (superusers and its admins)
 * DELETE /organizations/:id                    delete (superusers and its admins)
 * GET    /organizations/:id/members            its members
 * POST   /organizations/:id/members            add { user, role: admin|member }
 * PATCH  /organizations/:id/members/:userId    change a member's role
 * DELETE /organizations/:id/members/:userId    remove a member (anyone may leave)
 *
 * The organisation service decides who manages what (its admins, superusers) and refuses to bring
 * anyone who holds more than the caller under the caller's administration (no self-escalation).
 * An organisation you do not belong to is a 404.
 */
export const OrganizationWire = z.object({
  id: z.string(),
  type: z.literal('organization'),
  url: z.string(),
  related: z.object({ members: z.string() }),
  name: z.string(),
  created_at: Timestamp,
  updated_at: Timestamp,
});

export const MemberWire = z.object({
  type: z.literal('membership'),
  url: z.string(),
  organization: z.string(),
  user: z.string(),
  username: z.string(),
  role: MembershipRole,
  created_at: Timestamp,
});

function organizationToWire(o: Organization): z.infer<typeof OrganizationWire> {
  const url = apiUrl(`/organizations/${o.id}`);
  return {
    id: o.id,
    type: 'organization',
    url,
    related: { members: `${url}/members` },
    name: o.name,
    created_at: iso(o.createdAt),
    updated_at: iso(o.updatedAt),
  };
}

function memberToWire(m: Membership): z.infer<typeof MemberWire> {
  return {
    type: 'membership',
    url: apiUrl(`/organizations/${m.organizationId}/members/${m.userId}`),
    organization: m.organizationId,
    user: m.userId,
    username: m.username,
    role: m.role,
    created_at: iso(m.createdAt),
  };
}

const MemberPath = z.strictObject({ id: Id, userId: Id });

export function organizationRoutes({ organizations }: Pick<Services, 'organizations'>) {
  /** The organisation, if the caller may see it: holders of view_organization, and its members. */
  async function visible(principal: Principal, scope: AccessScope, id: string): Promise<Organization> {
    const organization = await organizations.get(id);
    if (scope === 'all') return organization;
    const membership = principal.userId ? await organizations.findMembership(id, principal.userId) : null;
    if (!membership) throw organizationError('not_found', { id });
    return organization;
  }
  const show = async ({ principal, scope, params }: { principal: Principal; scope: AccessScope; params: { id: string } }) =>
    organizationToWire(await visible(principal, scope, params.id));
  const showMember = async ({
    principal,
    scope,
    params,
  }: {
    principal: Principal;
    scope: AccessScope;
    params: { id: string; userId: string };
  }) => {
    await visible(principal, scope, params.id);
    const membership = await organizations.findMembership(params.id, params.userId);
    if (!membership) throw organizationError('not_member');
    return memberToWire(membership);
  };

  return [
    defineRoute({
      method: 'get',
      path: '/organizations',
      tag: 'organizations',
      summary: 'List organizations (without view_organization: the ones you belong to)',
      permission: 'view_organization',
      own: true,
      list: true,
      query: listQuery(['name'], { name_prefix: z.string().max(150).optional() }),
      response: paginated(OrganizationWire),
      status: [200, 400, 401, 403],
      async handle({ query, principal, scope, ctx }) {
        if (scope === 'all') {
          return { body: pageBody(ctx, await organizations.list({ ...paging(query), namePrefix: query.name_prefix }), organizationToWire) };
        }
        const mine = (await organizations.listForUser(principal.userId as string)).filter(
          (o) => query.name_prefix === undefined || o.name.startsWith(query.name_prefix),
        );
        const page = pageOf(mine, query);
        const items = await Promise.all(page.items.map((o) => organizations.get(o.id)));
        return { body: pageBody(ctx, { ...page, items }, organizationToWire) };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/organizations',
      tag: 'organizations',
      summary: 'Create an organization; a user creating it becomes its admin',
      permission: 'add_organization',
      body: CreateOrganization,
      response: OrganizationWire,
      status: [201, 400, 401, 403, 409],
      handle: async ({ body, principal }) => ({ body: organizationToWire(await organizations.create(principal, body)) }),
    }),
    defineRoute({
      method: 'get',
      path: '/organizations/:id',
      tag: 'organizations',
      summary: 'Show one organization',
      permission: 'view_organization',
      own: true,
      params: ById,
      response: OrganizationWire,
      status: [200, 400, 401, 403, 404],
      handle: async (input) => ({ body: await show(input) }),
    }),
    defineRoute({
      method: 'patch',
      path: '/organizations/:id',
      tag: 'organizations',
      summary: 'Rename an organization (superusers and its admins)',
      permission: 'change_organization',
      own: true,
      params: ById,
      body: UpdateOrganization,
      response: OrganizationWire,
      status: [200, 400, 401, 403, 404, 409, 412],
      current: show,
      handle: async ({ params, body, principal }) => ({ body: organizationToWire(await organizations.rename(principal, params.id, body)) }),
    }),
    defineRoute({
      method: 'delete',
      path: '/organizations/:id',
      tag: 'organizations',
      summary: 'Delete an organization (superusers and its admins); its applications stay, without one',
      permission: 'delete_organization',
      own: true,
      params: ById,
      status: [204, 400, 401, 403, 404, 412],
      current: show,
      async handle({ params, principal }) {
        await organizations.delete(principal, params.id);
        return {};
      },
    }),
    defineRoute({
      method: 'get',
      path: '/organizations/:id/members',
      tag: 'organizations',
      summary: "List an organization's members",
      permission: 'view_organization',
      own: true,
      list: true,
      params: ById,
      query: listQuery(['username'], { role: MembershipRole.optional() }),
      response: paginated(MemberWire),
      status: [200, 400, 401, 403, 404],
      async handle({ params, query, principal, scope, ctx }) {
        await visible(principal, scope, params.id);
        return { body: pageBody(ctx, await organizations.listMembers(params.id, { ...paging(query), role: query.role }), memberToWire) };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/organizations/:id/members',
      tag: 'organizations',
      summary: 'Add a member (superusers and its admins; only a user who holds nothing you lack)',
      permission: 'change_organization',
      own: true,
      params: ById,
      body: z.strictObject({ user: Id, role: MembershipRole.default('member') }),
      response: MemberWire,
      status: [201, 400, 401, 403, 404, 409],
      handle: async ({ params, body, principal }) => ({
        body: memberToWire(await organizations.addMember(principal, params.id, body.user, body.role)),
      }),
    }),
    defineRoute({
      method: 'patch',
      path: '/organizations/:id/members/:userId',
      tag: 'organizations',
      summary: "Change a member's role",
      permission: 'change_organization',
      own: true,
      params: MemberPath,
      body: z.strictObject({ role: MembershipRole }),
      response: MemberWire,
      status: [200, 400, 401, 403, 404, 409, 412],
      current: showMember,
      handle: async ({ params, body, principal }) => ({
        body: memberToWire(await organizations.updateMember(principal, params.id, params.userId, body.role)),
      }),
    }),
    defineRoute({
      method: 'delete',
      path: '/organizations/:id/members/:userId',
      tag: 'organizations',
      summary: 'Remove a member (superusers and its admins); anyone may remove themselves',
      permission: 'change_organization',
      own: true,
      params: MemberPath,
      status: [204, 400, 401, 403, 404, 409],
      async handle({ params, principal }) {
        await organizations.removeMember(principal, params.id, params.userId);
        return {};
      },
    }),
  ];
}

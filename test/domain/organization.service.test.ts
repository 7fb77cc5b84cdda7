import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { operatorPrincipal, systemPrincipal } from '../../src/domain/access/principal.ts';
import { AppError } from '../../src/lib/app-error.ts';
import { makeUser, openIdentity, principalOf, unique } from '../support/identity.ts';

const code = (promise: Promise<unknown>) =>
  promise.then(
    () => 'resolved',
    (err: unknown) => (err instanceof AppError ? err.code : String(err)),
  );

describe('organization service', () => {
  let env: Awaited<ReturnType<typeof openIdentity>>;
  beforeAll(async () => {
    env = await openIdentity();
    await env.permissions.ensureBuiltIn();
  });
  afterAll(() => env?.close());

  /** An organisation created by a fresh user holding `permissions`, who is its admin. */
  const orgWithAdmin = async (permissions: string[] = ['view_user']) => {
    const admin = await makeUser(env, { permissions });
    const principal = await principalOf(env, admin.id);
    const org = await env.organizations.create(principal, { name: unique('org') });
    return { org, admin, principal };
  };

  it('makes its creator its admin; the operator creates one without admins', async () => {
    const { org, admin } = await orgWithAdmin();
    expect(await env.organizations.listForUser(admin.id)).toEqual([{ id: org.id, name: org.name, role: 'admin' }]);
    const bare = await env.organizations.create(operatorPrincipal('root'), { name: unique('org') });
    expect((await env.organizations.listMembers(bare.id, { page: 1, pageSize: 10 })).count).toBe(0);
    expect(await code(env.organizations.create(systemPrincipal, { name: org.name }))).toBe('organization.name_taken');
  });

  it('an admin adds, changes and removes members', async () => {
    const { org, principal } = await orgWithAdmin(['view_user', 'change_user']);
    const member = await makeUser(env, { permissions: ['view_user'] });
    expect((await env.organizations.addMember(principal, org.id, member.id)).role).toBe('member');
    expect(await code(env.organizations.addMember(principal, org.id, member.id))).toBe('organization.already_member');
    expect((await env.organizations.updateMember(principal, org.id, member.id, 'admin')).role).toBe('admin');
    await env.organizations.removeMember(principal, org.id, member.id);
    expect(await env.organizations.findMembership(org.id, member.id)).toBeNull();
    expect(await code(env.organizations.removeMember(principal, org.id, member.id))).toBe('organization.not_member');
  });

  it('an outsider is told the organisation does not exist; a member that they are not its admin', async () => {
    const { org, principal } = await orgWithAdmin();
    const outsider = await principalOf(env, (await makeUser(env)).id);
    const target = await makeUser(env);
    expect(await code(env.organizations.addMember(outsider, org.id, target.id))).toBe('organization.not_found');
    expect(await code(env.organizations.rename(outsider, org.id, { name: unique() }))).toBe('organization.not_found');
    const member = await makeUser(env);
    await env.organizations.addMember(principal, org.id, member.id);
    const memberPrincipal = await principalOf(env, member.id);
    expect(await code(env.organizations.addMember(memberPrincipal, org.id, target.id))).toBe('organization.not_admin');
    expect(await code(env.organizations.delete(memberPrincipal, org.id))).toBe('organization.not_admin');
  });

  it('an admin of one organisation cannot manage another', async () => {
    const first = await orgWithAdmin();
    const second = await orgWithAdmin();
    const someone = await makeUser(env);
    expect(await code(env.organizations.addMember(first.principal, second.org.id, someone.id, 'admin'))).toBe('organization.not_found');
    await env.organizations.addMember(second.principal, second.org.id, someone.id);
    expect(await code(env.organizations.updateMember(first.principal, second.org.id, someone.id, 'admin'))).toBe('organization.not_found');
  });

  it('an admin cannot bring in, or promote, a user holding more than they do, or a superuser', async () => {
    const { org, principal } = await orgWithAdmin(['view_user']);
    const stronger = await makeUser(env, { permissions: ['view_user', 'delete_user'] });
    expect(await code(env.organizations.addMember(principal, org.id, stronger.id))).toBe('organization.escalation');
    const root = await makeUser(env, { isSuperuser: true });
    expect(await code(env.organizations.addMember(principal, org.id, root.id))).toBe('organization.escalation');
    await env.organizations.addMember(systemPrincipal, org.id, stronger.id);
    expect(await code(env.organizations.updateMember(principal, org.id, stronger.id, 'admin'))).toBe('organization.escalation');
    // demoting or removing them takes nothing from the admin's reach: allowed
    await env.organizations.removeMember(principal, org.id, stronger.id);
  });

  it('keeps at least one admin; anyone may leave otherwise', async () => {
    const { org, admin, principal } = await orgWithAdmin();
    expect(await code(env.organizations.removeMember(principal, org.id, admin.id))).toBe('organization.last_admin');
    expect(await code(env.organizations.updateMember(principal, org.id, admin.id, 'member'))).toBe('organization.last_admin');
    const member = await makeUser(env);
    await env.organizations.addMember(principal, org.id, member.id);
    await env.organizations.removeMember(await principalOf(env, member.id), org.id, member.id);
    const second = await makeUser(env);
    await env.organizations.addMember(principal, org.id, second.id, 'admin');
    await env.organizations.removeMember(principal, org.id, admin.id);
    expect((await env.organizations.listMembers(org.id, { page: 1, pageSize: 10 })).items.map((m) => m.userId)).toEqual([second.id]);
  });

  it('an admin renames and deletes their organisation; a superuser any', async () => {
    const { org, principal } = await orgWithAdmin();
    const renamed = await env.organizations.rename(principal, org.id, { name: `${org.name}-x` });
    expect(renamed.name).toBe(`${org.name}-x`);
    await env.organizations.delete(principal, org.id);
    expect(await code(env.organizations.get(org.id))).toBe('organization.not_found');
    const other = await orgWithAdmin();
    const root = await principalOf(env, (await makeUser(env, { isSuperuser: true })).id);
    await env.organizations.delete(root, other.org.id);
    expect(await env.organizations.listForUser(other.admin.id)).toEqual([]);
  });

  it('lists organisations and members by page', async () => {
    const prefix = unique('lo');
    for (const s of ['b', 'a', 'c']) await env.organizations.create(systemPrincipal, { name: `${prefix}${s}` });
    const page = await env.organizations.list({ page: 2, pageSize: 2, namePrefix: prefix });
    expect(page).toMatchObject({ count: 3, page: 2 });
    expect(page.items.map((o) => o.name)).toEqual([`${prefix}c`]);
    expect(await code(env.organizations.listMembers('org_missing', { page: 1, pageSize: 10 }))).toBe('organization.not_found');
  });

  it('writes an audit record for each change, naming the actor', async () => {
    const { org, principal, admin } = await orgWithAdmin();
    const member = await makeUser(env);
    await env.organizations.addMember(principal, org.id, member.id);
    const events = await env.db.prisma.auditEvent.findMany({ where: { targetId: org.id }, orderBy: { at: 'asc' } });
    expect(events.map((e) => [e.action, e.actor])).toEqual([
      ['organization.created', `user:${admin.id}`],
      ['organization.member_added', `user:${admin.id}`],
    ]);
  });
});

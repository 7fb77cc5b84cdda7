import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemPrincipal } from '../../src/domain/access/principal.ts';
import { AppError } from '../../src/lib/app-error.ts';
import { makeUser, openIdentity, principalOf, unique } from '../support/identity.ts';

const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => null,
    (err: unknown) => (err instanceof AppError ? { code: err.code, details: err.details } : { code: String(err) }),
  );

describe('role service', () => {
  let env: Awaited<ReturnType<typeof openIdentity>>;
  beforeAll(async () => {
    env = await openIdentity();
    await env.permissions.ensureBuiltIn();
  });
  afterAll(() => env?.close());

  /** A role manager holding change_role, add_role, view_user, but not delete_user. */
  const manager = async () => principalOf(env, (await makeUser(env, { permissions: ['change_role', 'add_role', 'view_user'] })).id);

  describe('no self-escalation', () => {
    it('a user with change_role but not delete_user cannot add delete_user to a role', async () => {
      const me = await manager();
      const role = await env.roles.create(me, { name: unique('r'), permissions: ['view_user'] });
      expect(await failure(env.roles.addPermissions(me, role.id, ['delete_user']))).toEqual({
        code: 'role.escalation',
        details: { codenames: ['delete_user'] },
      });
      expect(await failure(env.roles.setPermissions(me, role.id, ['view_user', 'delete_user']))).toMatchObject({ code: 'role.escalation' });
      expect((await env.roles.get(role.id)).permissions).toEqual(['view_user']);
    });

    it('nor grant a role containing it, to anyone or to themselves', async () => {
      const me = await manager();
      const powerful = await env.roles.create(systemPrincipal, { name: unique('r'), permissions: ['view_user', 'delete_user'] });
      const someone = await makeUser(env);
      expect(await failure(env.roles.assign(me, powerful.id, someone.id))).toMatchObject({ code: 'role.escalation' });
      expect(await failure(env.roles.assign(me, powerful.id, me.userId as string))).toMatchObject({ code: 'role.escalation' });
      expect(await env.roles.listForUser(someone.id)).toEqual([]);
      expect((await env.access.effectivePermissions(me.userId as string))?.permissions.has('delete_user')).toBe(false);
    });

    it('nor create a role with it', async () => {
      const me = await manager();
      const name = unique('r');
      expect(await failure(env.roles.create(me, { name, permissions: ['delete_user'] }))).toMatchObject({ code: 'role.escalation' });
      expect(await env.roles.findByName(name)).toBeNull();
    });

    it('nor rename, delete, trim or withdraw a role holding more than they do', async () => {
      const me = await manager();
      const powerful = await env.roles.create(systemPrincipal, { name: unique('r'), permissions: ['view_user', 'delete_user'] });
      const holder = await makeUser(env);
      await env.roles.assign(systemPrincipal, powerful.id, holder.id);
      expect(await failure(env.roles.update(me, powerful.id, { name: unique('mine') }))).toMatchObject({ code: 'role.escalation' });
      expect(await failure(env.roles.delete(me, powerful.id))).toMatchObject({ code: 'role.escalation' });
      expect(await failure(env.roles.removePermissions(me, powerful.id, ['view_user']))).toMatchObject({ code: 'role.escalation' });
      expect(await failure(env.roles.unassign(me, powerful.id, holder.id))).toMatchObject({ code: 'role.escalation' });
    });

    it('may do all of it with permissions they hold', async () => {
      const me = await manager();
      const role = await env.roles.create(me, { name: unique('r'), permissions: ['view_user'] });
      expect((await env.roles.addPermissions(me, role.id, ['change_role'])).permissions).toEqual(['change_role', 'view_user']);
      const someone = await makeUser(env);
      await env.roles.assign(me, role.id, someone.id);
      expect((await env.access.effectivePermissions(someone.id))?.permissions).toEqual(new Set(['change_role', 'view_user']));
      expect((await env.roles.removePermissions(me, role.id, ['change_role'])).permissions).toEqual(['view_user']);
      expect((await env.access.effectivePermissions(someone.id))?.permissions).toEqual(new Set(['view_user']));
      await env.roles.unassign(me, role.id, someone.id);
      expect((await env.access.effectivePermissions(someone.id))?.permissions).toEqual(new Set());
      await env.roles.delete(me, role.id);
    });

    it('a superuser may grant anything', async () => {
      const root = await principalOf(env, (await makeUser(env, { isSuperuser: true })).id);
      const role = await env.roles.create(root, { name: unique('r'), permissions: ['delete_user'] });
      const someone = await makeUser(env);
      await env.roles.assign(root, role.id, someone.id);
      expect((await env.access.effectivePermissions(someone.id))?.permissions.has('delete_user')).toBe(true);
    });

    it('a narrowed principal holds only its narrowed permissions', async () => {
      const user = await makeUser(env, { permissions: ['change_role', 'view_user', 'delete_user'] });
      const readOnly = { ...(await principalOf(env, user.id)), permissions: new Set(['view_user']) };
      const role = await env.roles.create(systemPrincipal, { name: unique('r'), permissions: ['view_user'] });
      expect(await failure(env.roles.addPermissions(readOnly, role.id, ['delete_user']))).toMatchObject({ code: 'role.escalation' });
    });
  });

  it('refuses unknown codenames, naming them', async () => {
    const role = await env.roles.create(systemPrincipal, { name: unique('r') });
    expect(await failure(env.roles.addPermissions(systemPrincipal, role.id, ['view_user', 'fly_spaceship']))).toEqual({
      code: 'permission.unknown_codenames',
      details: { codenames: ['fly_spaceship'] },
    });
  });

  it('refuses a taken name, an unknown role and an unknown user', async () => {
    const role = await env.roles.create(systemPrincipal, { name: unique('r') });
    expect(await failure(env.roles.create(systemPrincipal, { name: role.name }))).toMatchObject({ code: 'role.name_taken' });
    const other = await env.roles.create(systemPrincipal, { name: unique('r') });
    expect(await failure(env.roles.update(systemPrincipal, other.id, { name: role.name }))).toMatchObject({ code: 'role.name_taken' });
    expect(await failure(env.roles.get('role_missing'))).toMatchObject({ code: 'role.not_found' });
    expect(await failure(env.roles.assign(systemPrincipal, role.id, 'usr_missing'))).toMatchObject({ code: 'user.not_found' });
    expect(await failure(env.roles.delete(systemPrincipal, 'role_missing'))).toMatchObject({ code: 'role.not_found' });
  });

  it('assigns idempotently and audits each real change in its transaction', async () => {
    const role = await env.roles.create(systemPrincipal, { name: unique('r'), permissions: ['view_user'] });
    const user = await makeUser(env);
    await env.roles.assign(systemPrincipal, role.id, user.id);
    await env.roles.assign(systemPrincipal, role.id, user.id);
    await env.roles.unassign(systemPrincipal, role.id, user.id);
    await env.roles.unassign(systemPrincipal, role.id, user.id);
    const events = await env.db.prisma.auditEvent.findMany({
      where: { targetId: user.id, action: { startsWith: 'role.' } },
      orderBy: { at: 'asc' },
    });
    expect(events.map((e) => [e.action, e.actor])).toEqual([
      ['role.assigned', 'system'],
      ['role.unassigned', 'system'],
    ]);
  });

  it('lists roles by page and a user’s roles', async () => {
    const prefix = unique('lr');
    for (const s of ['b', 'a']) await env.roles.create(systemPrincipal, { name: `${prefix}${s}` });
    const page = await env.roles.list({ page: 1, pageSize: 1, namePrefix: prefix });
    expect(page).toMatchObject({ count: 2, page: 1, pageSize: 1 });
    expect(page.items[0]?.name).toBe(`${prefix}a`);
    expect(await failure(env.roles.listForUser('usr_missing'))).toMatchObject({ code: 'user.not_found' });
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemPrincipal } from '../../src/domain/access/principal.ts';
import { createAuditService } from '../../src/domain/audit/audit.service.ts';
import { createAuditStore } from '../../src/domain/audit/audit.store.ts';
import { CreateUser, ListUsers } from '../../src/domain/users/user.schema.ts';
import { createUserService } from '../../src/domain/users/user.service.ts';
import { createUserStore } from '../../src/domain/users/user.store.ts';
import { AppError } from '../../src/lib/app-error.ts';
import { createPasswordHasher } from '../../src/lib/passwords.ts';
import { CHEAP_PASSWORD_HASH, makeUser, openIdentity, principalOf, unique } from '../support/identity.ts';

const code = (promise: Promise<unknown>) =>
  promise.then(
    () => 'resolved',
    (err: unknown) => (err instanceof AppError ? err.code : String(err)),
  );

describe('user service', () => {
  let env: Awaited<ReturnType<typeof openIdentity>>;
  beforeAll(async () => {
    env = await openIdentity();
  });
  afterAll(() => env?.close());

  it('creates a user with an argon2id hash, never keeping or auditing the password', async () => {
    const username = unique('alice');
    const user = await env.users.create(
      systemPrincipal,
      CreateUser.parse({ username, email: 'Alice@Example.TEST', password: 'correct horse' }),
    );
    expect(user).toMatchObject({ username, email: 'alice@example.test', hasPassword: true, isActive: true, isSuperuser: false });
    const row = await env.db.prisma.user.findUniqueOrThrow({ where: { id: user.id } });
    expect(row.passwordHash).toMatch(/^\$argon2id\$/);
    const events = await env.db.prisma.auditEvent.findMany({ where: { targetId: user.id } });
    expect(events.map((e) => e.action)).toEqual(['user.created']);
    expect(JSON.stringify(events)).not.toContain('correct horse');
    expect(JSON.stringify(events)).not.toContain(row.passwordHash);
  });

  it('refuses a taken username or email with their own codes', async () => {
    const user = await env.users.create(systemPrincipal, { username: unique(), email: `${unique()}@example.test` });
    expect(await code(env.users.create(systemPrincipal, { username: user.username }))).toBe('user.username_taken');
    expect(await code(env.users.create(systemPrincipal, { username: unique(), email: user.email as string }))).toBe('user.email_taken');
    const other = await makeUser(env);
    expect(await code(env.users.update(systemPrincipal, other.id, { email: user.email }))).toBe('user.email_taken');
  });

  it('verifies passwords: right, wrong, unknown user, no password, inactive', async () => {
    const user = await makeUser(env, { password: 'right password' });
    expect((await env.users.verifyPassword(user.username, 'right password'))?.id).toBe(user.id);
    expect(await env.users.verifyPassword(user.username, 'wrong password')).toBeNull();
    expect(await env.users.verifyPassword(unique('ghost'), 'right password')).toBeNull();
    const passwordless = await makeUser(env);
    expect(await env.users.verifyPassword(passwordless.username, '')).toBeNull();
    await env.users.deactivate(systemPrincipal, user.id);
    expect(await env.users.verifyPassword(user.username, 'right password')).toBeNull();
  });

  it('upgrades a hash made with older parameters at the next successful sign-in', async () => {
    const user = await makeUser(env, { password: 'right password' });
    const before = (await env.db.prisma.user.findUniqueOrThrow({ where: { id: user.id } })).passwordHash;
    const stronger = createUserService({
      storage: env.storage,
      store: createUserStore({ bus: env.bus }),
      audit: createAuditService({ store: createAuditStore() }),
      access: env.access,
      passwords: createPasswordHasher({ ...CHEAP_PASSWORD_HASH, iterations: 2 }),
      clock: env.clock,
    });
    expect(await stronger.verifyPassword(user.username, 'wrong password')).toBeNull();
    expect((await env.db.prisma.user.findUniqueOrThrow({ where: { id: user.id } })).passwordHash).toBe(before);
    expect(await stronger.verifyPassword(user.username, 'right password')).not.toBeNull();
    const after = (await env.db.prisma.user.findUniqueOrThrow({ where: { id: user.id } })).passwordHash;
    expect(after).toMatch(/t=2/);
    expect(await stronger.verifyPassword(user.username, 'right password')).not.toBeNull();
  });

  it('sets and removes a password', async () => {
    const user = await makeUser(env);
    await env.users.setPassword(systemPrincipal, user.id, 'a new password');
    expect(await env.users.verifyPassword(user.username, 'a new password')).not.toBeNull();
    await env.users.setPassword(systemPrincipal, user.id, null);
    expect(await env.users.verifyPassword(user.username, 'a new password')).toBeNull();
    expect((await env.users.get(user.id)).hasPassword).toBe(false);
  });

  it('only a superuser makes superusers', async () => {
    const admin = await makeUser(env, { permissions: ['add_user', 'change_user'] });
    const principal = await principalOf(env, admin.id);
    expect(await code(env.users.create(principal, { username: unique(), isSuperuser: true }))).toBe('user.superuser_required');
    const plain = await env.users.create(principal, { username: unique() });
    expect(await code(env.users.setSuperuser(principal, plain.id, true))).toBe('user.superuser_required');
    expect((await env.users.setSuperuser(systemPrincipal, plain.id, true)).isSuperuser).toBe(true);
  });

  describe('no escalation through user edits', () => {
    it('a user with change_user but not delete_user cannot touch a user holding delete_user', async () => {
      const actor = await makeUser(env, { permissions: ['change_user', 'view_user'] });
      const principal = await principalOf(env, actor.id);
      const stronger = await makeUser(env, { permissions: ['change_user', 'delete_user'], password: 'their password' });
      expect(await code(env.users.setPassword(principal, stronger.id, 'taken over!'))).toBe('user.escalation');
      expect(await code(env.users.update(principal, stronger.id, { email: 'mine@example.test' }))).toBe('user.escalation');
      expect(await code(env.users.deactivate(principal, stronger.id))).toBe('user.escalation');
      expect(await code(env.users.delete(principal, stronger.id))).toBe('user.escalation');
      expect(await env.users.verifyPassword(stronger.username, 'their password')).not.toBeNull();
    });

    it('acts on a user holding less, and on itself', async () => {
      const actor = await makeUser(env, { permissions: ['change_user', 'view_user'] });
      const principal = await principalOf(env, actor.id);
      const weaker = await makeUser(env, { permissions: ['view_user'] });
      expect((await env.users.update(principal, weaker.id, { isActive: false })).isActive).toBe(false);
      await env.users.setPassword(principal, actor.id, 'my own new password');
    });

    it('never acts on a superuser unless one', async () => {
      const actor = await makeUser(env, { permissions: ['change_user', 'delete_user'] });
      const root = await makeUser(env, { isSuperuser: true });
      expect(await code(env.users.setPassword(await principalOf(env, actor.id), root.id, 'taken over!'))).toBe('user.escalation');
    });

    it('judges a deactivated user by what they would hold again', async () => {
      const actor = await makeUser(env, { permissions: ['change_user'] });
      const dormant = await makeUser(env, { permissions: ['change_user', 'delete_role'] });
      await env.users.deactivate(systemPrincipal, dormant.id);
      expect(await code(env.users.update(await principalOf(env, actor.id), dormant.id, { isActive: true }))).toBe('user.escalation');
    });
  });

  it('lists a page with filters and order', async () => {
    const prefix = unique('pg');
    for (const s of ['b', 'a', 'c']) await env.users.create(systemPrincipal, { username: `${prefix}${s}`, isActive: s !== 'c' });
    const page = await env.users.list(ListUsers.parse({ usernamePrefix: prefix, pageSize: 2, orderBy: '-username' }));
    expect(page).toMatchObject({ count: 3, page: 1, pageSize: 2 });
    expect(page.items.map((u) => u.username)).toEqual([`${prefix}c`, `${prefix}b`]);
    expect((await env.users.list(ListUsers.parse({ usernamePrefix: prefix, isActive: false }))).count).toBe(1);
    expect(ListUsers.safeParse({ pageSize: 10_000 }).success).toBe(false);
  });

  it('deletes a user; unknown ids give user.not_found', async () => {
    const user = await makeUser(env);
    await env.users.delete(systemPrincipal, user.id);
    expect(await env.users.findById(user.id)).toBeNull();
    expect(await code(env.users.delete(systemPrincipal, user.id))).toBe('user.not_found');
    expect(await code(env.users.get('usr_missing'))).toBe('user.not_found');
    expect(await code(env.users.update(systemPrincipal, 'usr_missing', { isActive: false }))).toBe('user.not_found');
  });

  it('records a sign-in', async () => {
    const user = await makeUser(env);
    await env.users.recordLogin(user.id);
    expect((await env.users.get(user.id)).lastLoginAt).toBeInstanceOf(Date);
    await env.users.recordLogin('usr_missing');
  });
});

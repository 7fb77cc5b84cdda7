import { createSecretKey, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Database } from '../../src/db/database.ts';
import { systemPrincipal } from '../../src/domain/access/principal.ts';
import { BUILT_IN_CODENAMES } from '../../src/domain/permissions/codename.ts';
import {
  type Identity,
  makeApi,
  makeApplication,
  makeUser,
  openIdentity,
  openTestDatabase,
  settle,
  unique,
  wireIdentity,
} from '../support/identity.ts';
import { countStatements } from '../support/statements.ts';
import { TEST_DB } from '../support/test-database.ts';

describe('access service: effective permissions', () => {
  let env: Awaited<ReturnType<typeof openIdentity>>;
  beforeAll(async () => {
    env = await openIdentity();
    await env.permissions.ensureBuiltIn();
  });
  afterAll(() => env?.close());

  it('a plain user holds nothing', async () => {
    const user = await makeUser(env);
    expect(await env.access.effectivePermissions(user.id)).toEqual({
      userId: user.id,
      username: user.username,
      isSuperuser: false,
      isActive: true,
      deactivatedAt: null,
      roles: [],
      permissions: new Set(),
      organizations: [],
    });
  });

  it('a user with roles holds the union of their permissions, and lists roles and organisations', async () => {
    const user = await makeUser(env, { permissions: ['view_user', 'add_user'] });
    const role = await env.roles.create(systemPrincipal, { name: unique('r'), permissions: ['view_user', 'view_role'] });
    await env.roles.assign(systemPrincipal, role.id, user.id);
    const org = await env.organizations.create(systemPrincipal, { name: unique('org') });
    await env.organizations.addMember(systemPrincipal, org.id, user.id, 'admin');
    const access = await env.access.effectivePermissions(user.id);
    expect(access?.permissions).toEqual(new Set(['view_user', 'add_user', 'view_role']));
    expect(access?.roles).toHaveLength(2);
    expect(access?.roles).toContain(role.name);
    expect(access?.organizations).toEqual([{ id: org.id, name: org.name, role: 'admin' }]);
  });

  it('a superuser holds every codename that exists', async () => {
    const root = await makeUser(env, { isSuperuser: true });
    await env.permissions.ensure(systemPrincipal, ['add_mediasource']);
    const access = await env.access.effectivePermissions(root.id);
    expect(access?.isSuperuser).toBe(true);
    for (const codename of [...BUILT_IN_CODENAMES, 'add_mediasource']) expect(access?.permissions.has(codename)).toBe(true);
  });

  it('an inactive user holds nothing and has no principal; an unknown one is null', async () => {
    const user = await makeUser(env, { permissions: ['view_user'] });
    await env.users.deactivate(systemPrincipal, user.id);
    await vi.waitFor(async () => expect((await env.access.effectivePermissions(user.id))?.isActive).toBe(false));
    expect((await env.access.effectivePermissions(user.id))?.permissions).toEqual(new Set());
    expect(await env.access.principalFor(user.id)).toBeNull();
    expect(await env.access.effectivePermissions('usr_missing')).toBeNull();
    expect(await env.access.principalFor('usr_missing')).toBeNull();
  });

  it('deactivating is a cut-off: active again, only what was made after it counts', async () => {
    const user = await makeUser(env);
    const before = Math.floor(Date.now() / 1000) - 1;
    expect(await env.access.isSignInCurrent(user.id, before)).toBe(true);
    await env.users.deactivate(systemPrincipal, user.id);
    await vi.waitFor(async () => expect(await env.access.isSignInCurrent(user.id, before)).toBe(false));
    await env.users.change(systemPrincipal, user.id, { isActive: true });
    await vi.waitFor(async () => expect((await env.access.effectivePermissions(user.id))?.isActive).toBe(true));
    expect(await env.access.isSignInCurrent(user.id, before)).toBe(false);
    expect(await env.access.isSignInCurrent(user.id, undefined)).toBe(false);
    expect(await env.access.isSignInCurrent(user.id, Math.floor(Date.now() / 1000) + 1)).toBe(true);
    expect(await env.access.isSignInCurrent('usr_missing', before)).toBe(false);
  });

  it('answers a cached user with no statement', async () => {
    const user = await makeUser(env, { permissions: ['view_user'] });
    await settle(env);
    await env.access.effectivePermissions(user.id);
    await env.access.effectivePermissions('usr_unknown_cached');
    const statements = countStatements();
    try {
      expect((await env.access.effectivePermissions(user.id))?.permissions.has('view_user')).toBe(true);
      expect(await env.access.effectivePermissions('usr_unknown_cached')).toBeNull();
      expect(await env.access.principalFor(user.id)).not.toBeNull();
      expect(statements.count).toBe(0);
    } finally {
      statements.restore();
    }
  });

  it("gives an API's codenames the user holds (the JWT permissions claim)", async () => {
    const api = await makeApi(env);
    const other = await makeApi(env);
    const read = await env.permissions.create(systemPrincipal, { codename: `read_${unique('doc')}`, api: api.identifier });
    const write = await env.permissions.create(systemPrincipal, { codename: `write_${unique('doc')}`, api: api.identifier });
    const foreign = await env.permissions.create(systemPrincipal, { codename: `read_${unique('doc')}`, api: other.identifier });
    const user = await makeUser(env, { permissions: [read.codename, foreign.codename, 'view_user'] });
    expect(await env.access.permissionsForApi(user.id, api.identifier)).toEqual([read.codename]);
    const root = await makeUser(env, { isSuperuser: true });
    expect(await env.access.permissionsForApi(root.id, api.identifier)).toEqual([read.codename, write.codename].sort());
    expect(await env.access.permissionsForApi(user.id, 'https://unknown.example.test')).toEqual([]);
    expect(await env.access.permissionsForApi('usr_missing', api.identifier)).toEqual([]);
  });

  it("gives an application's own permissions, all and per API", async () => {
    const api = await makeApi(env);
    const app = await makeApplication(env);
    const mine = await env.permissions.create(systemPrincipal, { codename: `add_${unique('job')}`, api: api.identifier });
    await env.permissions.setApplicationPermissions(systemPrincipal, app.id, [mine.codename, 'view_user']);
    await vi.waitFor(async () => expect(await env.access.applicationPermissions(app.id)).toEqual([mine.codename, 'view_user'].sort()));
    expect(await env.access.applicationPermissionsForApi(app.id, api.identifier)).toEqual([mine.codename]);
    expect(await env.access.applicationPermissions('app_missing')).toEqual([]);
  });
});

/**
 * Invalidation across instances: a change made through another service instance on the same
 * database reaches this instance's cache through the change bus. On PostgreSQL the two instances
 * have their own connections and buses (two servers); PGlite is one process, so they share a bus.
 */
describe('access service: cache invalidation through another instance', () => {
  let env: Awaited<ReturnType<typeof openIdentity>>;
  let secondDb: Database | undefined;
  let other: Identity;
  beforeAll(async () => {
    env = await openIdentity();
    await env.permissions.ensureBuiltIn();
    if (env.testDb.kind === 'postgres') {
      secondDb = await openTestDatabase(env.testDb);
      other = wireIdentity(secondDb, { digestKey: createSecretKey(randomBytes(32)) });
      await other.bus.start();
    } else {
      other = wireIdentity(env.db, { bus: env.bus });
    }
  });
  afterAll(async () => {
    await other?.close();
    await secondDb?.close();
    await env?.close();
  });

  const held = async (userId: string) => (await env.access.effectivePermissions(userId))?.permissions;

  it('sees a permission added to a role of the user', async () => {
    const user = await makeUser(env, { permissions: ['view_user'] });
    const role = (await env.roles.listForUser(user.id))[0];
    expect(await held(user.id)).toEqual(new Set(['view_user']));
    await other.roles.addPermissions(systemPrincipal, role?.id as string, ['delete_user']);
    await vi.waitFor(async () => expect(await held(user.id)).toEqual(new Set(['view_user', 'delete_user'])));
  });

  it('sees a role granted, withdrawn and deleted', async () => {
    const user = await makeUser(env);
    const role = await env.roles.create(systemPrincipal, { name: unique('r'), permissions: ['add_role'] });
    expect(await held(user.id)).toEqual(new Set());
    await other.roles.assign(systemPrincipal, role.id, user.id);
    await vi.waitFor(async () => expect(await held(user.id)).toEqual(new Set(['add_role'])));
    await other.roles.unassign(systemPrincipal, role.id, user.id);
    await vi.waitFor(async () => expect(await held(user.id)).toEqual(new Set()));
    await other.roles.assign(systemPrincipal, role.id, user.id);
    await vi.waitFor(async () => expect(await held(user.id)).toEqual(new Set(['add_role'])));
    await other.roles.delete(systemPrincipal, role.id);
    await vi.waitFor(async () => expect(await held(user.id)).toEqual(new Set()));
  });

  it('sees a user deactivated and made superuser', async () => {
    const user = await makeUser(env, { permissions: ['view_user'] });
    expect(await env.access.principalFor(user.id)).not.toBeNull();
    await other.users.deactivate(systemPrincipal, user.id);
    await vi.waitFor(async () => expect(await env.access.principalFor(user.id)).toBeNull());
    await other.users.update(systemPrincipal, user.id, { isActive: true });
    await other.users.setSuperuser(systemPrincipal, user.id, true);
    await vi.waitFor(async () => expect((await env.access.principalFor(user.id))?.isSuperuser).toBe(true));
  });

  it("sees a new permission in a superuser's set", async () => {
    const root = await makeUser(env, { isSuperuser: true });
    const codename = `add_${unique('late')}`;
    expect((await held(root.id))?.has(codename)).toBe(false);
    await other.permissions.create(systemPrincipal, { codename });
    await vi.waitFor(async () => expect((await held(root.id))?.has(codename)).toBe(true));
  });

  it('sees a permission deleted', async () => {
    const codename = `add_${unique('gone')}`;
    const user = await makeUser(env, { permissions: [codename] });
    expect((await held(user.id))?.has(codename)).toBe(true);
    const permission = await env.permissions.findByCodename(codename);
    await other.permissions.delete(systemPrincipal, permission?.id as string);
    await vi.waitFor(async () => expect((await held(user.id))?.has(codename)).toBe(false));
  });

  it('sees memberships and organisation renames', async () => {
    const user = await makeUser(env);
    const org = await env.organizations.create(systemPrincipal, { name: unique('org') });
    expect((await env.access.effectivePermissions(user.id))?.organizations).toEqual([]);
    await other.organizations.addMember(systemPrincipal, org.id, user.id);
    await vi.waitFor(async () =>
      expect((await env.access.effectivePermissions(user.id))?.organizations).toEqual([{ id: org.id, name: org.name, role: 'member' }]),
    );
    await other.organizations.rename(systemPrincipal, org.id, { name: `${org.name}-renamed` });
    await vi.waitFor(async () =>
      expect((await env.access.effectivePermissions(user.id))?.organizations[0]?.name).toBe(`${org.name}-renamed`),
    );
    await other.organizations.delete(systemPrincipal, org.id);
    await vi.waitFor(async () => expect((await env.access.effectivePermissions(user.id))?.organizations).toEqual([]));
  });

  it('sees a user created after a miss was cached, and a user deleted', async () => {
    const missing = await env.access.effectivePermissions('usr_not_yet');
    expect(missing).toBeNull();
    const user = await makeUser(other);
    expect(await env.access.effectivePermissions(user.id)).not.toBeNull();
    await other.users.delete(systemPrincipal, user.id);
    await vi.waitFor(async () => expect(await env.access.effectivePermissions(user.id)).toBeNull());
  });

  it("sees an application's permissions change", async () => {
    const app = await makeApplication(env);
    expect(await env.access.applicationPermissions(app.id)).toEqual([]);
    await other.permissions.setApplicationPermissions(systemPrincipal, app.id, ['view_user']);
    await vi.waitFor(async () => expect(await env.access.applicationPermissions(app.id)).toEqual(['view_user']));
  });

  it.skipIf(TEST_DB !== 'postgres')('drops everything when the listener reconnects [PostgreSQL: PGlite cannot lose it]', async () => {
    const user = await makeUser(env, { permissions: ['view_user'] });
    await settle(env);
    expect(await env.access.principalFor(user.id)).not.toBeNull();
    // A change no notification announced (as if sent while the listener was away)...
    await env.db.sql('UPDATE users SET is_active = false WHERE id = $1', [user.id]);
    expect(await env.access.principalFor(user.id)).not.toBeNull();
    // ...then the listening connection drops; the bus reconnects and tells caches to reload.
    await env.db.sql(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'gatehouse-listener' AND datname = current_database()",
      [],
    );
    await vi.waitFor(async () => expect(await env.access.principalFor(user.id)).toBeNull(), { timeout: 15_000, interval: 200 });
  });
});

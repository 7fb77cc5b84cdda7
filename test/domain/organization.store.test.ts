import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConflictError, NotFoundError } from '../../src/db/storage.ts';
import { systemPrincipal } from '../../src/domain/access/principal.ts';
import { createOrganizationStore } from '../../src/domain/organizations/organization.store.ts';
import { newId } from '../../src/lib/ids.ts';
import { makeUser, openIdentity, unique } from '../support/identity.ts';

/** The organizations store on the real database (STYLE.md §4 contract). */
describe('organization store', () => {
  let env: Awaited<ReturnType<typeof openIdentity>>;
  let store: ReturnType<typeof createOrganizationStore>;
  beforeAll(async () => {
    env = await openIdentity();
    store = createOrganizationStore({ bus: env.bus });
  });
  afterAll(() => env?.close());

  const insert = (name = unique('org')) => env.storage.transaction((tx) => store.insert(tx, { id: newId('org'), name }));
  const join = (organizationId: string, userId: string, role: 'admin' | 'member' = 'member') =>
    env.storage.transaction((tx) => store.insertMembership(tx, { organizationId, userId, role }));

  it('inserts, finds, renames and deletes; null and NotFoundError when absent', async () => {
    const org = await insert();
    expect(await store.findById(env.storage.db, org.id)).toEqual(org);
    expect(await store.findByName(env.storage.db, org.name)).toEqual(org);
    const renamed = await env.storage.transaction((tx) => store.update(tx, org.id, { name: `${org.name}-2` }));
    expect(renamed.name).toBe(`${org.name}-2`);
    await env.storage.transaction((tx) => store.delete(tx, org.id));
    expect(await store.findById(env.storage.db, org.id)).toBeNull();
    await expect(env.storage.transaction((tx) => store.delete(tx, org.id))).rejects.toBeInstanceOf(NotFoundError);
    expect(await env.storage.transaction((tx) => store.lock(tx, org.id))).toBe(false);
  });

  it('refuses a duplicate name and a duplicate membership with ConflictError', async () => {
    const org = await insert();
    const dup = await insert(org.name).catch((e: unknown) => e);
    expect(dup).toBeInstanceOf(ConflictError);
    expect((dup as ConflictError).concerns('name')).toBe(true);
    const user = await makeUser(env);
    await join(org.id, user.id);
    await expect(join(org.id, user.id, 'admin')).rejects.toBeInstanceOf(ConflictError);
  });

  it('adds, changes, lists and removes memberships', async () => {
    const org = await insert();
    const [a, b, c] = [await makeUser(env, { username: `${unique('m')}a` }), await makeUser(env), await makeUser(env)];
    expect(await join(org.id, a.id, 'admin')).toMatchObject({ organizationId: org.id, userId: a.id, username: a.username, role: 'admin' });
    await join(org.id, b.id);
    await join(org.id, c.id);
    expect(await store.countAdmins(env.storage.db, org.id)).toBe(1);
    const members = await store.findMembers(env.storage.db, org.id, { page: 1, pageSize: 2 });
    expect(members.count).toBe(3);
    expect(members.items).toHaveLength(2);
    expect((await store.findMembers(env.storage.db, org.id, { page: 1, pageSize: 10, role: 'admin' })).items.map((m) => m.userId)).toEqual([
      a.id,
    ]);
    const changed = await env.storage.transaction((tx) => store.updateMembership(tx, org.id, b.id, 'admin'));
    expect(changed.role).toBe('admin');
    expect(await store.findByUser(env.storage.db, b.id)).toEqual([{ id: org.id, name: org.name, role: 'admin' }]);
    await env.storage.transaction((tx) => store.deleteMembership(tx, org.id, b.id));
    expect(await store.findMembership(env.storage.db, org.id, b.id)).toBeNull();
    await expect(env.storage.transaction((tx) => store.deleteMembership(tx, org.id, b.id))).rejects.toBeInstanceOf(NotFoundError);
    await expect(env.storage.transaction((tx) => store.updateMembership(tx, org.id, b.id, 'member'))).rejects.toBeInstanceOf(NotFoundError);
  });

  it('memberships go with their organisation and with their user', async () => {
    const org = await insert();
    const other = await insert();
    const user = await makeUser(env);
    await join(org.id, user.id);
    await join(other.id, user.id);
    await env.storage.transaction((tx) => store.delete(tx, org.id));
    expect(await store.findByUser(env.storage.db, user.id)).toEqual([{ id: other.id, name: other.name, role: 'member' }]);
    await env.users.delete(systemPrincipal, user.id);
    expect(await store.findMembers(env.storage.db, other.id, { page: 1, pageSize: 10 })).toEqual({ items: [], count: 0 });
  });
});

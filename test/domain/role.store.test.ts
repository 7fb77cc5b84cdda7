import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConflictError, NotFoundError } from '../../src/db/storage.ts';
import { systemPrincipal } from '../../src/domain/access/principal.ts';
import { createRoleStore } from '../../src/domain/roles/role.store.ts';
import { newId } from '../../src/lib/ids.ts';
import { makeUser, openIdentity, unique } from '../support/identity.ts';

/** The roles store on the real database (STYLE.md §4 contract). */
describe('role store', () => {
  let env: Awaited<ReturnType<typeof openIdentity>>;
  let store: ReturnType<typeof createRoleStore>;
  beforeAll(async () => {
    env = await openIdentity();
    store = createRoleStore({ bus: env.bus });
  });
  afterAll(() => env?.close());

  const insert = (name = unique('role')) =>
    env.storage.transaction((tx) => store.insert(tx, { id: newId('role'), name, description: 'd' }));
  const permission = async () => {
    const codename = `add_${unique('x')}`;
    await env.permissions.ensure(systemPrincipal, [codename]);
    return (await env.permissions.findByCodename(codename)) as { id: string; codename: string };
  };

  it('inserts, finds by id and name, updates and deletes; null and NotFoundError when absent', async () => {
    const role = await insert();
    expect(role).toMatchObject({ description: 'd', permissions: [] });
    expect(await store.findById(env.storage.db, role.id)).toEqual(role);
    expect(await store.findByName(env.storage.db, role.name)).toEqual(role);
    const renamed = await env.storage.transaction((tx) => store.update(tx, role.id, { name: `${role.name}-2` }));
    expect(renamed.name).toBe(`${role.name}-2`);
    await env.storage.transaction((tx) => store.delete(tx, role.id));
    expect(await store.findById(env.storage.db, role.id)).toBeNull();
    expect(await store.findByName(env.storage.db, renamed.name)).toBeNull();
    await expect(env.storage.transaction((tx) => store.update(tx, role.id, { name: 'x' }))).rejects.toBeInstanceOf(NotFoundError);
    await expect(env.storage.transaction((tx) => store.delete(tx, role.id))).rejects.toBeInstanceOf(NotFoundError);
  });

  it('refuses a duplicate name with ConflictError, on insert and rename', async () => {
    const a = await insert();
    const b = await insert();
    const dup = await insert(a.name).catch((e: unknown) => e);
    expect(dup).toBeInstanceOf(ConflictError);
    expect((dup as ConflictError).concerns('name')).toBe(true);
    await expect(env.storage.transaction((tx) => store.update(tx, b.id, { name: a.name }))).rejects.toBeInstanceOf(ConflictError);
  });

  it('adds and removes permissions, counting only real changes', async () => {
    const role = await insert();
    const p = await permission();
    const q = await permission();
    expect(await env.storage.transaction((tx) => store.addPermissions(tx, role.id, [p.id, q.id]))).toBe(2);
    expect(await env.storage.transaction((tx) => store.addPermissions(tx, role.id, [p.id]))).toBe(0);
    expect((await store.findById(env.storage.db, role.id))?.permissions).toEqual([p.codename, q.codename].sort());
    expect(await env.storage.transaction((tx) => store.removePermissions(tx, role.id, [p.id]))).toBe(1);
    expect(await env.storage.transaction((tx) => store.removePermissions(tx, role.id, [p.id]))).toBe(0);
    expect((await store.findById(env.storage.db, role.id))?.permissions).toEqual([q.codename]);
  });

  it('grants and withdraws a role idempotently; roles and users cascade', async () => {
    const role = await insert();
    const other = await insert();
    const user = await makeUser(env);
    expect(await env.storage.transaction((tx) => store.addUser(tx, role.id, user.id))).toBe(true);
    expect(await env.storage.transaction((tx) => store.addUser(tx, role.id, user.id))).toBe(false);
    await env.storage.transaction((tx) => store.addUser(tx, other.id, user.id));
    expect((await store.findByUser(env.storage.db, user.id)).map((r) => r.id).sort()).toEqual([role.id, other.id].sort());
    expect(await env.storage.transaction((tx) => store.removeUser(tx, role.id, user.id))).toBe(true);
    expect(await env.storage.transaction((tx) => store.removeUser(tx, role.id, user.id))).toBe(false);
    await env.storage.transaction((tx) => store.delete(tx, other.id));
    expect(await store.findByUser(env.storage.db, user.id)).toEqual([]);
    await env.storage.transaction((tx) => store.addUser(tx, role.id, user.id));
    await env.users.delete(systemPrincipal, user.id);
    expect(await store.findByUser(env.storage.db, user.id)).toEqual([]);
    expect(await store.findById(env.storage.db, role.id)).not.toBeNull();
  });

  it('lists a page by name with the total count', async () => {
    const prefix = unique('lst');
    for (const s of ['b', 'a', 'c']) await insert(`${prefix}${s}`);
    const page = await store.findMany(env.storage.db, { page: 2, pageSize: 2, namePrefix: prefix });
    expect(page.count).toBe(3);
    expect(page.items.map((r) => r.name)).toEqual([`${prefix}c`]);
  });
});

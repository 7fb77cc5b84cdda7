import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConflictError, NotFoundError } from '../../src/db/storage.ts';
import { createPermissionStore, type NewPermissionRow } from '../../src/domain/permissions/permission.store.ts';
import { createRoleStore } from '../../src/domain/roles/role.store.ts';
import { newId } from '../../src/lib/ids.ts';
import { makeApi, makeApplication, openIdentity, unique } from '../support/identity.ts';

/** The permissions store on the real database (STYLE.md §4 contract). */
describe('permission store', () => {
  let env: Awaited<ReturnType<typeof openIdentity>>;
  let store: ReturnType<typeof createPermissionStore>;
  beforeAll(async () => {
    env = await openIdentity();
    store = createPermissionStore({ bus: env.bus });
  });
  afterAll(() => env?.close());

  const row = (overrides: Partial<NewPermissionRow> = {}): NewPermissionRow => ({
    id: newId('perm'),
    codename: `add_${unique('thing')}`,
    name: 'Can add things',
    apiIdentifier: null,
    isBuiltIn: false,
    ...overrides,
  });
  const insert = (r: NewPermissionRow) => env.storage.transaction((tx) => store.insert(tx, r));

  it('inserts and finds by id, codename and codenames; null when absent', async () => {
    const p = await insert(row());
    expect(p).toMatchObject({ codename: p.codename, name: 'Can add things', api: null, isBuiltIn: false });
    expect(await store.findById(env.storage.db, p.id)).toEqual(p);
    expect(await store.findByCodename(env.storage.db, p.codename)).toEqual(p);
    expect(await store.findByCodenames(env.storage.db, [p.codename, 'view_nothing'])).toEqual([p]);
    expect(await store.findByCodenames(env.storage.db, [])).toEqual([]);
    expect(await store.findById(env.storage.db, 'perm_missing')).toBeNull();
    expect(await store.findByCodename(env.storage.db, 'view_nothing')).toBeNull();
  });

  it('refuses a duplicate codename with ConflictError', async () => {
    const p = await insert(row());
    const err = await insert(row({ codename: p.codename })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConflictError);
    expect((err as ConflictError).concerns('codename')).toBe(true);
  });

  it('links a permission to an API by identifier, NotFoundError for an unknown API', async () => {
    const api = await makeApi(env);
    const p = await insert(row({ apiIdentifier: api.identifier }));
    expect(p.api).toBe(api.identifier);
    await expect(insert(row({ apiIdentifier: 'https://nowhere.example.test' }))).rejects.toBeInstanceOf(NotFoundError);
    const page = await store.findMany(env.storage.db, { page: 1, pageSize: 10, api: api.identifier });
    expect(page).toEqual({ items: [p], count: 1 });
  });

  it('inserts only the missing ones and marks built-ins', async () => {
    const existing = await insert(row());
    const fresh = row();
    const count = await env.storage.transaction((tx) => store.insertMissing(tx, [row({ codename: existing.codename }), fresh]));
    expect(count).toBe(1);
    expect(await env.storage.transaction((tx) => store.markBuiltIn(tx, [existing.codename, fresh.codename]))).toBe(2);
    expect(await env.storage.transaction((tx) => store.markBuiltIn(tx, [existing.codename]))).toBe(0);
    expect((await store.findByCodename(env.storage.db, fresh.codename))?.isBuiltIn).toBe(true);
  });

  it('filters lists by global, prefix and built-in, with the count', async () => {
    const prefix = `view_${unique('flt')}`;
    const api = await makeApi(env);
    await insert(row({ codename: `${prefix}_a` }));
    await insert(row({ codename: `${prefix}_b`, isBuiltIn: true }));
    await insert(row({ codename: `${prefix}_c`, apiIdentifier: api.identifier }));
    const all = await store.findMany(env.storage.db, { page: 1, pageSize: 2, codenamePrefix: prefix });
    expect(all.count).toBe(3);
    expect(all.items.map((p) => p.codename)).toEqual([`${prefix}_a`, `${prefix}_b`]);
    const global = await store.findMany(env.storage.db, { page: 1, pageSize: 10, codenamePrefix: prefix, api: null });
    expect(global.count).toBe(2);
    const builtIn = await store.findMany(env.storage.db, { page: 1, pageSize: 10, codenamePrefix: prefix, isBuiltIn: true });
    expect(builtIn.items.map((p) => p.codename)).toEqual([`${prefix}_b`]);
  });

  it('replaces the permissions of an application; deleting a permission takes it from roles and applications', async () => {
    const app = await makeApplication(env);
    const a = await insert(row());
    const b = await insert(row());
    expect(await store.applicationExists(env.storage.db, app.id)).toBe(true);
    expect(await store.applicationExists(env.storage.db, 'app_missing')).toBe(false);
    await env.storage.transaction((tx) => store.replaceApplicationPermissions(tx, app.id, [a.id, b.id]));
    expect((await store.findApplicationPermissions(env.storage.db, app.id)).map((p) => p.id).sort()).toEqual([a.id, b.id].sort());
    const roles = createRoleStore({ bus: env.bus });
    const role = await env.storage.transaction((tx) => roles.insert(tx, { id: newId('role'), name: unique('role'), description: '' }));
    await env.storage.transaction((tx) => roles.addPermissions(tx, role.id, [a.id, b.id]));
    await env.storage.transaction((tx) => store.delete(tx, a.id));
    expect(await store.findApplicationPermissions(env.storage.db, app.id)).toEqual([b]);
    expect((await roles.findById(env.storage.db, role.id))?.permissions).toEqual([b.codename]);
    await env.storage.transaction((tx) => store.replaceApplicationPermissions(tx, app.id, []));
    expect(await store.findApplicationPermissions(env.storage.db, app.id)).toEqual([]);
    await expect(env.storage.transaction((tx) => store.delete(tx, a.id))).rejects.toBeInstanceOf(NotFoundError);
  });

  it('deleting an API deletes its permissions', async () => {
    const api = await makeApi(env);
    const p = await insert(row({ apiIdentifier: api.identifier }));
    await env.apis.remove(api.identifier, 'test', { force: true });
    expect(await store.findById(env.storage.db, p.id)).toBeNull();
  });
});

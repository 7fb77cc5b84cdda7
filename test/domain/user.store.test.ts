import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ConflictError, NotFoundError } from '../../src/db/storage.ts';
import { UserChanged } from '../../src/domain/users/user.changes.ts';
import { createUserStore, type NewUserRow } from '../../src/domain/users/user.store.ts';
import { newId } from '../../src/lib/ids.ts';
import { openIdentity, unique } from '../support/identity.ts';

/** The users store on the real database: the storage contract (STYLE.md §4) and its change. */
describe('user store', () => {
  let env: Awaited<ReturnType<typeof openIdentity>>;
  let store: ReturnType<typeof createUserStore>;
  beforeAll(async () => {
    env = await openIdentity();
    store = createUserStore({ bus: env.bus });
  });
  afterAll(() => env?.close());

  const row = (overrides: Partial<NewUserRow> = {}): NewUserRow => ({
    id: newId('usr'),
    username: unique('user'),
    email: null,
    passwordHash: null,
    isActive: true,
    isSuperuser: false,
    ...overrides,
  });

  it('inserts and finds a user by id and username, without the hash', async () => {
    const inserted = await env.storage.transaction((tx) => store.insert(tx, row({ email: 'a@example.test', passwordHash: 'h' })));
    expect(inserted).toMatchObject({ email: 'a@example.test', hasPassword: true, isActive: true, isSuperuser: false });
    expect(inserted).not.toHaveProperty('passwordHash');
    expect(await store.findById(env.storage.db, inserted.id)).toEqual(inserted);
    expect(await store.findByUsername(env.storage.db, inserted.username)).toEqual(inserted);
    expect(await store.findCredentials(env.storage.db, inserted.username)).toEqual({ user: inserted, passwordHash: 'h' });
  });

  it('returns null for an absent user', async () => {
    expect(await store.findById(env.storage.db, 'usr_missing')).toBeNull();
    expect(await store.findByUsername(env.storage.db, 'nobody')).toBeNull();
    expect(await store.findCredentials(env.storage.db, 'nobody')).toBeNull();
  });

  it('refuses a duplicate username or email with ConflictError naming the field', async () => {
    const first = await env.storage.transaction((tx) => store.insert(tx, row({ email: `${unique()}@example.test` })));
    const sameName = await env.storage.transaction((tx) => store.insert(tx, row({ username: first.username }))).catch((e: unknown) => e);
    expect(sameName).toBeInstanceOf(ConflictError);
    expect((sameName as ConflictError).concerns('username')).toBe(true);
    const sameEmail = await env.storage.transaction((tx) => store.insert(tx, row({ email: first.email }))).catch((e: unknown) => e);
    expect(sameEmail).toBeInstanceOf(ConflictError);
    expect((sameEmail as ConflictError).concerns('email')).toBe(true);
    expect((sameEmail as ConflictError).concerns('username')).toBe(false);
  });

  it('updates and deletes, NotFoundError for an absent user', async () => {
    const user = await env.storage.transaction((tx) => store.insert(tx, row()));
    const updated = await env.storage.transaction((tx) => store.update(tx, user.id, { isActive: false, email: 'b@example.test' }));
    expect(updated).toMatchObject({ isActive: false, email: 'b@example.test' });
    await env.storage.transaction((tx) => store.delete(tx, user.id));
    expect(await store.findById(env.storage.db, user.id)).toBeNull();
    await expect(env.storage.transaction((tx) => store.update(tx, user.id, { isActive: true }))).rejects.toBeInstanceOf(NotFoundError);
    await expect(env.storage.transaction((tx) => store.delete(tx, user.id))).rejects.toBeInstanceOf(NotFoundError);
  });

  it('lists a page with the total count, filtered by prefix and active flag, in order', async () => {
    const prefix = unique('list');
    for (const [suffix, isActive] of [
      ['c', true],
      ['a', true],
      ['b', false],
      ['d', true],
    ] as const)
      await env.storage.transaction((tx) => store.insert(tx, row({ username: `${prefix}${suffix}`, isActive })));
    const first = await store.findMany(env.storage.db, { page: 1, pageSize: 2, usernamePrefix: prefix });
    expect(first.count).toBe(4);
    expect(first.items.map((u) => u.username)).toEqual([`${prefix}a`, `${prefix}b`]);
    const second = await store.findMany(env.storage.db, { page: 2, pageSize: 2, usernamePrefix: prefix, orderBy: '-username' });
    expect(second.items.map((u) => u.username)).toEqual([`${prefix}b`, `${prefix}a`]);
    const active = await store.findMany(env.storage.db, { page: 1, pageSize: 10, usernamePrefix: prefix, isActive: true });
    expect(active.count).toBe(3);
    const byAge = await store.findMany(env.storage.db, { page: 1, pageSize: 10, usernamePrefix: prefix, orderBy: 'createdAt' });
    expect(byAge.items.map((u) => u.username)).toEqual([`${prefix}c`, `${prefix}a`, `${prefix}b`, `${prefix}d`]);
  });

  it('publishes UserChanged when a write commits, not when it rolls back', async () => {
    const seen: string[] = [];
    const stop = env.bus.subscribe(UserChanged, ({ userId }) => seen.push(userId));
    try {
      const kept = row();
      await env.storage.transaction((tx) => store.insert(tx, kept));
      const dropped = row();
      await env.storage
        .transaction(async (tx) => {
          await store.insert(tx, dropped);
          throw new Error('roll back');
        })
        .catch(() => {});
      await vi.waitFor(() => expect(seen).toContain(kept.id));
      await new Promise((r) => setTimeout(r, 50));
      expect(seen).not.toContain(dropped.id);
    } finally {
      stop();
    }
  });
});

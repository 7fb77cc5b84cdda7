import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConflictError, NotFoundError } from '../../src/db/storage.ts';
import { systemPrincipal } from '../../src/domain/access/principal.ts';
import { createApiTokenStore, type NewApiTokenRow } from '../../src/domain/api-tokens/api-token.store.ts';
import { newId } from '../../src/lib/ids.ts';
import { makeApplication, makeUser, openIdentity, unique } from '../support/identity.ts';
import { countStatements } from '../support/statements.ts';

/** The API tokens store on the real database (STYLE.md §4 contract). */
describe('API token store', () => {
  let env: Awaited<ReturnType<typeof openIdentity>>;
  let store: ReturnType<typeof createApiTokenStore>;
  beforeAll(async () => {
    env = await openIdentity();
    store = createApiTokenStore({ bus: env.bus });
  });
  afterAll(() => env?.close());

  const row = (userId: string, overrides: Partial<NewApiTokenRow> = {}): NewApiTokenRow => ({
    id: newId('tok'),
    userId,
    applicationId: null,
    name: 'n',
    digest: unique('digest'),
    prefix: 'ghat_abcd',
    scope: 'write',
    permissions: [],
    isDeclared: false,
    expiresAt: null,
    ...overrides,
  });
  const insert = (r: NewApiTokenRow) => env.storage.transaction((tx) => store.insert(tx, r));

  it('inserts and finds by id, digest and digests; null when absent', async () => {
    const user = await makeUser(env);
    const token = await insert(row(user.id, { permissions: ['view_user'], scope: 'read' }));
    expect(token).toMatchObject({ userId: user.id, scope: 'read', permissions: ['view_user'], revokedAt: null, lastUsedAt: null });
    expect(await store.findById(env.storage.db, token.id)).toEqual(token);
    expect(await store.findByDigest(env.storage.db, token.digest)).toEqual(token);
    expect(await store.findByDigests(env.storage.db, [token.digest, 'nope'])).toEqual([token]);
    expect(await store.findByDigests(env.storage.db, [])).toEqual([]);
    expect(await store.findById(env.storage.db, 'tok_missing')).toBeNull();
    expect(await store.findByDigest(env.storage.db, 'nope')).toBeNull();
  });

  it('refuses a duplicate digest with ConflictError', async () => {
    const user = await makeUser(env);
    const token = await insert(row(user.id));
    const err = await insert(row(user.id, { digest: token.digest })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConflictError);
    expect((err as ConflictError).concerns('digest')).toBe(true);
  });

  it('updates and deletes; NotFoundError when absent', async () => {
    const user = await makeUser(env);
    const token = await insert(row(user.id));
    const revokedAt = new Date();
    expect((await env.storage.transaction((tx) => store.update(tx, token.id, { revokedAt }))).revokedAt).toEqual(revokedAt);
    expect((await env.storage.transaction((tx) => store.delete(tx, token.id))).id).toBe(token.id);
    expect(await store.findById(env.storage.db, token.id)).toBeNull();
    await expect(env.storage.transaction((tx) => store.update(tx, token.id, { revokedAt }))).rejects.toBeInstanceOf(NotFoundError);
    await expect(env.storage.transaction((tx) => store.delete(tx, token.id))).rejects.toBeInstanceOf(NotFoundError);
  });

  it('lists a user’s or an application’s tokens, newest first, active only unless asked', async () => {
    const user = await makeUser(env);
    const app = await makeApplication(env);
    const old = await insert(row(user.id));
    const expired = await insert(row(user.id, { expiresAt: new Date(Date.now() - 1000) }));
    const revoked = await insert(row(user.id));
    await env.storage.transaction((tx) => store.update(tx, revoked.id, { revokedAt: new Date() }));
    const bound = await insert(row(user.id, { applicationId: app.id }));
    const active = await store.findMany(env.storage.db, { userId: user.id }, { page: 1, pageSize: 10 }, new Date());
    expect(active.items.map((t) => t.id)).toEqual([bound.id, old.id]);
    expect(active.count).toBe(2);
    const all = await store.findMany(env.storage.db, { userId: user.id }, { page: 1, pageSize: 10, includeInactive: true }, new Date());
    expect(all.count).toBe(4);
    expect(all.items.map((t) => t.id)).toContain(expired.id);
    const ofApp = await store.findMany(env.storage.db, { applicationId: app.id }, { page: 1, pageSize: 10 }, new Date());
    expect(ofApp.items.map((t) => t.id)).toEqual([bound.id]);
  });

  it('records the last use of many tokens in one statement', async () => {
    const user = await makeUser(env);
    const a = await insert(row(user.id));
    const b = await insert(row(user.id));
    const at = new Date('2026-12-01T10:00:00.123Z');
    const statements = countStatements();
    try {
      await store.recordUsage(env.storage.db, [
        { id: a.id, at, ip: '192.0.2.1' },
        { id: b.id, at, ip: null },
        { id: 'tok_gone', at, ip: '192.0.2.9' },
      ]);
      expect(statements.count).toBe(1);
    } finally {
      statements.restore();
    }
    expect(await store.findById(env.storage.db, a.id)).toMatchObject({ lastUsedAt: at, lastUsedIp: '192.0.2.1' });
    expect(await store.findById(env.storage.db, b.id)).toMatchObject({ lastUsedAt: at, lastUsedIp: null });
  });

  it('deletes the declared tokens no longer declared, and only those', async () => {
    const user = await makeUser(env);
    const kept = await insert(row(user.id, { isDeclared: true }));
    const dropped = await insert(row(user.id, { isDeclared: true }));
    const created = await insert(row(user.id));
    expect(new Set(await store.findDeclaredDigests(env.storage.db))).toEqual(new Set([kept.digest, dropped.digest]));
    const gone = await env.storage.transaction(async (tx) => {
      await store.lockDeclarations(tx);
      return store.deleteDeclaredExcept(tx, [kept.digest]);
    });
    expect(gone.map((t) => t.id)).toEqual([dropped.id]);
    expect(await store.findById(env.storage.db, created.id)).not.toBeNull();
    expect(await env.storage.transaction((tx) => store.deleteDeclaredExcept(tx, [kept.digest]))).toEqual([]);
  });

  it('tokens go with their user and with their application', async () => {
    const user = await makeUser(env);
    const app = await makeApplication(env);
    const own = await insert(row(user.id));
    const bound = await insert(row((await makeUser(env)).id, { applicationId: app.id }));
    expect(await store.applicationExists(env.storage.db, app.id)).toBe(true);
    await env.users.delete(systemPrincipal, user.id);
    expect(await store.findById(env.storage.db, own.id)).toBeNull();
    await env.applications.remove(app.clientId, 'test');
    expect(await store.findById(env.storage.db, bound.id)).toBeNull();
    expect(await store.applicationExists(env.storage.db, app.id)).toBe(false);
  });
});

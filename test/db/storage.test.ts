import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Database, openDatabase } from '../../src/db/database.ts';
import { ConflictError, createStorage, NotFoundError, type Storage } from '../../src/db/storage.ts';
import { createLogger } from '../../src/lib/logger.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-database.ts';

/**
 * The storage contract's error mapping (src/db/storage.ts), on the real drivers: PostgreSQL
 * through @prisma/adapter-pg and PGlite through pglite-prisma-adapter report a unique violation
 * differently (P2002 against a raw DriverAdapterError), and both must become ConflictError.
 */
describe('storage contract: errors', () => {
  let testDb: TestDatabase;
  let db: Database;
  let storage: Storage;
  beforeAll(async () => {
    testDb = await createTestDatabase();
    const config =
      testDb.kind === 'pglite'
        ? { kind: 'pglite' as const, dataDir: testDb.dataDir }
        : { kind: 'postgres' as const, url: testDb.url as string, poolSize: 2 };
    db = await openDatabase(config, { log: createLogger({ level: 'silent' }), role: 'test' });
    storage = createStorage(db.prisma);
  });
  afterAll(async () => {
    await db?.close();
    await testDb?.drop();
  });

  const api = (identifier: string) => ({
    id: `api_${identifier}`,
    identifier: `https://${identifier}.example.test`,
    name: identifier,
    scopes: [],
  });

  it('turns a unique violation inside a transaction into ConflictError naming the field', async () => {
    await storage.transaction((tx) => tx.apiResource.create({ data: api('one') }));
    const err = await storage
      .transaction((tx) => tx.apiResource.create({ data: { ...api('one'), id: 'api_other' } }))
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConflictError);
    expect((err as ConflictError).concerns('identifier')).toBe(true);
    expect((err as ConflictError).concerns('name')).toBe(false);
  });

  it('rolls the whole transaction back when it fails', async () => {
    await storage
      .transaction(async (tx) => {
        await tx.apiResource.create({ data: api('two') });
        await tx.apiResource.create({ data: { ...api('two'), id: 'api_two_again' } });
      })
      .catch(() => {});
    expect(await db.prisma.apiResource.findUnique({ where: { identifier: 'https://two.example.test' } })).toBeNull();
  });

  it('turns an update of a missing row into NotFoundError', async () => {
    const err = await storage
      .transaction((tx) => tx.apiResource.update({ where: { id: 'api_missing' }, data: { name: 'x' } }))
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotFoundError);
  });

  it('lets every other error through unchanged', async () => {
    const boom = new Error('boom');
    await expect(storage.transaction(async () => Promise.reject(boom))).rejects.toBe(boom);
  });
});

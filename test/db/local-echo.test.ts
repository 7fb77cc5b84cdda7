import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type ChangeBus, createChangeBus, defineChange } from '../../src/db/change-bus.ts';
import type { Database } from '../../src/db/database.ts';
import { withLocalEcho } from '../../src/db/local-echo.ts';
import { createStorage, type Storage } from '../../src/db/storage.ts';
import { createLogger } from '../../src/lib/logger.ts';
import { openTestDatabase } from '../support/identity.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-database.ts';

const Pinged = defineChange('test-ping', (m) => (typeof m.n === 'number' ? { n: m.n } : null));

/** Read-your-own-writes for bus-fed caches (src/db/local-echo.ts). */
describe('local echo of committed changes', () => {
  let testDb: TestDatabase;
  let db: Database;
  let bus: ChangeBus;
  let storage: Storage;
  beforeAll(async () => {
    testDb = await createTestDatabase();
    db = await openTestDatabase(testDb);
    ({ bus, storage } = withLocalEcho(createChangeBus(db, createLogger({ level: 'silent' })), createStorage(db.prisma)));
    await bus.start();
  });
  afterAll(async () => {
    await bus?.stop();
    await db?.close();
    await testDb?.drop();
  });

  it('delivers a committed change to this process before the transaction returns, and again by notification', async () => {
    const seen: number[] = [];
    const stop = bus.subscribe(Pinged, ({ n }) => seen.push(n));
    try {
      await storage.transaction((tx) => bus.publish(tx, Pinged, { n: 1 }));
      // (PGlite delivers its notification before the commit returns too: both may be in already)
      expect(seen).toContain(1);
      await vi.waitFor(() => expect(seen).toEqual([1, 1]));
    } finally {
      stop();
    }
  });

  it('delivers nothing for a transaction that rolls back', async () => {
    const seen: number[] = [];
    const stop = bus.subscribe(Pinged, ({ n }) => seen.push(n));
    try {
      await storage
        .transaction(async (tx) => {
          await bus.publish(tx, Pinged, { n: 2 });
          throw new Error('roll back');
        })
        .catch(() => {});
      await storage.transaction((tx) => bus.publish(tx, Pinged, { n: 3 }));
      await vi.waitFor(() => expect(seen).toEqual([3, 3]));
    } finally {
      stop();
    }
  });

  it('stops delivering once unsubscribed', async () => {
    const seen: number[] = [];
    const stop = bus.subscribe(Pinged, ({ n }) => seen.push(n));
    stop();
    await storage.transaction((tx) => bus.publish(tx, Pinged, { n: 4 }));
    await new Promise((r) => setTimeout(r, 100));
    expect(seen).toEqual([]);
  });
});

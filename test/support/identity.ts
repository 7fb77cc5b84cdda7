import { createSecretKey, randomBytes } from 'node:crypto';
import { createChangeBus } from '../../src/db/change-bus.ts';
import { type Database, openDatabase } from '../../src/db/database.ts';
import { createStorage, type Storage } from '../../src/db/storage.ts';
import { createAccessService } from '../../src/domain/access/access.service.ts';
import { createAccessStore } from '../../src/domain/access/access.store.ts';
import type { Principal } from '../../src/domain/access/principal.ts';
import { createAuditStore } from '../../src/domain/audit/audit.store.ts';
import { createUserService } from '../../src/domain/users/user.service.ts';
import { createUserStore } from '../../src/domain/users/user.store.ts';
import { type Clock, systemClock } from '../../src/lib/clock.ts';
import { createLogger } from '../../src/lib/logger.ts';
import { createPasswordHasher } from '../../src/lib/passwords.ts';
import { createTestDatabase, type TestDatabase } from './test-database.ts';

/** argon2id at its cheapest: these tests are about rules, not hashing cost. */
export const CHEAP_PASSWORD_HASH = { memoryKiB: 64, iterations: 1, parallelism: 1 };

const silent = createLogger({ level: 'silent' });

export interface IdentityOptions {
  clock?: Clock;
  /** the digest key of API tokens (instances sharing a database share it) */
  digestKey?: ReturnType<typeof createSecretKey>;
}

/**
 * The identity domain wired as the composition root will wire it: stores, services and a change
 * bus listening on one open database. Several of these may share one database (PostgreSQL) to
 * play several server instances.
 */
export function wireIdentity(db: Database, options: IdentityOptions = {}) {
  const clock = options.clock ?? systemClock;
  const bus = createChangeBus(db, silent);
  const storage: Storage = createStorage(db.prisma);
  const audit = createAuditStore();
  const access = createAccessService({ storage, store: createAccessStore(), bus });
  const passwords = createPasswordHasher(CHEAP_PASSWORD_HASH);
  const users = createUserService({ storage, store: createUserStore({ bus }), audit, access, passwords, clock, log: silent });
  return {
    db,
    bus,
    storage,
    clock,
    access,
    users,
    async close() {
      access.close();
      await bus.stop();
    },
  };
}

export type Identity = ReturnType<typeof wireIdentity>;

/** Opens a test database (a fresh clone, or `testDb`) the way the server does. */
export async function openTestDatabase(testDb: TestDatabase): Promise<Database> {
  const config =
    testDb.kind === 'pglite'
      ? { kind: 'pglite' as const, dataDir: testDb.dataDir }
      : { kind: 'postgres' as const, url: testDb.url as string, poolSize: 4 };
  return openDatabase(config, { log: silent, role: 'test' });
}

/** A fresh database with the identity domain wired and listening; `close()` drops it all. */
export async function openIdentity(options: IdentityOptions = {}) {
  const testDb = await createTestDatabase();
  const db = await openTestDatabase(testDb);
  const identity = wireIdentity(db, { digestKey: createSecretKey(randomBytes(32)), ...options });
  await identity.bus.start();
  return {
    ...identity,
    testDb,
    async close() {
      await identity.close();
      await db.close();
      await testDb.drop();
    },
  };
}

let counter = 0;
/** A name no other test of the file uses. */
export function unique(prefix = 'u'): string {
  return `${prefix}${Date.now().toString(36)}${(counter++).toString(36)}`;
}

/** The principal of a plain user holding exactly `permissions` (no database involved). */
export function userPrincipal(userId: string, permissions: string[] = []): Principal {
  return { userId, isSuperuser: false, permissions: new Set(permissions), actor: `user:${userId}` };
}

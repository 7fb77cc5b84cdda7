import type { ChangeBus } from '../../db/change-bus.ts';
import type { Executor } from '../../db/storage.ts';
import { keysChanged } from './signing-key.changes.ts';

export interface StoredKey {
  kid: string;
  alg: string;
  state: 'active' | 'retiring' | 'retired';
  publicJwk: unknown;
  privateJwkEncrypted: string;
  createdAt: Date;
  signsFrom: Date | null;
  rotatedAt: Date | null;
  retireAfter: Date | null;
  revokedAt: Date | null;
}

export interface SigningKeyStore {
  /** Takes the key-management advisory lock for the rest of the transaction. */
  lock(tx: Executor): Promise<void>;
  findMany(db: Executor): Promise<StoredKey[]>;
  findByKid(db: Executor, kid: string): Promise<StoredKey | null>;
  /** Keys that are active or retiring and not yet past `retireAfter`. */
  findPublished(db: Executor, now: Date): Promise<StoredKey[]>;
  insert(db: Executor, key: Omit<StoredKey, 'createdAt' | 'rotatedAt' | 'retireAfter' | 'revokedAt' | 'state'>): Promise<void>;
  markRetiring(db: Executor, kids: string[], rotatedAt: Date, retireAfter: Date): Promise<void>;
  /** Out of the JWKS at once ('retired'), its dates kept as they were for the record. */
  markRevoked(db: Executor, kid: string, revokedAt: Date): Promise<void>;
  markRetired(db: Executor, now: Date): Promise<number>;
  /** Tells every instance to reload its key ring once `tx` commits. */
  announce(tx: Executor): Promise<void>;
}

// "gatekeys" in ASCII: serialises key bootstrap and rotation across instances.
const KEYS_LOCK_KEY = 0x676174656b657973n;

export function createSigningKeyStore({ bus }: { bus: ChangeBus }): SigningKeyStore {
  return {
    async lock(tx) {
      await tx.$executeRaw`SELECT pg_advisory_xact_lock(${KEYS_LOCK_KEY})`;
    },
    findMany: (db) => db.signingKey.findMany({ orderBy: { createdAt: 'desc' } }),
    findByKid: (db, kid) => db.signingKey.findUnique({ where: { kid } }),
    findPublished: (db, now) =>
      db.signingKey.findMany({
        where: { OR: [{ state: 'active' }, { state: 'retiring', retireAfter: { gt: now } }] },
        orderBy: { createdAt: 'desc' },
      }),
    async insert(db, key) {
      await db.signingKey.create({ data: { ...key, publicJwk: key.publicJwk as object, state: 'active' } });
    },
    async markRetiring(db, kids, rotatedAt, retireAfter) {
      await db.signingKey.updateMany({ where: { kid: { in: kids } }, data: { state: 'retiring', rotatedAt, retireAfter } });
    },
    async markRevoked(db, kid, revokedAt) {
      await db.signingKey.update({ where: { kid }, data: { state: 'retired', revokedAt } });
    },
    async markRetired(db, now) {
      const { count } = await db.signingKey.updateMany({
        where: { state: 'retiring', retireAfter: { lte: now } },
        data: { state: 'retired' },
      });
      return count;
    },
    announce: (tx) => bus.publish(tx, keysChanged, {}),
  };
}

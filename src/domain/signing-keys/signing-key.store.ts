import { publishChange } from '../../db/changes.ts';
import type { PrismaClient, Tx } from '../../db/database.ts';

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

// "gatekeys" in ASCII: serialises key bootstrap and rotation across instances.
const KEYS_LOCK_KEY = 0x676174656b657973n;

export function createSigningKeyStore(prisma: PrismaClient) {
  return {
    /** Takes the key-management advisory lock for the rest of the transaction. */
    async lock(tx: Tx): Promise<void> {
      await tx.$executeRaw`SELECT pg_advisory_xact_lock(${KEYS_LOCK_KEY})`;
    },
    async findMany(tx: Tx | PrismaClient = prisma): Promise<StoredKey[]> {
      return tx.signingKey.findMany({ orderBy: { createdAt: 'desc' } });
    },
    async findByKid(tx: Tx, kid: string): Promise<StoredKey | null> {
      return tx.signingKey.findUnique({ where: { kid } });
    },
    async findPublished(now: Date): Promise<StoredKey[]> {
      return prisma.signingKey.findMany({
        where: { OR: [{ state: 'active' }, { state: 'retiring', retireAfter: { gt: now } }] },
        orderBy: { createdAt: 'desc' },
      });
    },
    async insert(tx: Tx, key: Omit<StoredKey, 'createdAt' | 'rotatedAt' | 'retireAfter' | 'revokedAt' | 'state'>): Promise<void> {
      await tx.signingKey.create({ data: { ...key, publicJwk: key.publicJwk as object, state: 'active' } });
    },
    async markRetiring(tx: Tx, kids: string[], rotatedAt: Date, retireAfter: Date): Promise<void> {
      await tx.signingKey.updateMany({ where: { kid: { in: kids } }, data: { state: 'retiring', rotatedAt, retireAfter } });
    },
    /** Out of the JWKS at once ('retired'), its dates kept as they were for the record. */
    async markRevoked(tx: Tx, kid: string, revokedAt: Date): Promise<void> {
      await tx.signingKey.update({ where: { kid }, data: { state: 'retired', revokedAt } });
    },
    async markRetired(tx: Tx, now: Date): Promise<number> {
      const { count } = await tx.signingKey.updateMany({
        where: { state: 'retiring', retireAfter: { lte: now } },
        data: { state: 'retired' },
      });
      return count;
    },
    publishChange: (tx: Tx) => publishChange(tx, { kind: 'keys' }),
  };
}

export type SigningKeyStore = ReturnType<typeof createSigningKeyStore>;

import type { ChangeBus } from '../../db/change-bus.ts';
import type { Database } from '../../db/database.ts';
import { grantRevoked, tokenRevoked } from './token-revocation.changes.ts';

/** The JWT denylist. Its statements go to the driver (Database.sql): revocation is a hot path. */
export function createTokenRevocationStore({ prisma, sql }: Pick<Database, 'prisma' | 'sql'>, bus: ChangeBus) {
  return {
    /**
     * Records a revoked JWT by jti (idempotent) and tells every server. One statement, so one round
     * trip and atomic on its own: the notification goes out only if this call inserted the row
     * (ON CONFLICT DO NOTHING: revoking twice, even concurrently, is not an error, RFC 7009 §2.2).
     */
    async insert(entry: { jti: string; clientId: string | null; expiresAt: Date }): Promise<void> {
      const [channel, payload] = bus.notification(tokenRevoked, { jti: entry.jti, exp: Math.floor(entry.expiresAt.getTime() / 1000) });
      // Straight to the driver: a hot statement (see Database.sql).
      await sql(
        `WITH inserted AS (
           INSERT INTO revoked_tokens (jti, client_id, expires_at) VALUES ($1, $2, $3::timestamptz)
           ON CONFLICT (jti) DO NOTHING
           RETURNING jti
         )
         SELECT pg_notify($4, $5) FROM inserted`,
        [entry.jti, entry.clientId, entry.expiresAt.toISOString(), channel, payload],
      );
    },
    /**
     * Records a revoked grant (idempotent: a later revocation keeps the later end) and tells every
     * server, in one statement like `insert`.
     */
    async insertGrant(entry: { grantId: string; expiresAt: Date }): Promise<void> {
      const [channel, payload] = bus.notification(grantRevoked, {
        grantId: entry.grantId,
        exp: Math.floor(entry.expiresAt.getTime() / 1000),
      });
      await sql(
        `WITH written AS (
           INSERT INTO revoked_grants (grant_id, expires_at) VALUES ($1, $2::timestamptz)
           ON CONFLICT (grant_id) DO UPDATE SET expires_at = EXCLUDED.expires_at WHERE revoked_grants.expires_at < EXCLUDED.expires_at
           RETURNING 1
         )
         SELECT pg_notify($3, $4) FROM written`,
        [entry.grantId, entry.expiresAt.toISOString(), channel, payload],
      );
    },
    async findUnexpiredGrants(now: Date): Promise<{ grantId: string; expiresAt: Date }[]> {
      return prisma.revokedGrant.findMany({ where: { expiresAt: { gt: now } }, select: { grantId: true, expiresAt: true } });
    },
    async findUnexpired(now: Date): Promise<{ jti: string; expiresAt: Date }[]> {
      return prisma.revokedToken.findMany({ where: { expiresAt: { gt: now } }, select: { jti: true, expiresAt: true } });
    },
    async deleteExpired(now: Date): Promise<number> {
      const [tokens, grants] = await Promise.all([
        prisma.revokedToken.deleteMany({ where: { expiresAt: { lte: now } } }),
        prisma.revokedGrant.deleteMany({ where: { expiresAt: { lte: now } } }),
      ]);
      return tokens.count + grants.count;
    },
  };
}

export type TokenRevocationStore = ReturnType<typeof createTokenRevocationStore>;

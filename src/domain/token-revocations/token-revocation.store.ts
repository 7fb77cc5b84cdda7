import { CHANGES_CHANNEL, type Change } from '../../db/changes.ts';
import type { PrismaClient } from '../../db/database.ts';

export function createTokenRevocationStore(prisma: PrismaClient) {
  return {
    /**
     * Records a revoked JWT by jti (idempotent) and tells every server. One statement, so one round
     * trip and atomic on its own: the notification goes out only if this call inserted the row
     * (ON CONFLICT DO NOTHING: revoking twice, even concurrently, is not an error, RFC 7009 §2.2).
     */
    async insert(entry: { jti: string; clientId: string | null; expiresAt: Date }): Promise<void> {
      const change: Change = { kind: 'revoked-token', jti: entry.jti, exp: Math.floor(entry.expiresAt.getTime() / 1000) };
      await prisma.$executeRaw`
        WITH inserted AS (
          INSERT INTO revoked_tokens (jti, client_id, expires_at) VALUES (${entry.jti}, ${entry.clientId}, ${entry.expiresAt})
          ON CONFLICT (jti) DO NOTHING
          RETURNING jti
        )
        SELECT pg_notify(${CHANGES_CHANNEL}, ${JSON.stringify(change)}) FROM inserted`;
    },
    async findUnexpired(now: Date): Promise<{ jti: string; expiresAt: Date }[]> {
      return prisma.revokedToken.findMany({ where: { expiresAt: { gt: now } }, select: { jti: true, expiresAt: true } });
    },
    async deleteExpired(now: Date): Promise<number> {
      const { count } = await prisma.revokedToken.deleteMany({ where: { expiresAt: { lte: now } } });
      return count;
    },
  };
}

export type TokenRevocationStore = ReturnType<typeof createTokenRevocationStore>;

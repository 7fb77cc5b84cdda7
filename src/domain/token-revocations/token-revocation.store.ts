import { publishChange } from '../../db/changes.ts';
import type { PrismaClient } from '../../db/database.ts';

export function createTokenRevocationStore(prisma: PrismaClient) {
  return {
    /** Records a revoked JWT by jti (idempotent) and tells every server. */
    async insert(entry: { jti: string; clientId: string | null; expiresAt: Date }): Promise<void> {
      await prisma.$transaction(async (tx) => {
        // ON CONFLICT DO NOTHING: revoking twice (even concurrently) is not an error (RFC 7009 §2.2).
        await tx.revokedToken.createMany({ data: [entry], skipDuplicates: true });
        await publishChange(tx, { kind: 'revoked-token', jti: entry.jti, exp: Math.floor(entry.expiresAt.getTime() / 1000) });
      });
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

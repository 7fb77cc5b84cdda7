import type { PrismaClient } from '../../db/database.ts';
import type { Clock } from '../../lib/clock.ts';

/** A stored oidc-provider model instance (session, grant, code, opaque token, interaction…). */
export type ArtifactPayload = Record<string, unknown> & {
  grantId?: string;
  userCode?: string;
  uid?: string;
  consumed?: number;
};

/**
 * Storage behind oidc-provider's adapter contract, one table for every model
 * (https://github.com/panva/node-oidc-provider/blob/main/example/my_adapter.js). Expired rows are
 * invisible to reads and removed by `deleteExpired`.
 */
export function createOidcArtifactStore(prisma: PrismaClient, clock: Clock) {
  const live = () => ({ OR: [{ expiresAt: null }, { expiresAt: { gt: clock.now() } }] });
  const withConsumed = (row: { payload: unknown; consumedAt: Date | null }): ArtifactPayload => {
    const payload = row.payload as ArtifactPayload;
    return row.consumedAt ? { ...payload, consumed: Math.floor(row.consumedAt.getTime() / 1000) } : payload;
  };

  return {
    async upsert(model: string, id: string, payload: ArtifactPayload, expiresInSeconds: number | undefined): Promise<void> {
      const expiresAt = expiresInSeconds ? new Date(clock.now().getTime() + expiresInSeconds * 1000) : null;
      const text = (v: unknown) => (typeof v === 'string' ? v : null);
      // One statement, atomic under concurrency (Prisma's upsert is a read then a write).
      await prisma.$executeRaw`
        INSERT INTO oidc_artifacts (model, id, payload, grant_id, user_code, uid, expires_at)
        VALUES (${model}, ${id}, ${JSON.stringify(payload)}::jsonb, ${text(payload.grantId)}, ${text(payload.userCode)}, ${text(payload.uid)}, ${expiresAt})
        ON CONFLICT (model, id) DO UPDATE SET payload = EXCLUDED.payload, grant_id = EXCLUDED.grant_id,
          user_code = EXCLUDED.user_code, uid = EXCLUDED.uid, expires_at = EXCLUDED.expires_at`;
    },
    async find(model: string, id: string): Promise<ArtifactPayload | undefined> {
      const row = await prisma.oidcArtifact.findFirst({ where: { model, id, ...live() } });
      return row ? withConsumed(row) : undefined;
    },
    async findByUserCode(model: string, userCode: string): Promise<ArtifactPayload | undefined> {
      const row = await prisma.oidcArtifact.findFirst({ where: { model, userCode, ...live() } });
      return row ? withConsumed(row) : undefined;
    },
    async findByUid(model: string, uid: string): Promise<ArtifactPayload | undefined> {
      const row = await prisma.oidcArtifact.findFirst({ where: { model, uid, ...live() } });
      return row ? withConsumed(row) : undefined;
    },
    async consume(model: string, id: string): Promise<void> {
      await prisma.oidcArtifact.updateMany({ where: { model, id }, data: { consumedAt: clock.now() } });
    },
    async destroy(model: string, id: string): Promise<void> {
      await prisma.oidcArtifact.deleteMany({ where: { model, id } });
    },
    /** Removes everything issued under a grant (any model): codes, tokens, the grant itself. */
    async revokeByGrantId(grantId: string): Promise<void> {
      await prisma.oidcArtifact.deleteMany({ where: { grantId } });
    },
    async deleteExpired(): Promise<number> {
      const { count } = await prisma.oidcArtifact.deleteMany({ where: { expiresAt: { lte: clock.now() } } });
      return count;
    },
  };
}

export type OidcArtifactStore = ReturnType<typeof createOidcArtifactStore>;

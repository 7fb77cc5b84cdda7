import { CHANGES_CHANNEL, type Change } from '../../db/changes.ts';
import type { Database } from '../../db/database.ts';
import type { Clock } from '../../lib/clock.ts';

/** A stored oidc-provider model instance (session, grant, code, opaque token, interaction…). */
export type ArtifactPayload = Record<string, unknown> & {
  grantId?: string;
  userCode?: string;
  uid?: string;
  consumed?: number;
};

/** A live row: its payload (with `consumed` when it was consumed) and what the cache needs. */
export interface ArtifactRow {
  model: string;
  id: string;
  payload: ArtifactPayload;
  grantId: string | null;
  expiresAt: Date | null;
}

/**
 * Storage behind oidc-provider's adapter contract, one table for every model
 * (https://github.com/panva/node-oidc-provider/blob/main/example/my_adapter.js). Expired rows are
 * invisible to reads and removed by `deleteExpired`. Every write announces itself (pg_notify in the
 * same statement, so only when a row changed and only if it commits): each instance caches rows it
 * read (oidc-artifact.service.ts) and drops them when told.
 */
export function createOidcArtifactStore(db: Pick<Database, 'prisma' | 'sql'>, clock: Clock) {
  const { prisma, sql } = db;
  const live = () => ({ OR: [{ expiresAt: null }, { expiresAt: { gt: clock.now() } }] });
  const withConsumed = (row: { payload: unknown; consumedAt: Date | null }): ArtifactPayload => {
    const payload = row.payload as ArtifactPayload;
    return row.consumedAt ? { ...payload, consumed: Math.floor(row.consumedAt.getTime() / 1000) } : payload;
  };
  const changed = (model: string, id: string) => JSON.stringify({ kind: 'artifact', model, id } satisfies Change);

  // The statements on the token paths (issue, introspect, revoke) go to the driver directly (see
  // Database.sql); the rare ones keep Prisma's query builder.
  return {
    async upsert(model: string, id: string, payload: ArtifactPayload, expiresInSeconds: number | undefined): Promise<void> {
      const expiresAt = expiresInSeconds ? new Date(clock.now().getTime() + expiresInSeconds * 1000).toISOString() : null;
      const text = (v: unknown) => (typeof v === 'string' ? v : null);
      // One statement, atomic under concurrency (Prisma's upsert is a read then a write).
      await sql(
        `WITH written AS (
           INSERT INTO oidc_artifacts (model, id, payload, grant_id, user_code, uid, expires_at)
           VALUES ($1, $2, $3::jsonb, $4, $5, $6, $7::timestamptz)
           ON CONFLICT (model, id) DO UPDATE SET payload = EXCLUDED.payload, grant_id = EXCLUDED.grant_id,
             user_code = EXCLUDED.user_code, uid = EXCLUDED.uid, expires_at = EXCLUDED.expires_at
           RETURNING 1
         )
         SELECT pg_notify($8, $9) FROM written`,
        [
          model,
          id,
          JSON.stringify(payload),
          text(payload.grantId),
          text(payload.userCode),
          text(payload.uid),
          expiresAt,
          CHANGES_CHANNEL,
          changed(model, id),
        ],
      );
    },
    /** The live rows with this id among `models` (an id belongs to one model, but callers may not know which). */
    async findRows(models: string[], id: string): Promise<ArtifactRow[]> {
      const rows = await sql<{
        model: string;
        id: string;
        payload: unknown;
        grant_id: string | null;
        expires_at: Date | null;
        consumed_at: Date | null;
      }>(
        `SELECT model, id, payload, grant_id, expires_at, consumed_at FROM oidc_artifacts
         WHERE model = ANY($1::text[]) AND id = $2 AND (expires_at IS NULL OR expires_at > $3::timestamptz)`,
        [models, id, clock.now().toISOString()],
      );
      return rows.map((row) => ({
        model: row.model,
        id: row.id,
        payload: withConsumed({ payload: row.payload, consumedAt: row.consumed_at }),
        grantId: row.grant_id,
        expiresAt: row.expires_at,
      }));
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
      await sql(
        `WITH written AS (UPDATE oidc_artifacts SET consumed_at = $1::timestamptz WHERE model = $2 AND id = $3 RETURNING 1)
         SELECT pg_notify($4, $5) FROM written`,
        [clock.now().toISOString(), model, id, CHANGES_CHANNEL, changed(model, id)],
      );
    },
    async destroy(model: string, id: string): Promise<void> {
      await sql(
        `WITH deleted AS (DELETE FROM oidc_artifacts WHERE model = $1 AND id = $2 RETURNING 1)
         SELECT pg_notify($3, $4) FROM deleted`,
        [model, id, CHANGES_CHANNEL, changed(model, id)],
      );
    },
    /** Removes everything issued under a grant (any model): codes, tokens, the grant itself. */
    async revokeByGrantId(grantId: string): Promise<void> {
      const change = JSON.stringify({ kind: 'artifact-grant', grantId } satisfies Change);
      await sql(
        `WITH deleted AS (DELETE FROM oidc_artifacts WHERE grant_id = $1 RETURNING 1)
         SELECT pg_notify($2, $3) WHERE EXISTS (SELECT 1 FROM deleted)`,
        [grantId, CHANGES_CHANNEL, change],
      );
    },
    async deleteExpired(): Promise<number> {
      const { count } = await prisma.oidcArtifact.deleteMany({ where: { expiresAt: { lte: clock.now() } } });
      return count;
    },
  };
}

export type OidcArtifactStore = ReturnType<typeof createOidcArtifactStore>;

import type { ChangeBus } from '../../db/change-bus.ts';
import type { Database } from '../../db/database.ts';
import { MIGRATION_LOCK_KEY } from '../../db/migrator.ts';
import type { Clock } from '../../lib/clock.ts';
import { artifactChanged, artifactGrantRevoked } from './oidc-artifact.changes.ts';

/** A stored oidc-provider model instance (session, grant, code, opaque token, interaction…). */
export type ArtifactPayload = Record<string, unknown> & {
  grantId?: string;
  userCode?: string;
  uid?: string;
  consumed?: number;
};

/**
 * A live row as stored. `id` is the keyed digest of the model's id and `payload` is sealed
 * (oidc-artifact.service.ts), except in a row written before ids were digested (see `sealLegacyRows`).
 */
export interface StoredArtifact {
  model: string;
  id: string;
  payload: unknown;
  grantId: string | null;
  expiresAt: Date | null;
  consumedAt: Date | null;
}

/** The columns the find-by lookups and the janitor use, beside the payload. */
export interface ArtifactColumns {
  grantId: string | null;
  /** keyed digest of the device flow's user code */
  userCode: string | null;
  uid: string | null;
}

/** A row written before ids were digested: plain id, plain user code, plain payload. */
export interface LegacyArtifact {
  model: string;
  id: string;
  payload: Record<string, unknown>;
  userCode: string | null;
}

/**
 * Storage behind oidc-provider's adapter contract, one table for every model
 * (https://github.com/panva/node-oidc-provider/blob/main/example/my_adapter.js). It stores what the
 * service gives it: digests and sealed payloads, never a bearer value. Expired rows are invisible to
 * reads and removed by `deleteExpired`. Every write announces itself (pg_notify in the same
 * statement, so only when a row changed and only if it commits): each instance caches rows it read
 * (oidc-artifact.service.ts) and drops them when told.
 */
export function createOidcArtifactStore(db: Pick<Database, 'prisma' | 'sql' | 'rawTransaction'>, bus: ChangeBus, clock: Clock) {
  const { prisma, sql } = db;
  const live = () => ({ OR: [{ expiresAt: null }, { expiresAt: { gt: clock.now() } }] });
  // The announced id is the digest the row is stored under: a notification never carries a token.
  const changed = (model: string, id: string) => bus.notification(artifactChanged, { model, digest: id });
  const fromPrisma = (row: {
    model: string;
    id: string;
    payload: unknown;
    grantId: string | null;
    expiresAt: Date | null;
    consumedAt: Date | null;
  }): StoredArtifact => ({
    model: row.model,
    id: row.id,
    payload: row.payload,
    grantId: row.grantId,
    expiresAt: row.expiresAt,
    consumedAt: row.consumedAt,
  });

  // The statements on the token paths (issue, introspect, revoke) go to the driver directly (see
  // Database.sql); the rare ones keep Prisma's query builder.
  return {
    async upsert(
      model: string,
      id: string,
      payload: Record<string, unknown>,
      columns: ArtifactColumns,
      expiresInSeconds: number | undefined,
    ): Promise<void> {
      const expiresAt = expiresInSeconds ? new Date(clock.now().getTime() + expiresInSeconds * 1000).toISOString() : null;
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
        [model, id, JSON.stringify(payload), columns.grantId, columns.userCode, columns.uid, expiresAt, ...changed(model, id)],
      );
    },
    /** The live rows with this id among `models` (an id belongs to one model, but callers may not know which). */
    async findRows(models: string[], id: string): Promise<StoredArtifact[]> {
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
        payload: row.payload,
        grantId: row.grant_id,
        expiresAt: row.expires_at,
        consumedAt: row.consumed_at,
      }));
    },
    async findByUserCode(model: string, userCode: string): Promise<StoredArtifact | undefined> {
      const row = await prisma.oidcArtifact.findFirst({ where: { model, userCode, ...live() } });
      return row ? fromPrisma(row) : undefined;
    },
    async findByUid(model: string, uid: string): Promise<StoredArtifact | undefined> {
      // The latest when several share it (a grant's lookup key: the newest grant of an account for a client).
      const row = await prisma.oidcArtifact.findFirst({ where: { model, uid, ...live() }, orderBy: { expiresAt: 'desc' } });
      return row ? fromPrisma(row) : undefined;
    },
    /**
     * Marks a live row consumed, atomically: true for the one call that did, false for every other
     * (consumed already, by a concurrent request too, or no such live row). The check and the write
     * are one conditional UPDATE, so of two requests presenting the same refresh token or code at
     * once exactly one wins, whatever instance each reached (RFC 9700 §4.14.2, RFC 6749 §4.1.2).
     */
    async consume(model: string, id: string): Promise<boolean> {
      const now = clock.now().toISOString();
      const rows = await sql(
        `WITH written AS (
           UPDATE oidc_artifacts SET consumed_at = $1::timestamptz
           WHERE model = $2 AND id = $3 AND consumed_at IS NULL AND (expires_at IS NULL OR expires_at > $1::timestamptz)
           RETURNING 1
         )
         SELECT pg_notify($4, $5) FROM written`,
        [now, model, id, ...changed(model, id)],
      );
      return rows.length > 0;
    },
    async destroy(model: string, id: string): Promise<void> {
      await sql(
        `WITH deleted AS (DELETE FROM oidc_artifacts WHERE model = $1 AND id = $2 RETURNING 1)
         SELECT pg_notify($3, $4) FROM deleted`,
        [model, id, ...changed(model, id)],
      );
    },
    /** Removes everything issued under a grant (any model): codes, tokens, the grant itself. */
    async revokeByGrantId(grantId: string): Promise<void> {
      await sql(
        `WITH deleted AS (DELETE FROM oidc_artifacts WHERE grant_id = $1 RETURNING 1)
         SELECT pg_notify($2, $3) WHERE EXISTS (SELECT 1 FROM deleted)`,
        [grantId, ...bus.notification(artifactGrantRevoked, { grantId })],
      );
    },
    async deleteExpired(): Promise<number> {
      const { count } = await prisma.oidcArtifact.deleteMany({ where: { expiresAt: { lte: clock.now() } } });
      return count;
    },

    /**
     * Rewrites rows stored the old way (plain id and payload: no `sealed` key) through `convert`,
     * `batchSize` rows per transaction, and returns how many it rewrote. Idempotent and safe while
     * other instances run: each batch holds the migration lock (one instance at a time) and locks
     * its rows, and a row whose new id is taken already (written since by upgraded code) keeps that
     * newer row. A server of an earlier version may still write old rows during a rolling upgrade:
     * the janitor calls this again.
     */
    async sealLegacyRows(
      convert: (row: LegacyArtifact) => { id: string; payload: Record<string, unknown>; userCode: string | null },
      batchSize = 500,
    ): Promise<number> {
      let total = 0;
      for (;;) {
        const count = await db.rawTransaction(async (tx) => {
          await tx.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY.toString()]);
          const rows = await tx.query<{ model: string; id: string; payload: Record<string, unknown>; user_code: string | null }>(
            `SELECT model, id, payload, user_code FROM oidc_artifacts WHERE NOT (payload ? 'sealed') LIMIT $1 FOR UPDATE`,
            [batchSize],
          );
          for (const row of rows) {
            const next = convert({ model: row.model, id: row.id, payload: row.payload, userCode: row.user_code });
            // Announced like any write (instances may hold a miss for the new digest).
            await tx.query(
              `WITH legacy AS (DELETE FROM oidc_artifacts WHERE model = $1 AND id = $2 RETURNING grant_id, uid, expires_at, consumed_at),
               written AS (
                 INSERT INTO oidc_artifacts (model, id, payload, grant_id, user_code, uid, expires_at, consumed_at)
                 SELECT $1, $3, $4::jsonb, grant_id, $5, uid, expires_at, consumed_at FROM legacy
                 ON CONFLICT (model, id) DO NOTHING
                 RETURNING 1
               )
               SELECT pg_notify($6, $7) FROM written`,
              [row.model, row.id, next.id, JSON.stringify(next.payload), next.userCode, ...changed(row.model, next.id)],
            );
          }
          return rows.length;
        });
        total += count;
        if (count < batchSize) return total;
      }
    },
  };
}

export type OidcArtifactStore = ReturnType<typeof createOidcArtifactStore>;

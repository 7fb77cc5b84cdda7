import type { Clock } from '../../lib/clock.ts';
import type { ArtifactPayload, ArtifactRow, OidcArtifactStore } from './oidc-artifact.store.ts';

/** How many rows to keep in memory; the cache is emptied when it is full. */
const CACHE_LIMIT = 10_000;
/** A cached row is read again after this long even if no change was announced (a safety net). */
const CACHE_MAX_AGE_MS = 60_000;

interface Entry {
  row: ArtifactRow;
  cachedAt: number;
}

/**
 * oidc-provider's stored models (sessions, grants, codes, opaque tokens…), with the rows read by id
 * kept in memory. An API introspects the same opaque token on every call that carries it: after the
 * first, the answer costs no query. Every write drops its row here at once and, through the change
 * notification its statement sends (oidc-artifact.store.ts), on every other instance; a row is also
 * dropped when it expires, after a minute whatever happens, and all of them when the notification
 * connection was lost. A read that raced a drop is not cached (the generation check).
 */
export function createOidcArtifactService({ store, clock }: { store: OidcArtifactStore; clock: Clock }) {
  const entries = new Map<string, Entry>();
  let generation = 0;
  const key = (model: string, id: string) => `${model}\u0000${id}`;

  function fresh(model: string, id: string): ArtifactRow | undefined {
    const entry = entries.get(key(model, id));
    if (!entry) return undefined;
    const now = clock.now().getTime();
    if ((entry.row.expiresAt && entry.row.expiresAt.getTime() <= now) || now - entry.cachedAt > CACHE_MAX_AGE_MS) {
      entries.delete(key(model, id));
      return undefined;
    }
    return entry.row;
  }

  function remember(rows: ArtifactRow[], seen: number): void {
    if (seen !== generation) return;
    if (entries.size + rows.length > CACHE_LIMIT) entries.clear();
    const cachedAt = clock.now().getTime();
    for (const row of rows) entries.set(key(row.model, row.id), { row, cachedAt });
  }

  function forget(model: string, id: string): void {
    generation++;
    entries.delete(key(model, id));
  }

  function forgetGrant(grantId: string): void {
    generation++;
    for (const [k, entry] of entries) if (entry.row.grantId === grantId) entries.delete(k);
  }

  /** A write drops the row before (no read may cache the old row meanwhile) and after it. */
  async function writeThrough(model: string, id: string, write: () => Promise<void>): Promise<void> {
    forget(model, id);
    await write();
    forget(model, id);
  }

  // Callers (oidc-provider's models) get their own copy of the top level.
  const copy = (payload: ArtifactPayload): ArtifactPayload => ({ ...payload });

  return {
    upsert: (model: string, id: string, payload: ArtifactPayload, expiresInSeconds: number | undefined): Promise<void> =>
      writeThrough(model, id, () => store.upsert(model, id, payload, expiresInSeconds)),

    async find(model: string, id: string): Promise<ArtifactPayload | undefined> {
      const hit = fresh(model, id);
      if (hit) return copy(hit.payload);
      const seen = generation;
      const rows = await store.findRows([model], id);
      remember(rows, seen);
      return rows[0] ? copy(rows[0].payload) : undefined;
    },

    /**
     * Which of `models` (tried in this order) holds a live row with this id, or null: one query for
     * all of them, or none when one is cached. For tokens whose kind the caller cannot tell.
     */
    async locate(id: string, models: string[]): Promise<string | null> {
      const cached = models.find((model) => fresh(model, id));
      if (cached) return cached;
      const seen = generation;
      const rows = await store.findRows(models, id);
      remember(rows, seen);
      return models.find((model) => rows.some((row) => row.model === model)) ?? null;
    },

    findByUserCode: (model: string, userCode: string) => store.findByUserCode(model, userCode),
    findByUid: (model: string, uid: string) => store.findByUid(model, uid),

    consume: (model: string, id: string): Promise<void> => writeThrough(model, id, () => store.consume(model, id)),
    destroy: (model: string, id: string): Promise<void> => writeThrough(model, id, () => store.destroy(model, id)),

    async revokeByGrantId(grantId: string): Promise<void> {
      forgetGrant(grantId);
      await store.revokeByGrantId(grantId);
      forgetGrant(grantId);
    },

    deleteExpired: () => store.deleteExpired(),

    /** Applies a change another instance (or this one) announced. */
    invalidate: forget,
    invalidateGrant: forgetGrant,
    /** Drops everything (the notification connection was lost: changes may have been missed). */
    clear(): void {
      generation++;
      entries.clear();
    },
  };
}

export type OidcArtifactService = ReturnType<typeof createOidcArtifactService>;

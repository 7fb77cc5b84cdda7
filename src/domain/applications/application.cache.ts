import { createBoundedCache } from '../../lib/bounded-cache.ts';
import type { ClientRecord } from './application.schema.ts';

export interface ApplicationCacheOptions {
  /** the record of one application, or null */
  load(clientId: string): Promise<ClientRecord | null>;
  /** every client_id that exists (one query) */
  loadIds(): Promise<string[]>;
  /** most application records held at once */
  maxRecords?: number;
  /** database lookups per second allowed for ids the index does not know (and the burst) */
  missesPerSecond?: number;
  now?: () => number;
}

/**
 * In-memory copy of applications by client_id, so client authentication costs no query.
 *
 * Records are kept in a bounded cache (lib/bounded-cache.ts). Beside it, an index of every existing
 * client_id (loaded with one query, kept current by change notifications) answers "unknown" for
 * any other id without a query: a flood of random client_ids would otherwise cost one query each
 * (issue 8, item 4).
 *
 * An id created on another instance is in the database before its notification reaches this one.
 * An index miss may therefore still ask the database, but only under a small global token bucket:
 * in normal operation (a client used right after it was created elsewhere) the answer is exact,
 * and a flood of unknown ids costs at most `missesPerSecond` queries.
 *
 * A change notification names an id without saying whether it was created or deleted, so it puts
 * the id in the index and drops its record; the next lookup reads it and removes it from the index
 * if it is gone. A lookup that raced an invalidation is not stored (the cache's generation check).
 */
export function createApplicationCache({
  load,
  loadIds,
  maxRecords = 10_000,
  missesPerSecond = 20,
  now = () => performance.now(),
}: ApplicationCacheOptions) {
  const records = createBoundedCache<string, ClientRecord>({ max: maxRecords });
  let known = new Set<string>();
  let indexed: Promise<void> | null = null;

  let tokens = missesPerSecond;
  let refilledAt = now();
  function spendMiss(): boolean {
    const t = now();
    tokens = Math.min(missesPerSecond, tokens + ((t - refilledAt) / 1000) * missesPerSecond);
    refilledAt = t;
    if (tokens < 1) return false;
    tokens -= 1;
    return true;
  }

  function ensureIndex(): Promise<void> {
    if (indexed) return indexed;
    const target = new Set<string>();
    known = target;
    const loading = loadIds().then(
      (ids) => {
        for (const id of ids) target.add(id);
      },
      (err) => {
        if (indexed === loading) indexed = null;
        throw err;
      },
    );
    indexed = loading;
    return loading;
  }

  async function read(clientId: string): Promise<ClientRecord | null> {
    const seen = records.generation;
    const loaded = await load(clientId);
    if (seen === records.generation) {
      if (loaded) {
        known.add(clientId);
        records.set(clientId, loaded, seen);
      } else {
        known.delete(clientId);
      }
    }
    return loaded;
  }

  return {
    async get(clientId: string): Promise<ClientRecord | null> {
      const hit = records.peek(clientId);
      if (hit) return hit;
      await ensureIndex();
      if (known.has(clientId)) return read(clientId);
      return spendMiss() ? read(clientId) : null;
    },
    /** `clientId` was created, changed or deleted (here or elsewhere): forget what was held. */
    invalidate(clientId?: string): void {
      if (clientId === undefined) {
        records.clear();
        return;
      }
      records.invalidate(clientId);
      known.add(clientId);
    },
    /** Forgets everything, index included (after a listener reset: notifications may have been lost). */
    reset(): void {
      records.clear();
      indexed = null;
    },
    get size(): number {
      return records.size;
    },
  };
}

export type ApplicationCache = ReturnType<typeof createApplicationCache>;

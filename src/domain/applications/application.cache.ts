import type { ClientRecord } from './application.schema.ts';

/**
 * In-memory copy of applications by client_id, so client authentication costs no query.
 * Entries are dropped when a change notification names them (or on any reset). A lookup that
 * raced an invalidation is not stored: the generation check keeps a stale read out of the cache.
 */
export function createApplicationCache(load: (clientId: string) => Promise<ClientRecord | null>) {
  const entries = new Map<string, ClientRecord>();
  let generation = 0;

  return {
    async get(clientId: string): Promise<ClientRecord | null> {
      const hit = entries.get(clientId);
      if (hit) return hit;
      const seen = generation;
      const loaded = await load(clientId);
      if (loaded && seen === generation) entries.set(clientId, loaded);
      return loaded;
    },
    invalidate(clientId?: string): void {
      generation++;
      if (clientId === undefined) entries.clear();
      else entries.delete(clientId);
    },
    get size(): number {
      return entries.size;
    },
  };
}

export type ApplicationCache = ReturnType<typeof createApplicationCache>;

import { LRUCache } from 'lru-cache';

/**
 * The one in-memory cache of the code base: bounded (least recently used entries go first), with an
 * optional age limit and per-entry expiry, and a **generation check** so a value read from the
 * database while someone invalidated it is never stored (the read may have seen the old row).
 *
 * Every cache of a domain is one of these, owned by that domain's service and invalidated by its
 * own change subscriptions (db/change-bus.ts). Misses can be cached too (`null` values), so a flood
 * of unknown keys costs one load each at most once per entry.
 */
export interface BoundedCacheOptions<V> {
  /** most entries held at once */
  max: number;
  /** an entry older than this is loaded again, whatever happened (a safety net), in ms */
  maxAgeMs?: number;
  /** when a value stops being valid by itself (e.g. the token it holds expires), in epoch ms */
  expiresAt?: (value: V) => number | null | undefined;
  /** epoch ms; injected by tests */
  now?: () => number;
}

interface Entry<V> {
  value: V;
  cachedAt: number;
}

export interface BoundedCache<K, V> {
  /** the fresh value held for `key`, if any */
  peek(key: K): V | undefined;
  /** the held value, or `load()`'s, which is kept unless `key` was invalidated while it loaded */
  getOrLoad(key: K, load: () => Promise<V>): Promise<V>;
  /** stores `value` unless an invalidation happened since `generation` was read */
  set(key: K, value: V, generation?: number): void;
  /** a number that changes with every invalidation: read it before a load, pass it to `set` */
  readonly generation: number;
  invalidate(key: K): void;
  invalidateWhere(predicate: (value: V, key: K) => boolean): void;
  clear(): void;
  readonly size: number;
}

export function createBoundedCache<K extends NonNullable<unknown>, V>(options: BoundedCacheOptions<V>): BoundedCache<K, V> {
  const { max, maxAgeMs, expiresAt, now = Date.now } = options;
  const entries = new LRUCache<K, Entry<V>>({ max });
  let generation = 0;

  function fresh(key: K): Entry<V> | undefined {
    const entry = entries.get(key);
    if (!entry) return undefined;
    const t = now();
    const expiry = expiresAt?.(entry.value);
    if ((maxAgeMs !== undefined && t - entry.cachedAt > maxAgeMs) || (typeof expiry === 'number' && expiry <= t)) {
      entries.delete(key);
      return undefined;
    }
    return entry;
  }

  const cache: BoundedCache<K, V> = {
    peek: (key) => fresh(key)?.value,
    async getOrLoad(key, load) {
      const hit = fresh(key);
      if (hit) return hit.value;
      const seen = generation;
      const value = await load();
      cache.set(key, value, seen);
      return value;
    },
    set(key, value, seen = generation) {
      if (seen !== generation) return;
      entries.set(key, { value, cachedAt: now() });
    },
    get generation() {
      return generation;
    },
    invalidate(key) {
      generation++;
      entries.delete(key);
    },
    invalidateWhere(predicate) {
      generation++;
      for (const [key, entry] of entries.entries()) if (predicate(entry.value, key)) entries.delete(key);
    },
    clear() {
      generation++;
      entries.clear();
    },
    get size() {
      return entries.size;
    },
  };
  return cache;
}

/**
 * A value derived from a source object, recomputed only when the source changes identity: the
 * JWKS document for a key ring, the imported private keys for a key ring.
 */
export function derivedFrom<S extends object, T>(derive: (source: S) => T): (source: S) => T {
  let from: S | undefined;
  let value: T;
  return (source) => {
    if (source !== from) {
      value = derive(source);
      from = source;
    }
    return value;
  };
}

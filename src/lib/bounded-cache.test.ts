import { describe, expect, it } from 'vitest';
import { createBoundedCache, derivedFrom } from './bounded-cache.ts';

describe('createBoundedCache', () => {
  it('loads a missing key once and serves it from memory after', async () => {
    const cache = createBoundedCache<string, number>({ max: 10 });
    let loads = 0;
    const load = async () => ++loads;
    expect(await cache.getOrLoad('a', load)).toBe(1);
    expect(await cache.getOrLoad('a', load)).toBe(1);
    expect(loads).toBe(1);
  });

  it('keeps misses (null) like any other value', async () => {
    const cache = createBoundedCache<string, number | null>({ max: 10 });
    let loads = 0;
    const load = async () => {
      loads++;
      return null;
    };
    await cache.getOrLoad('unknown', load);
    await cache.getOrLoad('unknown', load);
    expect(loads).toBe(1);
  });

  it('does not keep a value loaded while the key was invalidated [generation check]', async () => {
    const cache = createBoundedCache<string, string>({ max: 10 });
    let release: (v: string) => void = () => {};
    const loading = cache.getOrLoad('k', () => new Promise<string>((r) => (release = r)));
    cache.invalidate('k'); // the row changed while the old one was being read
    release('old');
    expect(await loading).toBe('old');
    expect(cache.peek('k')).toBeUndefined();
  });

  it('holds at most `max` entries, dropping the least recently used', () => {
    const cache = createBoundedCache<number, number>({ max: 3 });
    for (const k of [1, 2, 3]) cache.set(k, k);
    cache.peek(1);
    cache.set(4, 4);
    expect(cache.size).toBe(3);
    expect(cache.peek(2)).toBeUndefined();
    expect(cache.peek(1)).toBe(1);
  });

  it('forgets entries past maxAgeMs and values past their own expiry', () => {
    let t = 1_000;
    const cache = createBoundedCache<string, { exp: number }>({ max: 10, maxAgeMs: 100, expiresAt: (v) => v.exp, now: () => t });
    cache.set('short', { exp: 1_050 });
    cache.set('long', { exp: 9_999 });
    t = 1_060;
    expect(cache.peek('short')).toBeUndefined();
    expect(cache.peek('long')).toEqual({ exp: 9_999 });
    t = 1_200;
    expect(cache.peek('long')).toBeUndefined();
  });

  it('invalidates by predicate and entirely', () => {
    const cache = createBoundedCache<string, { grant: string }>({ max: 10 });
    cache.set('a', { grant: 'g1' });
    cache.set('b', { grant: 'g2' });
    cache.invalidateWhere((v) => v.grant === 'g1');
    expect(cache.peek('a')).toBeUndefined();
    expect(cache.peek('b')).toBeDefined();
    cache.clear();
    expect(cache.size).toBe(0);
  });
});

describe('derivedFrom', () => {
  it('recomputes only when the source object changes', () => {
    let computed = 0;
    const lengthOf = derivedFrom((ring: { keys: string[] }) => {
      computed++;
      return ring.keys.length;
    });
    const a = { keys: ['x'] };
    expect(lengthOf(a)).toBe(1);
    expect(lengthOf(a)).toBe(1);
    expect(lengthOf({ keys: ['x', 'y'] })).toBe(2);
    expect(computed).toBe(2);
  });
});

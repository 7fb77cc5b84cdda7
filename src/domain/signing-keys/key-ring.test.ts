import { afterEach, describe, expect, it, vi } from 'vitest';
import { createChangeBus } from '../../db/change-bus.ts';
import { createLogger } from '../../lib/logger.ts';
import { createKeyRing } from './key-ring.ts';
import type { KeyRing } from './signing-key.schema.ts';

const log = createLogger({ level: 'silent' });

function ring(kid: string, nextChangeAt: Date | null = null): KeyRing {
  return { privateJwks: [], publicJwks: [{ kid }], activeKid: { ES256: kid }, nextChangeAt };
}

/** A bus whose notifications and resets this test sends by hand. */
function handBus() {
  const hooks: { message?: (payload: string) => void; reset?: () => void } = {};
  const bus = createChangeBus(
    {
      async listen(_channel, onMessage, onReset) {
        hooks.message = onMessage;
        hooks.reset = onReset;
        return async () => {};
      },
    },
    log,
  );
  return { bus, hooks };
}

describe('live key ring', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('serves the loaded ring, reloads on keysChanged and on a listener reset, and tells its subscribers', async () => {
    const rings = [ring('a'), ring('b'), ring('c')];
    let loads = 0;
    const { bus, hooks } = handBus();
    await bus.start();
    const live = await createKeyRing({ keys: { loadKeyRing: async () => rings[loads++] as KeyRing }, bus, clock: systemLike(), log });
    const seen: string[] = [];
    live.onChange((r) => seen.push(String(r.publicJwks[0]?.kid)));
    expect(live.current().activeKid.ES256).toBe('a');

    hooks.message?.(JSON.stringify({ kind: 'keys' }));
    await vi.waitFor(() => expect(live.current().activeKid.ES256).toBe('b'));
    hooks.reset?.();
    await vi.waitFor(() => expect(live.current().activeKid.ES256).toBe('c'));
    expect(seen).toEqual(['b', 'c']);
    await live.stop();
  });

  it('reloads by itself when the ring says it changes (a pending key starts signing)', async () => {
    vi.useFakeTimers({ now: Date.UTC(2026, 0, 1) });
    const soon = new Date(Date.now() + 60_000);
    const rings = [ring('a', soon), ring('b')];
    let loads = 0;
    const { bus } = handBus();
    const live = await createKeyRing({ keys: { loadKeyRing: async () => rings[loads++] as KeyRing }, bus, clock: systemLike(), log });
    await vi.advanceTimersByTimeAsync(30_000);
    expect(live.current().activeKid.ES256).toBe('a');
    await vi.advanceTimersByTimeAsync(31_000); // the change, plus the second of margin
    expect(live.current().activeKid.ES256).toBe('b');
    await live.stop();
  });

  it('runs reloads one after another, each reading after it was asked for', async () => {
    let loads = 0;
    let inFlight = 0;
    let overlapped = false;
    const { bus } = handBus();
    const live = await createKeyRing({
      keys: {
        loadKeyRing: async () => {
          inFlight++;
          if (inFlight > 1) overlapped = true;
          await new Promise((r) => setTimeout(r, 5));
          inFlight--;
          return ring(`k${loads++}`);
        },
      },
      bus,
      clock: systemLike(),
      log,
    });
    await Promise.all([live.reload(), live.reload(), live.reload()]);
    expect(overlapped).toBe(false);
    expect(loads).toBe(4); // the first load, then one per call
    await live.stop();
  });
});

function systemLike() {
  return { now: () => new Date(), epoch: () => Math.floor(Date.now() / 1000) };
}

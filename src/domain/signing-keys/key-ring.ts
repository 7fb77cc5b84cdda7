import type { Logger } from 'pino';
import type { ChangeBus } from '../../db/change-bus.ts';
import type { Clock } from '../../lib/clock.ts';
import { keysChanged } from './signing-key.changes.ts';
import type { KeyRing } from './signing-key.schema.ts';
import type { SigningKeyService } from './signing-key.service.ts';

/**
 * The keys in use right now, kept current: loaded at start, reloaded when any instance changes the
 * keys (keysChanged), when the change listener reconnected, and when the ring's own dates say it
 * changes (a pending key starts signing, a retiring one leaves the JWKS). Whatever derives from
 * the keys (the token signer, the JWT verifier, the JWKS and discovery documents, the
 * oidc-provider instance) reads `current()` or subscribes with `onChange`.
 */
export interface LiveKeyRing {
  /** the ring in use; a new object after every reload, so consumers can tell a change by identity */
  current(): KeyRing;
  /** reloads now (after any reload in progress) and tells the subscribers */
  reload(): Promise<KeyRing>;
  /** calls `listener` after each reload with the new ring; returns the unsubscribe function */
  onChange(listener: (ring: KeyRing) => void): () => void;
  /** stops the timer and waits for a reload in progress */
  stop(): Promise<void>;
}

/** Never wait longer than this between reloads of a timer (setTimeout's limit is 2^31-1 ms). */
const MAX_TIMER_MS = 2 ** 31 - 1;

export async function createKeyRing(deps: {
  keys: Pick<SigningKeyService, 'loadKeyRing'>;
  bus: ChangeBus;
  clock: Clock;
  log: Logger;
}): Promise<LiveKeyRing> {
  const { keys, bus, clock, log } = deps;
  let ring = await keys.loadKeyRing();
  const listeners = new Set<(ring: KeyRing) => void>();
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;

  function schedule(): void {
    if (timer) clearTimeout(timer);
    timer = undefined;
    if (stopped || !ring.nextChangeAt) return;
    // A second late, so the change has happened by the clock's reading when the ring reloads.
    const delay = Math.min(Math.max(ring.nextChangeAt.getTime() - clock.now().getTime() + 1000, 1000), MAX_TIMER_MS);
    timer = setTimeout(() => void reloadLogged(), delay);
    timer.unref();
  }

  async function load(): Promise<KeyRing> {
    const next = await keys.loadKeyRing();
    ring = next;
    schedule();
    log.info({ kids: next.publicJwks.map((k) => k.kid) }, 'signing keys loaded');
    for (const listener of listeners) {
      try {
        listener(next);
      } catch (err) {
        log.error({ err }, 'applying new signing keys failed');
      }
    }
    return next;
  }

  // Reloads run one after another, and each call gets a load that started after it was made: a
  // change announced while a reload was reading is never missed.
  let chain: Promise<unknown> = Promise.resolve();
  function reload(): Promise<KeyRing> {
    const next = chain.then(load, load);
    chain = next.catch(() => {});
    return next;
  }

  const reloadLogged = () => reload().catch((err) => log.error({ err }, 'reloading signing keys failed'));
  const unsubscribe = [bus.subscribe(keysChanged, () => void reloadLogged()), bus.onReset(() => void reloadLogged())];
  schedule();

  return {
    current: () => ring,
    reload,
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      for (const off of unsubscribe) off();
      await chain;
    },
  };
}

import { randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';
import argon2 from 'argon2';

/**
 * Password hashing (argon2id, PHC strings). Human-chosen secrets only: a hash costs tens of
 * milliseconds by design, so it never sits on a per-request path (generated secrets get a keyed
 * digest instead, DESIGN.md §4). Parameters come from config; tests use cheap ones.
 */
export interface PasswordHashParams {
  /** memory cost in KiB (argon2 needs ≥ 8 per lane) */
  memoryKiB: number;
  /** time cost: passes over the memory */
  iterations: number;
  /** lanes; each occupies a libuv pool thread while it runs */
  parallelism: number;
}

export interface PasswordHasher {
  /** A new argon2id PHC string for `password` (random salt). */
  hash(password: string): Promise<string>;
  /** Whether `password` matches `hash`; false, never an exception, for a malformed hash. */
  verify(hash: string, password: string): Promise<boolean>;
  /** Whether `hash` was made with other parameters than the current ones (upgrade it at sign-in). */
  needsRehash(hash: string): boolean;
  /**
   * Spends the cost of one verification against nothing: called for unknown accounts so that they
   * answer in the same time as a wrong password (the hash is made once, lazily).
   */
  verifyNothing(password: string): Promise<void>;
}

/**
 * At most this many hashes are computed at once, the others wait their turn. Each holds its memory
 * cost (19 MiB by default) while it runs, and libuv's pool would otherwise run four: a burst of
 * sign-ins costs `limit × memory` at most, and on a 2-core machine one more at once gains no
 * throughput, only memory (measured: `npm run bench -- --scenarios code-flow`).
 */
const concurrentHashesDefault = (): number => Math.max(1, Math.min(4, availableParallelism()));

export function createPasswordHasher(params: PasswordHashParams, concurrent = concurrentHashesDefault()): PasswordHasher {
  const gate = createGate(concurrent);
  const options = {
    type: argon2.argon2id,
    memoryCost: params.memoryKiB,
    timeCost: params.iterations,
    parallelism: params.parallelism,
  } as const;
  let dummy: Promise<string> | undefined;

  const hasher: PasswordHasher = {
    hash: (password) => gate(() => argon2.hash(password, options)),
    async verify(hash, password) {
      try {
        return await gate(() => argon2.verify(hash, password));
      } catch {
        return false;
      }
    },
    needsRehash(hash) {
      try {
        return argon2.needsRehash(hash, { memoryCost: options.memoryCost, timeCost: options.timeCost, parallelism: options.parallelism });
      } catch {
        return true;
      }
    },
    async verifyNothing(password) {
      dummy ??= hasher.hash(randomBytes(16).toString('base64url'));
      await hasher.verify(await dummy, password);
    },
  };
  return hasher;
}

/** Runs at most `limit` of the tasks given to it at once; the rest start in arrival order. */
function createGate(limit: number) {
  let running = 0;
  const waiting: Array<() => void> = [];
  return async function gate<T>(task: () => Promise<T>): Promise<T> {
    if (running >= limit) await new Promise<void>((resolve) => waiting.push(resolve));
    else running++;
    try {
      return await task();
    } finally {
      // The slot passes straight to the next in line (running stays the same), or is freed.
      const next = waiting.shift();
      if (next) next();
      else running--;
    }
  };
}

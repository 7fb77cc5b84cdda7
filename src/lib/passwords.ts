import { randomBytes } from 'node:crypto';
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

export function createPasswordHasher(params: PasswordHashParams): PasswordHasher {
  const options = {
    type: argon2.argon2id,
    memoryCost: params.memoryKiB,
    timeCost: params.iterations,
    parallelism: params.parallelism,
  } as const;
  let dummy: Promise<string> | undefined;

  const hasher: PasswordHasher = {
    hash: (password) => argon2.hash(password, options),
    async verify(hash, password) {
      try {
        return await argon2.verify(hash, password);
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
      dummy ??= argon2.hash(randomBytes(16).toString('base64url'), options);
      await hasher.verify(await dummy, password);
    },
  };
  return hasher;
}

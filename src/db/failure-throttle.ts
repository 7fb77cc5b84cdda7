import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { Logger } from 'pino';
import { type RateLimiterAbstract, RateLimiterMemory, RateLimiterPostgres, RateLimiterRes } from 'rate-limiter-flexible';
import { hasControlCharacters } from '../lib/control-characters.ts';

/**
 * The core of Gatehouse's throttles of failed authentication (client secrets at the OAuth
 * endpoints, passwords on the admin API and, later, the sign-in page): failures counted per key in
 * fixed windows, a block past the limit that doubles with each further block of the same key within
 * a day, counts shared by every instance through PostgreSQL. It knows nothing of HTTP; each throttle
 * decides which keys a request counts against, what a block answers, and what it logs.
 *
 * - Each instance counts every failure in memory. On PostgreSQL it also adds its counts to the
 *   shared ones (an UNLOGGED table, `client_auth_throttle`, created by a migration), every
 *   `forwardEvery` failures of a key rather than every one, so all instances agree within that
 *   margin while a flood costs at most one upsert per `forwardEvery` failures of one key.
 *   On PGlite one process owns the database: memory is the whole truth.
 * - Each instance remembers the blocks it has seen, so a blocked source's further failures cost no
 *   query at all.
 * - If the database cannot be reached the counts fall back to this process's memory
 *   (`insuranceLimiter`): failures stay failures, the throttle works per instance.
 */

/** The table rate-limiter-flexible's RateLimiterPostgres uses (created by a migration, never at run time). */
export const THROTTLE_TABLE = 'client_auth_throttle';

/** Where counts are shared: PostgreSQL (one statement at a time) or this process's memory. */
export type ThrottleStore =
  | { kind: 'memory' }
  | { kind: 'postgres'; query(text: string, values: unknown[]): Promise<Record<string, unknown>[]> };

/** One limit: at most `maxFailures` failures of a key per window of `windowSeconds`. */
export interface FailureLimit {
  /** the limit's name in logs and results (`client_id`, `ip`, `account`…) */
  name: string;
  /** the prefix of its keys in the store (distinct per limit and throttle) */
  keyPrefix: string;
  maxFailures: number;
  windowSeconds: number;
  /**
   * how many local failures of a key are added to the shared count at once (default a fifth of the
   * limit); 1 forwards every failure
   */
  forwardEvery?: number;
}

/** A failure counts against `key` under the limit named `limit`. */
export interface FailureSubject {
  limit: string;
  key: string;
}

/** What counting one failure of a subject found. */
export interface CountedFailure {
  subject: FailureSubject;
  /** failures of the key in its window as this instance knows them (0 when counting failed) */
  failures: number;
  maxFailures: number;
  /** how long the key is blocked now (0: not blocked) */
  blockedMs: number;
}

export interface FailureThrottleOptions {
  store: ThrottleStore;
  limits: readonly FailureLimit[];
  /** prefix of the store keys counting each key's blocks (for the doubling) */
  blocksKeyPrefix: string;
  /** the first block of a key; each further one within a day lasts twice as long */
  blockSeconds: number;
  /** the longest block (the doubling stops here) */
  maxBlockSeconds: number;
  /** says what a warning is about (`client authentication throttle`) */
  name: string;
}

export interface BlockStarted {
  subject: FailureSubject;
  limit: FailureLimit;
  blockSeconds: number;
}

export interface FailureThrottle {
  /** The longest block among `subjects` this instance knows of, in ms (0: none). No query. */
  knownBlockMs(subjects: readonly FailureSubject[]): number;
  /**
   * The longest block among `subjects`, asking the shared store about those this instance knows no
   * block of (one read per subject on PostgreSQL, none on PGlite). For checks before expensive work
   * (a password hash) that must not run during another instance's block.
   */
  blockedMs(subjects: readonly FailureSubject[], log: Logger): Promise<number>;
  /**
   * Counts one failure of each subject, unless one is already known to be blocked (then nothing is
   * counted and that block is returned). `onBlock` is told of each block this failure starts.
   */
  recordFailure(subjects: readonly FailureSubject[], log: Logger, onBlock?: (block: BlockStarted) => void): Promise<CountedFailure[]>;
  /** A limiter on the same store, for marks a throttle keeps beside its counts. */
  limiter(keyPrefix: string, points: number, durationSeconds: number): RateLimiterAbstract;
  /** Deletes counts and blocks (of every throttle on the table) that ended over an hour ago. */
  purgeExpired(): Promise<void>;
}

/** Blocks of one key are counted (for the doubling) over this long. */
const BLOCK_MEMORY_SECONDS = 86400;
/** Blocks this instance remembers without asking the store; the oldest are forgotten first. */
const LOCAL_BLOCKS_MAX = 100_000;
/** Stored keys are at most varchar(255); longer or odd values are stored as a digest. */
const LONGEST_PLAIN_KEY = 100;
/** By default counts reach the shared store every this-many failures of a key: a fifth of the limit. */
const FORWARD_FRACTION = 5;

interface Dimension {
  limit: FailureLimit;
  /** this instance's own count, the one every failure goes to (no query) */
  local: RateLimiterAbstract;
  /** the count all instances share (PostgreSQL), or null when memory is the whole truth (PGlite) */
  shared: RateLimiterAbstract | null;
  forwardEvery: number;
}

export function createFailureThrottle(options: FailureThrottleOptions): FailureThrottle {
  const { store } = options;
  const pgClient =
    store.kind === 'postgres'
      ? {
          // The shape RateLimiterPostgres expects of a pg client; statements go through the server's pool.
          async query(q: { text: string; values?: unknown[] }) {
            const rows = await store.query(q.text, q.values ?? []);
            return { rows, rowCount: rows.length };
          },
        }
      : undefined;
  const limiter = (keyPrefix: string, points: number, duration: number): RateLimiterAbstract => {
    const limiterOptions = { keyPrefix, points, duration };
    if (!pgClient) return new RateLimiterMemory(limiterOptions);
    return new RateLimiterPostgres({
      ...limiterOptions,
      storeClient: pgClient,
      storeType: 'client',
      tableName: THROTTLE_TABLE,
      tableCreated: true, // the migration created it; the library must not run DDL
      clearExpiredByTimeout: false, // purgeExpired runs from the server's janitor instead of a timer per limiter
      insuranceLimiter: new RateLimiterMemory(limiterOptions),
    });
  };

  const dimensions = new Map<string, Dimension>(
    options.limits.map((limit) => [
      limit.name,
      {
        limit,
        local: new RateLimiterMemory({ keyPrefix: limit.keyPrefix, points: limit.maxFailures, duration: limit.windowSeconds }),
        shared: pgClient ? limiter(limit.keyPrefix, limit.maxFailures, limit.windowSeconds) : null,
        forwardEvery: limit.forwardEvery ?? Math.max(1, Math.floor(limit.maxFailures / FORWARD_FRACTION)),
      },
    ]),
  );
  const blocksSoFar = limiter(options.blocksKeyPrefix, Number.MAX_SAFE_INTEGER, BLOCK_MEMORY_SECONDS);
  /** limit and key → end of its block (ms since the epoch), as this instance knows it */
  const localBlocks = new LRUCache<string, number>({ max: LOCAL_BLOCKS_MAX });
  const localKey = (s: FailureSubject) => `${s.limit}\u0000${s.key}`;

  function localBlockMs(subject: FailureSubject): number {
    const key = localKey(subject);
    const until = localBlocks.get(key);
    if (until === undefined) return 0;
    const ms = until - Date.now();
    if (ms > 0) return ms;
    localBlocks.delete(key);
    return 0;
  }

  /** The block's length: blockSeconds, doubled for each earlier block of the key within a day. */
  async function nextBlockSeconds(key: string): Promise<number> {
    let nth = 1;
    try {
      nth = (await blocksSoFar.consume(key)).consumedPoints;
    } catch {
      // the store and its in-memory insurance both failed: a first block is still a block
    }
    return Math.min(options.blockSeconds * 2 ** Math.min(nth - 1, 30), options.maxBlockSeconds);
  }

  /**
   * Adds `points` failures to `limiter`'s count of `key`: the count after it, and whether it is now
   * over the limit (`msBeforeNext`: how long the window or the block still runs). Null when the
   * store failed (insurance included): the failure is then not counted there.
   */
  async function consume(log: Logger, limiter: RateLimiterAbstract, key: string, points: number) {
    try {
      const res = await limiter.consume(key, points);
      return { consumed: res.consumedPoints, over: false, msBeforeNext: res.msBeforeNext };
    } catch (outcome) {
      if (outcome instanceof RateLimiterRes) return { consumed: outcome.consumedPoints, over: true, msBeforeNext: outcome.msBeforeNext };
      log.warn({ err: outcome }, `${options.name}: counting failed`);
      return null;
    }
  }

  /** Counts one failure of `subject`; how long it is now blocked for (0: not blocked). */
  async function countFailure(log: Logger, subject: FailureSubject, onBlock?: (block: BlockStarted) => void): Promise<CountedFailure> {
    const dimension = dimensions.get(subject.limit);
    if (!dimension) throw new Error(`unknown limit ${subject.limit}`);
    const { key } = subject;
    const { maxFailures } = dimension.limit;
    const { forwardEvery } = dimension;
    const result = (failures: number, blockedMs: number): CountedFailure => ({ subject, failures, maxFailures, blockedMs });
    const local = await consume(log, dimension.local, key, 1);
    if (!local) return result(0, 0);
    // This instance's failures reach the shared count in steps of forwardEvery; the one that takes
    // the local count over the limit takes whatever is left of its step along.
    let shared: Awaited<ReturnType<typeof consume>> = null;
    let forwarded = 0;
    if (dimension.shared && (local.consumed % forwardEvery === 0 || local.consumed === maxFailures + 1)) {
      forwarded = local.consumed % forwardEvery || forwardEvery;
      shared = await consume(log, dimension.shared, key, forwarded);
    }
    const failures = Math.max(local.consumed, shared?.consumed ?? 0);
    const over = shared ? shared.over : local.over;
    if (!over) return result(failures, 0);
    // The shared store counts atomically, so exactly one forwarded step, on one instance, takes it
    // over the limit; without one (PGlite, or the store failed) the local count decides.
    const crossedHere = shared ? shared.consumed - forwarded <= maxFailures : local.consumed === maxFailures + 1;
    if (!crossedHere) {
      // Blocked already: by another instance, or by this one before it forgot (restart, eviction).
      const ms = (shared ?? local).msBeforeNext;
      localBlocks.set(localKey(subject), Date.now() + ms);
      return result(failures, ms);
    }
    // This failure is the one over the limit: start the block here and say so once.
    const seconds = await nextBlockSeconds(key);
    try {
      await Promise.all([dimension.local.block(key, seconds), dimension.shared?.block(key, seconds)]);
    } catch (err) {
      log.warn({ err }, `${options.name}: storing a block failed`);
    }
    localBlocks.set(localKey(subject), Date.now() + seconds * 1000);
    onBlock?.({ subject, limit: dimension.limit, blockSeconds: seconds });
    return result(failures, seconds * 1000);
  }

  return {
    knownBlockMs: (subjects) => Math.max(0, ...subjects.map(localBlockMs)),

    async blockedMs(subjects, log) {
      const known = Math.max(0, ...subjects.map(localBlockMs));
      if (known > 0) return known;
      const asked = await Promise.all(
        subjects.map(async (subject) => {
          const dimension = dimensions.get(subject.limit);
          if (!dimension?.shared) return 0;
          try {
            const res = await dimension.shared.get(subject.key);
            if (!res || res.consumedPoints <= dimension.limit.maxFailures || res.msBeforeNext <= 0) return 0;
            localBlocks.set(localKey(subject), Date.now() + res.msBeforeNext);
            return res.msBeforeNext;
          } catch (err) {
            log.warn({ err }, `${options.name}: reading a count failed`);
            return 0;
          }
        }),
      );
      return Math.max(0, ...asked);
    },

    async recordFailure(subjects, log, onBlock) {
      const known = subjects.map((subject) => ({ subject, ms: localBlockMs(subject) })).filter((k) => k.ms > 0);
      if (known.length > 0) {
        return known.map(({ subject, ms }) => ({
          subject,
          failures: (dimensions.get(subject.limit)?.limit.maxFailures ?? 0) + 1,
          maxFailures: dimensions.get(subject.limit)?.limit.maxFailures ?? 0,
          blockedMs: ms,
        }));
      }
      return Promise.all(subjects.map((s) => countFailure(log, s, onBlock)));
    },

    limiter,

    async purgeExpired() {
      // Only the PostgreSQL limiters have clearExpired; all of them share the one table.
      const postgres = blocksSoFar as RateLimiterAbstract & { clearExpired?: (before: number) => Promise<void> };
      await postgres.clearExpired?.(Date.now() - 3600_000);
    },
  };
}

/** A value as a store key: itself when short and printable, otherwise its SHA-256 (PostgreSQL refuses NUL). */
export function storableKey(value: string): string {
  if (value.length <= LONGEST_PLAIN_KEY && !hasControlCharacters(value)) return value;
  return `#${createHash('sha256').update(value).digest('base64url')}`;
}

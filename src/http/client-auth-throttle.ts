import { createHash } from 'node:crypto';
import type { Context, Next } from 'koa';
import { LRUCache } from 'lru-cache';
import { type RateLimiterAbstract, RateLimiterMemory, RateLimiterPostgres, RateLimiterRes } from 'rate-limiter-flexible';
import type { ClientAuthThrottleConfig } from '../config/config.ts';
import { addressGroup } from '../lib/address-group.ts';
import { hasControlCharacters } from '../lib/control-characters.ts';
import { OIDC_ROUTES } from '../oidc/routes.ts';

/**
 * Throttling of failed client authentication at the token, introspection and revocation
 * endpoints (issue 8, item 13; README "Security model").
 *
 * Client secrets are 256-bit random values: nobody guesses one, so this is about the cost and noise
 * of a flood, not about guessing. Hence:
 * - A request is judged first and counted only if it failed (a 401 `invalid_client`). A correct
 *   secret is never refused, even while its client id or its IP is blocked: otherwise anyone who
 *   knows a client id could lock the real client out (DESIGN.md §5).
 * - Failures are counted per presented client id (the same for an unknown id as for a known one,
 *   so blocks reveal no ids) and per IP (an IPv6 /64), in fixed one-minute windows. The failure
 *   after the limit starts a block; each further block of the same id or IP within a day lasts
 *   twice as long, up to a bound. While blocked, failures are answered 429 with `Retry-After`.
 * - Each instance counts every failure in memory. On PostgreSQL it also adds its counts to the
 *   shared ones in the database (`client_auth_throttle`, an UNLOGGED table), every `forwardEvery`
 *   failures of a key (a fifth of its limit) rather than every one, so all instances agree within
 *   that margin while a flood costs at most one upsert per `forwardEvery` failures of one key, and
 *   none for keys seen once (made-up client ids from many addresses: an anonymous request never
 *   turns into a write). On PGlite one process owns the database: memory is the whole truth. Each
 *   instance also remembers the blocks it has seen, so a blocked source's further failures cost no
 *   query at all.
 * - If the database cannot be reached the counts fall back to this process's memory
 *   (`insuranceLimiter`): failures stay failures, the throttle works per instance.
 *
 * The answer past the limit keeps the OAuth error `invalid_client`: the request did fail client
 * authentication (RFC 6749 §5.2; RFC 7662 §2.3 and RFC 7009 §2.2.1 use the same error responses),
 * and there is no registered error code for "too many attempts". `slow_down` (RFC 8628 §3.5) is a
 * device-flow polling instruction that a client credentials, introspection or revocation caller
 * would not expect. The status is 429 with `Retry-After` (RFC 6585 §4), which generic HTTP clients
 * and proxies understand; a 429 needs no `WWW-Authenticate` (RFC 9110 §11.6.1 ties that to 401).
 */

/** The table rate-limiter-flexible's RateLimiterPostgres uses (created by a migration, never at run time). */
export const CLIENT_AUTH_THROTTLE_TABLE = 'client_auth_throttle';

/** Where counts are shared: PostgreSQL (one statement at a time) or this process's memory. */
export type ClientAuthThrottleStore =
  | { kind: 'memory' }
  | { kind: 'postgres'; query(text: string, values: unknown[]): Promise<Record<string, unknown>[]> };

export interface ClientAuthThrottleDeps {
  config: ClientAuthThrottleConfig;
  store: ClientAuthThrottleStore;
}

export interface ClientAuthThrottle {
  /** Koa middleware: turns failed client authentication past the limits into 429 (see above). */
  middleware(ctx: Context, next: Next): Promise<void>;
  /**
   * For a request already known to fail client authentication: answers it 429 and returns true
   * when this instance knows its client id or IP to be blocked (no query). The token fast path
   * uses it to skip oidc-provider's pipeline for a blocked flood.
   */
  answerIfBlocked(ctx: Context, clientId: string | undefined): boolean;
  /** Deletes counts and blocks that ended over an hour ago (the janitor calls it). */
  purgeExpired(): Promise<void>;
}

declare module 'koa' {
  interface DefaultState {
    /** the client id a request presented, for the throttle (set where the endpoint reads its credentials) */
    presentedClientId?: string;
  }
}

const THROTTLED_PATHS: ReadonlySet<string> = new Set([OIDC_ROUTES.token, OIDC_ROUTES.introspection, OIDC_ROUTES.revocation]);
const WINDOW_SECONDS = 60;
/** Blocks of one id or IP are counted (for the doubling) over this long. */
const BLOCK_MEMORY_SECONDS = 86400;
/** Blocks this instance remembers without asking the store; the oldest are forgotten first. */
const LOCAL_BLOCKS_MAX = 100_000;
/** Stored keys are at most varchar(255); longer or odd values are stored as a digest. */
const LONGEST_PLAIN_KEY = 100;
const LOGGED_CLIENT_ID_CHARS = 200;

/** Counts reach the shared store every this-many failures of a key: a fifth of the limit. */
const FORWARD_FRACTION = 5;

interface Dimension {
  name: 'client_id' | 'ip';
  maxFailures: number;
  /** this instance's own count, the one every failure goes to (no query) */
  local: RateLimiterAbstract;
  /** the count all instances share (PostgreSQL), or null when memory is the whole truth (PGlite) */
  shared: RateLimiterAbstract | null;
  /** how many local failures of a key are added to the shared count at once */
  forwardEvery: number;
}

interface Subject {
  dimension: Dimension;
  key: string;
}

export function createClientAuthThrottle({ config, store }: ClientAuthThrottleDeps): ClientAuthThrottle | null {
  if (config.maxFailuresPerClientPerMinute === 0 && config.maxFailuresPerIpPerMinute === 0) return null;

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
    const options = { keyPrefix, points, duration };
    if (!pgClient) return new RateLimiterMemory(options);
    return new RateLimiterPostgres({
      ...options,
      storeClient: pgClient,
      storeType: 'client',
      tableName: CLIENT_AUTH_THROTTLE_TABLE,
      tableCreated: true, // the migration created it; the library must not run DDL
      clearExpiredByTimeout: false, // purgeExpired runs from the server's janitor instead of a timer per limiter
      insuranceLimiter: new RateLimiterMemory(options),
    });
  };

  const dimension = (name: Dimension['name'], keyPrefix: string, maxFailures: number): Dimension => ({
    name,
    maxFailures,
    local: new RateLimiterMemory({ keyPrefix, points: maxFailures, duration: WINDOW_SECONDS }),
    shared: pgClient ? limiter(keyPrefix, maxFailures, WINDOW_SECONDS) : null,
    forwardEvery: Math.max(1, Math.floor(maxFailures / FORWARD_FRACTION)),
  });
  const dimensions: Dimension[] = [];
  if (config.maxFailuresPerClientPerMinute > 0) {
    dimensions.push(dimension('client_id', 'client_auth_id', config.maxFailuresPerClientPerMinute));
  }
  if (config.maxFailuresPerIpPerMinute > 0) {
    dimensions.push(dimension('ip', 'client_auth_ip', config.maxFailuresPerIpPerMinute));
  }
  const blocksSoFar = limiter('client_auth_blocks', Number.MAX_SAFE_INTEGER, BLOCK_MEMORY_SECONDS);
  /** key → end of its block (ms since the epoch), as this instance knows it */
  const localBlocks = new LRUCache<string, number>({ max: LOCAL_BLOCKS_MAX });

  function subjectsOf(clientId: string | undefined, ip: string): Subject[] {
    return dimensions.flatMap((dimension): Subject[] => {
      if (dimension.name === 'ip') return [{ dimension, key: `ip:${storable(addressGroup(ip))}` }];
      return clientId ? [{ dimension, key: `id:${storable(clientId)}` }] : [];
    });
  }

  function localBlockMs(key: string): number {
    const until = localBlocks.get(key);
    if (until === undefined) return 0;
    const ms = until - Date.now();
    if (ms > 0) return ms;
    localBlocks.delete(key);
    return 0;
  }

  /** The block's length: CLIENT_AUTH_BLOCK_SECONDS, doubled for each earlier block within a day. */
  async function nextBlockSeconds(key: string): Promise<number> {
    let nth = 1;
    try {
      nth = (await blocksSoFar.consume(key)).consumedPoints;
    } catch {
      // the store and its in-memory insurance both failed: a first block is still a block
    }
    return Math.min(config.blockSeconds * 2 ** Math.min(nth - 1, 30), config.maxBlockSeconds);
  }

  /**
   * Adds `points` failures to `limiter`'s count of `key`: the count after it, and whether it is now
   * over the limit (`msBeforeNext`: how long the window or the block still runs). Null when the
   * store failed (insurance included): the failure is then not counted there.
   */
  async function consume(ctx: Context, limiter: RateLimiterAbstract, key: string, points: number) {
    try {
      const res = await limiter.consume(key, points);
      return { consumed: res.consumedPoints, over: false, msBeforeNext: res.msBeforeNext };
    } catch (outcome) {
      if (outcome instanceof RateLimiterRes) return { consumed: outcome.consumedPoints, over: true, msBeforeNext: outcome.msBeforeNext };
      ctx.state.log.warn({ err: outcome }, 'client authentication throttle: counting failed');
      return null;
    }
  }

  /** Counts one failure of `subject`; the milliseconds it is now blocked for (0: not blocked). */
  async function countFailure(ctx: Context, subject: Subject, clientId: string | undefined): Promise<number> {
    const { dimension, key } = subject;
    const { maxFailures, forwardEvery } = dimension;
    const local = await consume(ctx, dimension.local, key, 1);
    if (!local) return 0;
    // This instance's failures reach the shared count in steps of forwardEvery; the one that takes
    // the local count over the limit takes whatever is left of its step along.
    let shared: Awaited<ReturnType<typeof consume>> = null;
    let forwarded = 0;
    if (dimension.shared && (local.consumed % forwardEvery === 0 || local.consumed === maxFailures + 1)) {
      forwarded = local.consumed % forwardEvery || forwardEvery;
      shared = await consume(ctx, dimension.shared, key, forwarded);
    }
    const over = shared ? shared.over : local.over;
    if (!over) return 0;
    // The shared store counts atomically, so exactly one forwarded step, on one instance, takes it
    // over the limit; without one (PGlite, or the store failed) the local count decides.
    const crossedHere = shared ? shared.consumed - forwarded <= maxFailures : local.consumed === maxFailures + 1;
    if (!crossedHere) {
      // Blocked already: by another instance, or by this one before it forgot (restart, eviction).
      const ms = (shared ?? local).msBeforeNext;
      localBlocks.set(key, Date.now() + ms);
      return ms;
    }
    // This failure is the one over the limit (the shared store counts atomically, so exactly one
    // forwarded step, on one instance, crosses it): start the block here and say so once.
    const seconds = await nextBlockSeconds(key);
    try {
      await Promise.all([dimension.local.block(key, seconds), dimension.shared?.block(key, seconds)]);
    } catch (err) {
      ctx.state.log.warn({ err }, 'client authentication throttle: storing a block failed');
    }
    localBlocks.set(key, Date.now() + seconds * 1000);
    ctx.state.log.info(
      {
        limit: dimension.name,
        clientId: clientId === undefined ? undefined : clientId.slice(0, LOGGED_CLIENT_ID_CHARS),
        ip: ctx.ip,
        maxFailuresPerMinute: dimension.maxFailures,
        blockSeconds: seconds,
        path: ctx.path,
      },
      'client authentication blocked: too many failures',
    );
    return seconds * 1000;
  }

  async function recordFailure(ctx: Context, clientId: string | undefined): Promise<number> {
    const subjects = subjectsOf(clientId, ctx.ip);
    const known = Math.max(0, ...subjects.map((s) => localBlockMs(s.key)));
    if (known > 0) return known;
    const counted = await Promise.all(subjects.map((s) => countFailure(ctx, s, clientId)));
    return Math.max(0, ...counted);
  }

  return {
    async middleware(ctx, next) {
      if (ctx.method !== 'POST' || !THROTTLED_PATHS.has(ctx.path)) return next();
      await next();
      if (ctx.status !== 401 || (ctx.body as { error?: unknown } | null)?.error !== 'invalid_client') return;
      const blockedMs = await recordFailure(ctx, presentedClientId(ctx));
      if (blockedMs > 0) answerTooManyFailures(ctx, blockedMs);
    },

    answerIfBlocked(ctx, clientId) {
      const blockedMs = Math.max(0, ...subjectsOf(clientId, ctx.ip).map((s) => localBlockMs(s.key)));
      if (blockedMs === 0) return false;
      answerTooManyFailures(ctx, blockedMs);
      return true;
    },

    async purgeExpired() {
      // Only the PostgreSQL limiters have clearExpired; all of them share the one table.
      const postgres = blocksSoFar as RateLimiterAbstract & { clearExpired?: (before: number) => Promise<void> };
      await postgres.clearExpired?.(Date.now() - 3600_000);
    },
  };
}

/** RFC 6585 §4 with an RFC 6749 §5.2 body (see the header comment for the choice of error code). */
function answerTooManyFailures(ctx: Context, blockedMs: number): void {
  const seconds = Math.max(1, Math.ceil(blockedMs / 1000));
  ctx.status = 429;
  ctx.remove('WWW-Authenticate');
  ctx.set('Retry-After', String(seconds));
  ctx.set('Cache-Control', 'no-store');
  ctx.body = { error: 'invalid_client', error_description: `too many failed attempts; retry after ${seconds} s` };
}

/** A value as a store key: itself when short and printable, otherwise its SHA-256 (PostgreSQL refuses NUL). */
function storable(value: string): string {
  if (value.length <= LONGEST_PLAIN_KEY && !hasControlCharacters(value)) return value;
  return `#${createHash('sha256').update(value).digest('base64url')}`;
}

/**
 * The client id a failed request presented, as the endpoint read it (oidc/client-auth.ts, for the
 * token endpoint in front of oidc-provider): the Basic header's, else the form's `client_id`.
 * Undefined when it presented none.
 */
function presentedClientId(ctx: Context): string | undefined {
  return ctx.state.presentedClientId;
}

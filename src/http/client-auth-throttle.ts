import type { Context, Next } from 'koa';
import type { ClientAuthThrottleConfig } from '../config/config.ts';
import {
  createFailureThrottle,
  type FailureLimit,
  type FailureSubject,
  storableKey,
  THROTTLE_TABLE,
  type ThrottleStore,
} from '../db/failure-throttle.ts';
import { addressGroup } from '../lib/address-group.ts';
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
 * The counting, blocking and sharing live in db/failure-throttle.ts (shared with the password
 * throttle); this module decides what counts as a failure here and how a block answers.
 *
 * The answer past the limit keeps the OAuth error `invalid_client`: the request did fail client
 * authentication (RFC 6749 §5.2; RFC 7662 §2.3 and RFC 7009 §2.2.1 use the same error responses),
 * and there is no registered error code for "too many attempts". `slow_down` (RFC 8628 §3.5) is a
 * device-flow polling instruction that a client credentials, introspection or revocation caller
 * would not expect. The status is 429 with `Retry-After` (RFC 6585 §4), which generic HTTP clients
 * and proxies understand; a 429 needs no `WWW-Authenticate` (RFC 9110 §11.6.1 ties that to 401).
 */

/** The table rate-limiter-flexible's RateLimiterPostgres uses (created by a migration, never at run time). */
export const CLIENT_AUTH_THROTTLE_TABLE = THROTTLE_TABLE;

/** Where counts are shared: PostgreSQL (one statement at a time) or this process's memory. */
export type ClientAuthThrottleStore = ThrottleStore;

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
const LOGGED_CLIENT_ID_CHARS = 200;

export function createClientAuthThrottle({ config, store }: ClientAuthThrottleDeps): ClientAuthThrottle | null {
  if (config.maxFailuresPerClientPerMinute === 0 && config.maxFailuresPerIpPerMinute === 0) return null;

  const limits: FailureLimit[] = [];
  if (config.maxFailuresPerClientPerMinute > 0) {
    limits.push({
      name: 'client_id',
      keyPrefix: 'client_auth_id',
      maxFailures: config.maxFailuresPerClientPerMinute,
      windowSeconds: WINDOW_SECONDS,
    });
  }
  if (config.maxFailuresPerIpPerMinute > 0) {
    limits.push({ name: 'ip', keyPrefix: 'client_auth_ip', maxFailures: config.maxFailuresPerIpPerMinute, windowSeconds: WINDOW_SECONDS });
  }
  const throttle = createFailureThrottle({
    store,
    limits,
    blocksKeyPrefix: 'client_auth_blocks',
    blockSeconds: config.blockSeconds,
    maxBlockSeconds: config.maxBlockSeconds,
    name: 'client authentication throttle',
  });

  function subjectsOf(clientId: string | undefined, ip: string): FailureSubject[] {
    return limits.flatMap((limit): FailureSubject[] => {
      if (limit.name === 'ip') return [{ limit: 'ip', key: `ip:${storableKey(addressGroup(ip))}` }];
      return clientId ? [{ limit: 'client_id', key: `id:${storableKey(clientId)}` }] : [];
    });
  }

  async function recordFailure(ctx: Context, clientId: string | undefined): Promise<number> {
    const counted = await throttle.recordFailure(subjectsOf(clientId, ctx.ip), ctx.state.log, ({ limit, blockSeconds }) =>
      ctx.state.log.info(
        {
          limit: limit.name,
          clientId: clientId === undefined ? undefined : clientId.slice(0, LOGGED_CLIENT_ID_CHARS),
          ip: ctx.ip,
          maxFailuresPerMinute: limit.maxFailures,
          blockSeconds,
          path: ctx.path,
        },
        'client authentication blocked: too many failures',
      ),
    );
    return Math.max(0, ...counted.map((c) => c.blockedMs));
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
      const blockedMs = throttle.knownBlockMs(subjectsOf(clientId, ctx.ip));
      if (blockedMs === 0) return false;
      answerTooManyFailures(ctx, blockedMs);
      return true;
    },

    purgeExpired: () => throttle.purgeExpired(),
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

/**
 * The client id a failed request presented, as the endpoint read it (oidc/client-auth.ts, for the
 * token endpoint in front of oidc-provider): the Basic header's, else the form's `client_id`.
 * Undefined when it presented none.
 */
function presentedClientId(ctx: Context): string | undefined {
  return ctx.state.presentedClientId;
}

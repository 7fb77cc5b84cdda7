import { LRUCache } from 'lru-cache';
import type { Logger } from 'pino';
import type { PasswordThrottleConfig } from '../config/config.ts';
import { createFailureThrottle, type FailureLimit, type FailureSubject, storableKey, type ThrottleStore } from '../db/failure-throttle.ts';
import { addressGroup } from '../lib/address-group.ts';

/**
 * Throttling of failed password sign-ins: HTTP Basic on the admin API and the sign-in page (both
 * call this with a username and a client IP; nothing here knows HTTP).
 *
 * Unlike client secrets (256 random bits, client-auth-throttle.ts), passwords are guessed, so:
 * - Failures are counted per presented username, the same for an unknown account as for an
 *   existing one (so a block says nothing about whether the account exists: blocked and unknown
 *   read the same), and per client IP (an IPv6 /64), in fixed windows of
 *   PASSWORD_FAILURE_WINDOW_SECONDS. Counts are shared by every instance (db/failure-throttle.ts),
 *   each failure forwarded at once: a password check costs an argon2 hash, next to which one
 *   upsert is nothing, and an instance must not go on checking guesses another has blocked.
 * - Slowed, then blocked: past half of a limit each further failure is answered later (doubling
 *   from 250 ms to 2 s); the failure past the limit starts a block that doubles with each further
 *   block within a day, up to PASSWORD_MAX_BLOCK_SECONDS.
 * - During a block **even the right password is refused** (checked before the password is, so a
 *   blocked attempt costs no hash): otherwise the block would not stop guessing, since the answer
 *   to the right guess would differ.
 * - An attacker must not be able to lock a user out for good by failing on purpose (DESIGN.md §5).
 *   Blocks end (and are bounded); and an address the account signed in from successfully in the
 *   last 20 days ("familiar") is not held by the account's block: its failures count against the
 *   account *at that address* instead, with the same limit. Someone guessing from elsewhere thus
 *   blocks the account everywhere but where its owner already works; from the same address (a
 *   shared NAT) the per-address count still stops them. API tokens and access tokens are never
 *   throttled by password failures, and the local operator's CLI is never throttled.
 */

export interface PasswordThrottle {
  /**
   * Before checking a password: how long `username` at `ip` is blocked, in ms (0: go ahead).
   * Asks the shared store about keys this instance knows no block of (reads, no write).
   */
  blockedMs(username: string, ip: string, log: Logger): Promise<number>;
  /**
   * As `blockedMs`, also saying which limit holds the block: the sign-in page words a block of the
   * address ("too many attempts from your network") apart from a block of the account, which it
   * answers exactly as a wrong password (blocked and unknown accounts read the same).
   */
  blocked(username: string, ip: string, log: Logger): Promise<{ ms: number; limit: 'ip' | 'account' | null }>;
  /** After a wrong password (or an unknown account): counts it; how long to wait before answering, or the block it is now in. */
  recordFailure(
    username: string,
    ip: string,
    log: Logger,
  ): Promise<{ blockedMs: number; delayMs: number; blockedLimit: 'ip' | 'account' | null }>;
  /** After the right password: the address becomes familiar for the account (one write, then remembered). */
  recordSuccess(username: string, ip: string, log: Logger): Promise<void>;
  /** Deletes counts and blocks that ended over an hour ago (the janitor calls it). */
  purgeExpired(): Promise<void>;
}

// 20 days: also below setTimeout's 24.8-day limit, which the in-memory limiter (PGlite) schedules its expiry with.
const FAMILIAR_SECONDS = 20 * 86400;
/** How long this instance trusts what it learnt of an address's familiarity without asking again. */
const FAMILIAR_MEMORY_MS = 60_000;
const FIRST_DELAY_MS = 250;
const LONGEST_DELAY_MS = 2000;
const LOGGED_USERNAME_CHARS = 200;

export function createPasswordThrottle(deps: { config: PasswordThrottleConfig; store: ThrottleStore }): PasswordThrottle | null {
  const { config } = deps;
  if (config.maxFailuresPerAccount === 0 && config.maxFailuresPerIp === 0) return null;
  const window = config.windowSeconds;
  const limits: FailureLimit[] = [];
  if (config.maxFailuresPerAccount > 0) {
    limits.push({
      name: 'account',
      keyPrefix: 'password_account',
      maxFailures: config.maxFailuresPerAccount,
      windowSeconds: window,
      forwardEvery: 1,
    });
  }
  if (config.maxFailuresPerIp > 0) {
    limits.push({ name: 'ip', keyPrefix: 'password_ip', maxFailures: config.maxFailuresPerIp, windowSeconds: window, forwardEvery: 1 });
  }
  const throttle = createFailureThrottle({
    store: deps.store,
    limits,
    blocksKeyPrefix: 'password_blocks',
    blockSeconds: config.blockSeconds,
    maxBlockSeconds: config.maxBlockSeconds,
    name: 'password throttle',
  });
  const familiar = throttle.limiter('password_familiar', Number.MAX_SAFE_INTEGER, FAMILIAR_SECONDS);
  const familiarSeen = new LRUCache<string, boolean>({ max: 100_000, ttl: FAMILIAR_MEMORY_MS });
  const countsAccount = config.maxFailuresPerAccount > 0;
  const countsIp = config.maxFailuresPerIp > 0;

  /** `group username`: the group (an address or a /64) holds no space, so the pair is unambiguous. */
  const pairKey = (username: string, ip: string) => storableKey(`${addressGroup(ip)} ${username}`);

  async function isFamiliar(username: string, ip: string, log: Logger): Promise<boolean> {
    const key = pairKey(username, ip);
    const known = familiarSeen.get(key);
    if (known !== undefined) return known;
    let found = false;
    try {
      found = ((await familiar.get(key))?.consumedPoints ?? 0) > 0;
    } catch (err) {
      log.warn({ err }, 'password throttle: reading a familiar address failed');
    }
    familiarSeen.set(key, found);
    return found;
  }

  async function subjectsOf(username: string, ip: string, log: Logger): Promise<FailureSubject[]> {
    const subjects: FailureSubject[] = [];
    if (countsIp) subjects.push({ limit: 'ip', key: `ip:${storableKey(addressGroup(ip))}` });
    if (countsAccount) {
      const key = (await isFamiliar(username, ip, log)) ? `at:${pairKey(username, ip)}` : `acct:${storableKey(username)}`;
      subjects.push({ limit: 'account', key });
    }
    return subjects;
  }

  return {
    async blockedMs(username, ip, log) {
      return throttle.blockedMs(await subjectsOf(username, ip, log), log);
    },

    async blocked(username, ip, log) {
      const subjects = await subjectsOf(username, ip, log);
      // One read per subject either way (db/failure-throttle.ts), asked side by side.
      const each = await Promise.all(subjects.map(async (s) => ({ limit: s.limit, ms: await throttle.blockedMs([s], log) })));
      const ip_ = each.find((e) => e.limit === 'ip' && e.ms > 0);
      const longest = each.reduce((a, b) => (b.ms > a.ms ? b : a), { limit: '', ms: 0 });
      if (longest.ms <= 0) return { ms: 0, limit: null };
      return { ms: longest.ms, limit: ip_ ? 'ip' : 'account' };
    },

    async recordFailure(username, ip, log) {
      const counted = await throttle.recordFailure(await subjectsOf(username, ip, log), log, ({ limit, blockSeconds }) =>
        log.info(
          {
            limit: limit.name,
            username: username.slice(0, LOGGED_USERNAME_CHARS),
            ip,
            maxFailures: limit.maxFailures,
            windowSeconds: limit.windowSeconds,
            blockSeconds,
          },
          'password sign-in blocked: too many failures',
        ),
      );
      const blockedMs = Math.max(0, ...counted.map((c) => c.blockedMs));
      const blockedLimit = blockedMs <= 0 ? null : counted.some((c) => c.subject.limit === 'ip' && c.blockedMs > 0) ? 'ip' : 'account';
      // Slowed before blocked: each failure past half of a limit waits twice as long as the one before.
      const past = Math.max(0, ...counted.map((c) => c.failures - Math.ceil(c.maxFailures / 2)));
      const delayMs = past > 0 ? Math.min(FIRST_DELAY_MS * 2 ** (past - 1), LONGEST_DELAY_MS) : 0;
      return { blockedMs, delayMs, blockedLimit };
    },

    async recordSuccess(username, ip, log) {
      const key = pairKey(username, ip);
      if (familiarSeen.get(key) === true) return;
      try {
        // Counted from the first success (a fixed window): renewed by a success after it ends.
        await familiar.consume(key, 1);
        familiarSeen.set(key, true);
      } catch (err) {
        log.warn({ err }, 'password throttle: remembering a familiar address failed');
      }
    },

    purgeExpired: () => throttle.purgeExpired(),
  };
}

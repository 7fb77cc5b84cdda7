import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { DeviceFlowConfig, PasswordThrottleConfig } from '../config/config.ts';
import { createFailureThrottle, storableKey, type ThrottleStore } from '../db/failure-throttle.ts';
import { addressGroup } from '../lib/address-group.ts';
import type { PollPacer } from '../oidc/device-flow.ts';

/**
 * The device authorization grant's two counters, on the store every instance shares
 * (db/failure-throttle.ts: PostgreSQL's `client_auth_throttle` table, or memory on PGlite):
 *
 * - **User-code guessing** (RFC 8628 §5.1: "the authorization server SHOULD rate-limit" user-code
 *   entry). A user code has ~34.5 bits (base-20, 8 characters) and lives minutes, so guessing one
 *   takes many tries: wrong, expired and used codes are counted per client IP (an IPv6 /64) in the
 *   password throttle's window; past DEVICE_USER_CODE_MAX_FAILURES_PER_IP the address is blocked
 *   for PASSWORD_BLOCK_SECONDS, doubling with each further block within a day up to
 *   PASSWORD_MAX_BLOCK_SECONDS. During a block no code is looked up at all, the right one
 *   included (otherwise the block would not stop guessing). Only addresses are counted: nothing
 *   else identifies a person who has not signed in, and codes are not accounts.
 * - **Polling pace** (§3.5 `slow_down`): when each pending device code was last polled, kept for
 *   DEVICE_POLL_INTERVAL_SECONDS under a digest of the code (a bearer value is never a stored key).
 */
export interface DeviceThrottle {
  /** Before looking a code up: how long `ip` is blocked, in ms (0: go ahead). Reads only. */
  blockedMs(ip: string, log: Logger): Promise<number>;
  /** After a wrong, expired or used code: counts it; how long `ip` is blocked now (0: not). */
  recordFailure(ip: string, log: Logger): Promise<number>;
  /** The polling pace of the token endpoint (oidc/device-flow.ts). */
  pacer: PollPacer;
  /** Deletes counts, blocks and poll marks that ended over an hour ago (of every throttle on the table). */
  purgeExpired(): Promise<void>;
}

export function createDeviceThrottle(deps: {
  config: DeviceFlowConfig;
  password: Pick<PasswordThrottleConfig, 'windowSeconds' | 'blockSeconds' | 'maxBlockSeconds'>;
  store: ThrottleStore;
}): DeviceThrottle {
  const { config, password } = deps;
  const guarding = config.maxUserCodeFailuresPerIp > 0;
  const throttle = createFailureThrottle({
    store: deps.store,
    limits: guarding
      ? [
          {
            name: 'ip',
            keyPrefix: 'device_user_code_ip',
            maxFailures: config.maxUserCodeFailuresPerIp,
            windowSeconds: password.windowSeconds,
            // each failure at once: an instance must not go on answering guesses another blocked
            forwardEvery: 1,
          },
        ]
      : [],
    blocksKeyPrefix: 'device_user_code_blocks',
    blockSeconds: password.blockSeconds,
    maxBlockSeconds: password.maxBlockSeconds,
    name: 'device user-code throttle',
  });
  const subjects = (ip: string) => (guarding ? [{ limit: 'ip', key: `ip:${storableKey(addressGroup(ip))}` }] : []);
  // One poll per interval: the second within it is over the limit.
  const polls = throttle.limiter('device_poll', 1, config.pollIntervalSeconds);

  return {
    blockedMs: (ip, log) => (guarding ? throttle.blockedMs(subjects(ip), log) : Promise.resolve(0)),

    async recordFailure(ip, log) {
      if (!guarding) return 0;
      const counted = await throttle.recordFailure(subjects(ip), log, ({ limit, blockSeconds }) =>
        log.info(
          { limit: limit.name, ip, maxFailures: limit.maxFailures, windowSeconds: limit.windowSeconds, blockSeconds },
          'device user-code entry blocked: too many wrong codes',
        ),
      );
      return Math.max(0, ...counted.map((c) => c.blockedMs));
    },

    purgeExpired: () => throttle.purgeExpired(),

    pacer: {
      async tooSoon(deviceCode) {
        const key = `#${createHash('sha256').update(deviceCode).digest('base64url')}`;
        try {
          await polls.consume(key, 1);
          return false;
        } catch (outcome) {
          // Over the limit (a RateLimiterRes), or the store and its insurance failed: then let the
          // device poll rather than hold it back.
          return typeof (outcome as { msBeforeNext?: unknown })?.msBeforeNext === 'number';
        }
      },
    },
  };
}

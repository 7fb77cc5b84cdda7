import type { Logger } from 'pino';
import type { ChangeBus } from '../../db/change-bus.ts';
import type { Clock } from '../../lib/clock.ts';
import { grantRevoked, tokenRevoked } from './token-revocation.changes.ts';
import type { TokenRevocationStore } from './token-revocation.store.ts';

/**
 * Revocation of JWT access tokens. A JWT cannot be recalled, so its `jti` goes on a denylist until
 * the token would have expired anyway. Every server holds the unexpired denylist in memory
 * (loaded at start, extended by change notifications), so checking it costs no query.
 *
 * A whole grant is revoked the same way (refresh-token or code reuse, a revoked refresh token,
 * logout): the JWTs issued under it are not stored and their `jti`s are not known, but each carries
 * its grant's id (oidc/claims.ts), so the grant id goes on a second denylist, kept until no token
 * issued under it can still be alive.
 */
export function createTokenRevocationService(deps: { store: TokenRevocationStore; bus: ChangeBus; clock: Clock; log: Logger }) {
  const { store, bus, clock, log } = deps;
  /** jti → exp (epoch seconds) */
  const revoked = new Map<string, number>();
  /** grant id → until when its tokens are refused (epoch seconds) */
  const revokedGrants = new Map<string, number>();

  function remember(jti: string, exp: number): void {
    if (exp > clock.epoch()) revoked.set(jti, exp);
  }
  function rememberGrant(grantId: string, exp: number): void {
    if (exp > clock.epoch() && exp > (revokedGrants.get(grantId) ?? 0)) revokedGrants.set(grantId, exp);
  }

  async function reload(): Promise<void> {
    const [rows, grants] = await Promise.all([store.findUnexpired(clock.now()), store.findUnexpiredGrants(clock.now())]);
    revoked.clear();
    revokedGrants.clear();
    for (const row of rows) remember(row.jti, Math.floor(row.expiresAt.getTime() / 1000));
    for (const row of grants) rememberGrant(row.grantId, Math.floor(row.expiresAt.getTime() / 1000));
  }

  bus.subscribe(tokenRevoked, ({ jti, exp }) => remember(jti, exp));
  bus.subscribe(grantRevoked, ({ grantId, exp }) => rememberGrant(grantId, exp));
  // Revocations announced while the listener was away are in the table: read it again.
  bus.onReset(() => void reload().catch((err) => log.error({ err }, 'reloading revocations failed')));

  return {
    async revoke(token: { jti: string; exp: number; clientId: string | null }): Promise<void> {
      // Already on the (database-backed) denylist: nothing to write or announce.
      if (revoked.has(token.jti)) return;
      await store.insert({ jti: token.jti, clientId: token.clientId, expiresAt: new Date(token.exp * 1000) });
      remember(token.jti, token.exp);
    },

    isRevoked: (jti: string): boolean => revoked.has(jti),

    /**
     * Refuses every JWT issued under `grantId` until `until` (epoch seconds: the revocation time plus
     * the longest access-token lifetime), on every server. Idempotent.
     */
    async revokeGrant(grantId: string, until: number): Promise<void> {
      if ((revokedGrants.get(grantId) ?? 0) >= until) return;
      await store.insertGrant({ grantId, expiresAt: new Date(until * 1000) });
      rememberGrant(grantId, until);
    },

    isGrantRevoked: (grantId: string): boolean => revokedGrants.has(grantId),

    /** (Re)loads the unexpired denylist from the database (at start-up). */
    reload,

    /** Forgets entries whose tokens have expired, in memory and in the database. */
    async purgeExpired(): Promise<number> {
      const now = clock.epoch();
      for (const [jti, exp] of revoked) if (exp <= now) revoked.delete(jti);
      for (const [grantId, exp] of revokedGrants) if (exp <= now) revokedGrants.delete(grantId);
      return store.deleteExpired(clock.now());
    },

    get size(): number {
      return revoked.size;
    },
  };
}

export type TokenRevocationService = ReturnType<typeof createTokenRevocationService>;

import type { Logger } from 'pino';
import type { ChangeBus } from '../../db/change-bus.ts';
import type { Clock } from '../../lib/clock.ts';
import { tokenRevoked } from './token-revocation.changes.ts';
import type { TokenRevocationStore } from './token-revocation.store.ts';

/**
 * Revocation of JWT access tokens. A JWT cannot be recalled, so its `jti` goes on a denylist until
 * the token would have expired anyway. Every server holds the unexpired denylist in memory
 * (loaded at start, extended by change notifications), so checking it costs no query.
 */
export function createTokenRevocationService(deps: { store: TokenRevocationStore; bus: ChangeBus; clock: Clock; log: Logger }) {
  const { store, bus, clock, log } = deps;
  /** jti → exp (epoch seconds) */
  const revoked = new Map<string, number>();

  function remember(jti: string, exp: number): void {
    if (exp > clock.epoch()) revoked.set(jti, exp);
  }

  async function reload(): Promise<void> {
    const rows = await store.findUnexpired(clock.now());
    revoked.clear();
    for (const row of rows) remember(row.jti, Math.floor(row.expiresAt.getTime() / 1000));
  }

  bus.subscribe(tokenRevoked, ({ jti, exp }) => remember(jti, exp));
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

    /** (Re)loads the unexpired denylist from the database (at start-up). */
    reload,

    /** Forgets entries whose tokens have expired, in memory and in the database. */
    async purgeExpired(): Promise<number> {
      const now = clock.epoch();
      for (const [jti, exp] of revoked) if (exp <= now) revoked.delete(jti);
      return store.deleteExpired(clock.now());
    },

    get size(): number {
      return revoked.size;
    },
  };
}

export type TokenRevocationService = ReturnType<typeof createTokenRevocationService>;

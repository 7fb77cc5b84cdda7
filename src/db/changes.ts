import type { Tx } from './database.ts';

/**
 * Cache invalidation across processes. Every write that a server may hold in memory publishes a
 * change with pg_notify inside its own transaction, so the notification is delivered exactly when
 * (and only if) the write commits. Every server LISTENs and drops or reloads what changed.
 */
export const CHANGES_CHANNEL = 'gatehouse_changes';

export type Change =
  | { kind: 'application'; clientId: string }
  | { kind: 'api'; identifier: string }
  | { kind: 'keys' }
  | { kind: 'revoked-token'; jti: string; exp: number }
  /**
   * `digest` is the keyed digest of the artifact's id: the id itself may be a bearer token. (Servers
   * of earlier versions announced `id`, for rows this version never reads: such a change drops nothing.)
   */
  | { kind: 'artifact'; model: string; digest: string }
  | { kind: 'artifact-grant'; grantId: string };

export async function publishChange(tx: Tx, change: Change): Promise<void> {
  await tx.$executeRaw`SELECT pg_notify(${CHANGES_CHANNEL}, ${JSON.stringify(change)})`;
}

export function parseChange(payload: string): Change | null {
  try {
    const change = JSON.parse(payload) as Change;
    return typeof change?.kind === 'string' ? change : null;
  } catch {
    return null;
  }
}

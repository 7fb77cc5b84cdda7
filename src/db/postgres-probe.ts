import pg from 'pg';
import { DatabaseUnreachableError } from './database-location.ts';

/** How long opening the database waits for PostgreSQL to answer before saying it cannot. */
const CONNECT_TIMEOUT_MS = 10_000;

/**
 * Connects once to the PostgreSQL of `url` and disconnects, so a server or CLI command that cannot
 * reach it fails at once with one line naming where it looked and what to check
 * (DatabaseUnreachableError), not with a driver stack trace at its first query. pg's pool waits
 * for a connection without a time limit, so an unanswered address would otherwise hang.
 */
export async function checkPostgresReachable(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: CONNECT_TIMEOUT_MS, application_name: 'gatehouse' });
  // A failed connection may still emit 'error' afterwards: it is reported through connect().
  client.on('error', () => {});
  try {
    await client.connect();
  } catch (err) {
    const e = err as Error & { code?: string };
    if (!e.code && /timeout/i.test(e.message)) e.code = 'CONNECT_TIMEOUT';
    throw new DatabaseUnreachableError(url, e);
  } finally {
    await client.end().catch(() => {});
  }
}

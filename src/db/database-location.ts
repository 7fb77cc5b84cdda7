import { existsSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Where a database is, said the way an operator can check it. Kept free of heavy imports: the CLI
 * loads it before deciding whether it needs a database at all.
 */

/** The PGlite cluster inside a data directory. */
export function embeddedClusterDir(dataDir: string): string {
  return join(dataDir, 'pgdata');
}

export function embeddedDatabaseExists(dataDir: string): boolean {
  return existsSync(embeddedClusterDir(dataDir));
}

/** A command that only reads found no database where it looked (and created none). */
export class NoDatabaseError extends Error {
  constructor(readonly dataDir: string) {
    super(
      `no embedded database in ${dataDir} (DATA_DIR; a relative DATA_DIR is resolved from the working directory): ` +
        `run where the server runs, or set DATA_DIR to its data directory (or DATABASE_URL to its PostgreSQL)`,
    );
    this.name = 'NoDatabaseError';
  }
}

/** `host:port/database (user u)` from a PostgreSQL URL, never its password. */
export function describePostgresUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'the PostgreSQL server in DATABASE_URL';
  }
  // `?host=/run/postgresql` selects a Unix socket directory (libpq's convention, which pg follows).
  const host = parsed.hostname || parsed.searchParams.get('host') || 'localhost';
  const port = parsed.port || '5432';
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, '')) || decodeURIComponent(parsed.username);
  const user = parsed.username ? ` as ${decodeURIComponent(parsed.username)}` : '';
  return `${host}:${port}/${database}${user}`;
}

/** The configured PostgreSQL cannot be reached or refuses us: what failed and what to check. */
export class DatabaseUnreachableError extends Error {
  constructor(url: string, cause: unknown) {
    const err = cause as NodeJS.ErrnoException & { code?: string };
    const [reason, check] = explain(err);
    super(`cannot connect to PostgreSQL at ${describePostgresUrl(url)}: ${reason}; ${check}`, { cause });
    this.name = 'DatabaseUnreachableError';
  }
}

function explain(err: { code?: string; message?: string }): [string, string] {
  switch (err.code) {
    case 'ECONNREFUSED':
      return ['connection refused', "check that PostgreSQL runs there and DATABASE_URL's host and port"];
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return ['unknown host', "check DATABASE_URL's host name"];
    case 'ETIMEDOUT':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'CONNECT_TIMEOUT':
      return ['no answer', "check DATABASE_URL's host and port, and that a firewall lets this machine reach it"];
    case '28P01':
    case '28000':
      return ['authentication failed', "check DATABASE_URL's user and password (and pg_hba.conf)"];
    case '3D000':
      return ['the database does not exist', 'create it (createdb), or fix the database name in DATABASE_URL'];
    case '57P03':
      return ['the server is starting up or shutting down', 'try again in a moment'];
    default:
      return [firstLine(err.message) || String(err.code ?? 'unknown error'), 'check DATABASE_URL and that PostgreSQL runs'];
  }
}

function firstLine(text: string | undefined): string {
  return (text ?? '').split('\n')[0]?.trim() ?? '';
}

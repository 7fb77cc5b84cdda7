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

import type { Config } from '../config/config.ts';
import { DataDirLockedError } from '../db/data-dir-lock.ts';
import { createLogger } from '../lib/logger.ts';
import { MasterKeyError } from './master-key.ts';
import { startServer } from './server.ts';

/**
 * `gatehouse serve`: runs the server until SIGTERM/SIGINT, then stops gracefully. A second signal
 * during shutdown exits at once. Returns the exit code.
 */
export async function serve(config: Config): Promise<number> {
  const log = createLogger({ level: config.logLevel });
  if (config.database.kind === 'pglite') {
    log.warn(
      { dataDir: config.dataDir },
      'using the embedded database (PGlite): fine for development and small single-instance installs; set DATABASE_URL for PostgreSQL',
    );
  }
  let server: Awaited<ReturnType<typeof startServer>>;
  try {
    server = await startServer(config, log);
  } catch (err) {
    if (err instanceof DataDirLockedError || err instanceof MasterKeyError) {
      log.fatal(err.message);
    } else {
      log.fatal({ err }, 'failed to start');
    }
    log.flush?.();
    return 1;
  }

  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) {
        log.warn({ signal }, 'second signal: exiting without waiting');
        process.exit(1);
      }
      stopping = true;
      log.info({ signal }, 'received signal');
      server
        .close()
        .then(() => resolve(0))
        .catch((err) => {
          log.error({ err }, 'error while shutting down');
          resolve(1);
        });
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
}

import cluster, { type Worker } from 'node:cluster';
import type { Config } from '../config/config.ts';
import { DataDirLockedError } from '../db/data-dir-lock.ts';
import { DatabaseUnreachableError } from '../db/database-location.ts';
import { AuthTokensError } from '../domain/api-tokens/auth-tokens.ts';
import { createLogger, type Logger } from '../lib/logger.ts';
import { MasterKeyError } from './master-key.ts';
import { startServer } from './start.ts';

/**
 * `gatehouse serve`: runs the server until SIGTERM/SIGINT, then stops gracefully. A second signal
 * during shutdown exits at once. With WORKERS > 1 (PostgreSQL only) this process supervises that
 * many worker processes sharing the port (node:cluster), one per core. Returns the exit code.
 */
export async function serve(config: Config): Promise<number> {
  const log = createLogger({ level: config.logLevel });
  let code: number;
  if (config.workers > 1 && cluster.isPrimary) code = await supervise(config, log);
  else if (!cluster.isWorker) code = await serveOne(config, log);
  else code = await serveOne(config, log.child({ worker: cluster.worker?.id }));
  // Logs are written asynchronously (lib/logger.ts): write out what is buffered before exiting.
  await new Promise<void>((resolve) => log.flush(() => resolve()));
  // A worker's IPC channel keeps it alive: let go of it so the process can exit.
  if (cluster.isWorker) process.disconnect?.();
  return code;
}

async function serveOne(config: Config, log: Logger): Promise<number> {
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
    // Errors an operator fixes outside Gatehouse: one line saying what and where, no stack.
    if (
      err instanceof DataDirLockedError ||
      err instanceof MasterKeyError ||
      err instanceof DatabaseUnreachableError ||
      err instanceof AuthTokensError
    ) {
      log.fatal(err.message);
    } else {
      log.fatal({ err }, 'failed to start');
    }
    return 1;
  }

  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) {
        // In a worker, Ctrl-C reaches us both directly and through the supervisor: not a second ask.
        if (cluster.isWorker) return;
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
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
    // A cluster worker is told to stop by its supervisor over IPC.
    if (cluster.isWorker) {
      process.on('message', (msg) => msg === 'gatehouse:shutdown' && stop('supervisor'));
      process.on('disconnect', () => stop('supervisor gone'));
    }
  });
}

const RESTART_BACKOFF_MS = [100, 500, 1000, 5000];

/** The supervisor: forks the workers, replaces crashed ones, and stops them all on a signal. */
function supervise(config: Config, log: Logger): Promise<number> {
  log.info({ workers: config.workers }, 'starting worker processes');
  let stopping = false;
  let crashes = 0;
  const fork = () => {
    const worker = cluster.fork();
    worker.once('exit', (code, signal) => onExit(worker, code, signal));
  };
  const onExit = (worker: Worker, code: number | null, signal: string | null) => {
    if (stopping) return;
    const delay = RESTART_BACKOFF_MS[Math.min(crashes, RESTART_BACKOFF_MS.length - 1)] ?? 5000;
    crashes++;
    log.error({ worker: worker.id, exitCode: code, signal, restartInMs: delay }, 'worker exited; starting a replacement');
    setTimeout(fork, delay).unref();
  };
  for (let i = 0; i < config.workers; i++) fork();
  // A worker that stayed up a minute resets the crash counter.
  const calm = setInterval(() => {
    crashes = 0;
  }, 60_000);
  calm.unref();

  return new Promise<number>((resolve) => {
    const stop = (signal: string) => {
      if (stopping) {
        for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGKILL');
        process.exit(1);
      }
      stopping = true;
      log.info({ signal }, 'stopping workers');
      const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => !!w);
      let left = workers.length;
      if (left === 0) resolve(0);
      for (const worker of workers) {
        worker.once('exit', () => {
          left--;
          if (left === 0) {
            log.info('stopped');
            resolve(0);
          }
        });
        worker.send('gatehouse:shutdown');
      }
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
  });
}

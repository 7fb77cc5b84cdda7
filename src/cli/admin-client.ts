import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Config } from '../config/config.ts';
import { acquireDataDirLock, type DataDirLock, DataDirLockedError } from '../db/data-dir-lock.ts';
import type { Database } from '../db/database.ts';
import { embeddedDatabaseExists, NoDatabaseError } from '../db/database-location.ts';
import { migrate, pendingMigrations } from '../db/migrator.ts';
import { AppError } from '../lib/app-error.ts';
import { systemClock } from '../lib/clock.ts';
import { deriveKeys } from '../lib/secrets.ts';
import { controlSocketPath } from '../server/control-socket.ts';
import { loadMasterKey, MasterKeyError } from '../server/master-key.ts';
import { type AdminRequest, type AdminResponse, sendOverSocket } from './admin-transport.ts';
import type { AdminCall } from './commands.ts';

/**
 * Where the CLI's admin requests go. The admin API is the same everywhere; only the way to it
 * differs:
 * - on the embedded database a running server holds, its control socket ($DATA_DIR/gatehouse.sock);
 * - otherwise (PostgreSQL, or an embedded database no server holds) this process opens the
 *   database itself, wires the container as a server would, and serves the admin API to itself
 *   on a private socket for the length of the command.
 */

/** A problem answer from the admin API (RFC 9457), as the CLI reports it. */
export class AdminApiError extends AppError {
  constructor(readonly problem: { status: number; code: string; detail: string; details?: Record<string, unknown> }) {
    super(problem.code, problem.detail, { status: problem.status, details: problem.details });
    this.name = 'AdminApiError';
  }
}

/** How long the CLI waits for a server that holds the directory to open its control socket (it may be starting). */
const SERVER_SOCKET_WAIT_MS = 10_000;
/** How long it waits for another command holding the directory to finish, or for a new holder's record. */
const BUSY_WAIT_MS = 2_000;
const RETRY_MS = 100;

export interface AdminSession {
  readOnly: boolean;
  actor: string;
  /** a name for this command, shown to another process the data directory is refused to */
  label: string;
}

/** Runs `fn` with a way to call the admin API, wherever it is for this configuration. */
export async function withAdminApi<T>(config: Config, log: Logger, session: AdminSession, fn: (call: AdminCall) => Promise<T>): Promise<T> {
  if (config.database.kind !== 'pglite') return inProcess(config, log, session, undefined, fn);
  if (session.readOnly && !embeddedDatabaseExists(config.dataDir)) throw new NoDatabaseError(config.dataDir);

  // Taking the lock is also how we learn whether a server runs: the kernel lock is the only truth,
  // and the lock file's record (who holds it) is read only once the lock turned out to be held.
  const started = Date.now();
  for (;;) {
    let lock: DataDirLock;
    try {
      lock = await acquireDataDirLock(config.dataDir, session.label);
    } catch (err) {
      if (!(err instanceof DataDirLockedError)) throw err;
      const waited = Date.now() - started;
      if (err.owner?.role === 'server') {
        const socket = controlSocketPath(config.dataDir);
        const reachable = await probe(socket, session.actor);
        if (reachable) return fn(caller((req) => sendOverSocket(socket, req, session.actor)));
        if (waited >= SERVER_SOCKET_WAIT_MS)
          throw new AppError('cli.server_unreachable', `a server holds ${config.dataDir} but its control socket did not answer`, {
            status: 503,
          });
      } else if (waited >= BUSY_WAIT_MS) {
        if (err.owner)
          throw new AppError(
            'cli.busy',
            `the data directory ${config.dataDir} is in use by another gatehouse command (${err.owner.role}); try again`,
            { status: 409 },
          );
        throw err;
      }
      // A server still starting (no socket yet), a command about to finish, or a holder that has
      // not written its record yet: look again shortly.
      await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
      continue;
    }
    return inProcess(config, log, session, lock, fn);
  }
}

/** Whether the control socket answers (a server still starting may not listen yet). */
async function probe(socket: string, actor: string): Promise<boolean> {
  try {
    await sendOverSocket(socket, { method: 'GET', path: '/keys?page_size=1' }, actor);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ECONNREFUSED') return false;
    throw new AppError('cli.server_unreachable', `the server's control socket did not answer: ${(err as Error).message}`, {
      status: 503,
      cause: err,
    });
  }
}

/** Turns transport answers into bodies, and problem answers into AdminApiError. */
function caller(send: (req: AdminRequest) => Promise<AdminResponse>): AdminCall {
  return async <T>(req: AdminRequest): Promise<T> => {
    const res = await send(req);
    if (res.status >= 400) {
      const p = (res.body ?? {}) as { code?: unknown; detail?: unknown; details?: unknown };
      throw new AdminApiError({
        status: res.status,
        code: typeof p.code === 'string' ? p.code : 'internal',
        detail: typeof p.detail === 'string' ? p.detail : `the server answered ${res.status}`,
        details: p.details && typeof p.details === 'object' ? (p.details as Record<string, unknown>) : undefined,
      });
    }
    return res.body as T;
  };
}

async function inProcess<T>(
  config: Config,
  log: Logger,
  session: AdminSession,
  lock: DataDirLock | undefined,
  fn: (call: AdminCall) => Promise<T>,
): Promise<T> {
  const isNew = config.database.kind === 'pglite' && !embeddedDatabaseExists(config.dataDir);
  // Loaded here, not at start: a command the server carries out needs none of them.
  const [{ openDatabase }, { createContainer }, { createAdminApp, localOperator }] = await Promise.all([
    import('../db/database.ts'),
    import('../container.ts'),
    import('../http/admin/admin-app.ts'),
  ]);
  let db: Database;
  let keys: ReturnType<typeof deriveKeys>;
  try {
    keys = deriveKeys(loadMasterKey(config, log, { mayGenerate: !session.readOnly }));
    db = await openDatabase(config.database, { log, role: session.label, lock });
  } catch (err) {
    await lock?.release();
    throw err;
  }
  if (isNew) process.stderr.write(`gatehouse: created a new embedded database in ${config.dataDir}\n`);
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-cli-'));
  try {
    if (db.kind === 'pglite') {
      // Nobody else can be using it: bring the embedded database up to date, as the server would.
      await migrate(db);
    } else {
      const pending = await pendingMigrations(db);
      if (pending.length) {
        throw new AppError(
          'cli.migrations_pending',
          `the database needs migrations first: run 'gatehouse migrate' (pending: ${pending.join(', ')})`,
          { status: 409 },
        );
      }
    }
    const container = createContainer({ config, db, keys, clock: systemClock, log });
    try {
      if (!(await container.services.settings.isMasterKeyOfThisDatabase())) {
        throw new MasterKeyError(
          'this database was set up with a different master key: set MASTER_KEY (or MASTER_KEY_FILE) to the key the other instances use',
        );
      }
      // As a server would on its first start: an operator rotating or listing keys finds them.
      if (!session.readOnly) await container.services.signingKeys.ensureKeys(session.actor);
      const app = createAdminApp({ services: container.services, log, issuer: config.issuer, authenticate: localOperator });
      const socket = join(dir, 'admin.sock');
      const server = createServer(app.callback());
      await new Promise<void>((resolve, reject) => server.once('error', reject).listen(socket, () => resolve()));
      try {
        return await fn(caller((req) => sendOverSocket(socket, req, session.actor)));
      } finally {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
    } finally {
      await container.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await db.close();
  }
}

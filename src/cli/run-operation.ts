import type { Logger } from 'pino';
import type { Config } from '../config/config.ts';
import { acquireDataDirLock, type DataDirLock, DataDirLockedError } from '../db/data-dir-lock.ts';
import type { Database } from '../db/database.ts';
import { embeddedDatabaseExists, NoDatabaseError } from '../db/database-location.ts';
import { migrate, pendingMigrations } from '../db/migrator.ts';
import { AppError } from '../lib/app-error.ts';
import { systemClock } from '../lib/clock.ts';
import { deriveKeys } from '../lib/secrets.ts';
import { callControlSocket } from '../server/control-socket.ts';
import { loadMasterKey } from '../server/master-key.ts';
import { type OperationName, runOperation } from '../server/operations.ts';

/**
 * Operations that only read. Run where no database is, they must not create one (nor a master
 * key): a CLI started from the wrong directory would otherwise list an empty new database.
 */
const READ_ONLY: ReadonlySet<OperationName> = new Set<OperationName>(['apis.list', 'clients.list', 'clients.show', 'keys.list']);

/** How long the CLI waits for a server that holds the directory to open its control socket (it may be starting). */
const SERVER_SOCKET_WAIT_MS = 10_000;
/** How long it waits for another command holding the directory to finish, or for a new holder's record. */
const BUSY_WAIT_MS = 2_000;
const RETRY_MS = 100;

/**
 * Runs an operation where it can run: on PostgreSQL, in this process; on the embedded database,
 * in the server that holds it (through its control socket) or, if none runs, in this process
 * holding the data-directory lock itself.
 */
export async function executeOperation(config: Config, log: Logger, name: OperationName, input: unknown, actor: string): Promise<unknown> {
  const readOnly = READ_ONLY.has(name);
  if (config.database.kind !== 'pglite') return locally(config, log, name, input, actor, { readOnly });
  if (readOnly && !embeddedDatabaseExists(config.dataDir)) throw new NoDatabaseError(config.dataDir);

  // Taking the lock is also how we learn whether a server runs: the kernel lock is the only truth,
  // and the lock file's record (who holds it) is read only once the lock turned out to be held.
  const started = Date.now();
  for (;;) {
    let lock: DataDirLock;
    try {
      lock = await acquireDataDirLock(config.dataDir, `cli ${name}`);
    } catch (err) {
      if (!(err instanceof DataDirLockedError)) throw err;
      const waited = Date.now() - started;
      if (err.owner?.role === 'server') {
        const answer = await viaServer(config, name, input, actor, waited < SERVER_SOCKET_WAIT_MS);
        if (answer.done) return answer.result;
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
    return locally(config, log, name, input, actor, { readOnly, lock });
  }
}

type ServerAnswer = { done: true; result: unknown } | { done: false };

async function viaServer(config: Config, name: OperationName, input: unknown, actor: string, mayWait: boolean): Promise<ServerAnswer> {
  let response: Awaited<ReturnType<typeof callControlSocket>>;
  try {
    response = await callControlSocket(config.dataDir, name, input, actor);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (mayWait && (code === 'ENOENT' || code === 'ECONNREFUSED')) return { done: false };
    throw new AppError(
      'cli.server_unreachable',
      `a server holds ${config.dataDir} but its control socket did not answer: ${(err as Error).message}`,
      { status: 503, cause: err },
    );
  }
  if (response.error)
    throw new AppError(response.error.code, response.error.message, { status: response.error.status, details: response.error.details });
  return { done: true, result: response.result };
}

async function locally(
  config: Config,
  log: Logger,
  name: OperationName,
  input: unknown,
  actor: string,
  { readOnly, lock }: { readOnly: boolean; lock?: DataDirLock },
): Promise<unknown> {
  const isNew = config.database.kind === 'pglite' && !embeddedDatabaseExists(config.dataDir);
  let db: Database;
  let keys: ReturnType<typeof deriveKeys>;
  // Loaded here, not at start: a command the server carries out needs none of them.
  const [{ openDatabase }, { createContainer }, { MasterKeyError }] = await Promise.all([
    import('../db/database.ts'),
    import('../container.ts'),
    import('../server/master-key.ts'),
  ]);
  try {
    keys = deriveKeys(loadMasterKey(config, log, { mayGenerate: !readOnly }));
    db = await openDatabase(config.database, { log, role: `cli ${name}`, lock });
  } catch (err) {
    await lock?.release();
    throw err;
  }
  if (isNew) process.stderr.write(`gatehouse: created a new embedded database in ${config.dataDir}\n`);
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
    const { services } = container;
    if (!(await services.settings.isMasterKeyOfThisDatabase())) {
      throw new MasterKeyError(
        'this database was set up with a different master key: set MASTER_KEY (or MASTER_KEY_FILE) to the key the other instances use',
      );
    }
    if (name.startsWith('keys.')) await services.signingKeys.ensureKeys(actor);
    try {
      return await runOperation(services, name, input, actor);
    } finally {
      await container.close();
    }
  } finally {
    await db.close();
  }
}

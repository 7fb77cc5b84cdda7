import type { Logger } from 'pino';
import type { Config } from '../config/config.ts';
import { DataDirLockedError, readLockOwner } from '../db/data-dir-lock.ts';
import { migrate, pendingMigrations } from '../db/migrator.ts';
import { AppError } from '../lib/app-error.ts';
import { systemClock } from '../lib/clock.ts';
import { deriveKeys } from '../lib/secrets.ts';
import { callControlSocket } from '../server/control-socket.ts';
import { loadMasterKey } from '../server/master-key.ts';
import { type OperationName, runOperation } from '../server/operations.ts';

/**
 * Runs an operation where it can run: on PostgreSQL, in this process; on the embedded database,
 * in the server that holds it (through its control socket) or, if none runs, in this process
 * holding the data-directory lock itself.
 */
export async function executeOperation(config: Config, log: Logger, name: OperationName, input: unknown, actor: string): Promise<unknown> {
  if (config.database.kind === 'pglite') {
    const owner = readLockOwner(config.dataDir);
    if (owner) return viaServer(config, owner.role, name, input, actor);
    try {
      return await locally(config, log, name, input, actor);
    } catch (err) {
      // A server started between our check and our open: ask it instead.
      if (err instanceof DataDirLockedError) return viaServer(config, err.owner.role, name, input, actor);
      throw err;
    }
  }
  return locally(config, log, name, input, actor);
}

async function viaServer(config: Config, role: string, name: OperationName, input: unknown, actor: string): Promise<unknown> {
  if (role !== 'server') {
    throw new AppError('cli.busy', `the data directory ${config.dataDir} is in use by another gatehouse command (${role}); try again`, {
      status: 409,
    });
  }
  const response = await callControlSocket(config.dataDir, name, input, actor).catch((cause: Error) => {
    throw new AppError(
      'cli.server_unreachable',
      `a server holds ${config.dataDir} but its control socket did not answer: ${cause.message}`,
      { status: 503, cause },
    );
  });
  if (response.error)
    throw new AppError(response.error.code, response.error.message, { status: response.error.status, details: response.error.details });
  return response.result;
}

async function locally(config: Config, log: Logger, name: OperationName, input: unknown, actor: string): Promise<unknown> {
  // Loaded here, not at start: a command the server carries out needs none of them.
  const [{ openDatabase }, { createContainer }, { MasterKeyError }] = await Promise.all([
    import('../db/database.ts'),
    import('../container.ts'),
    import('../server/master-key.ts'),
  ]);
  const keys = deriveKeys(loadMasterKey(config, log));
  const db = await openDatabase(config.database, { log, role: `cli ${name}` });
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

import type { PGlite } from '@electric-sql/pglite';
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { PrismaPGlite } from 'pglite-prisma-adapter';
import type { Logger } from 'pino';
import type { DatabaseConfig } from '../config/config.ts';
import { acquireDataDirLock, type DataDirLock } from './data-dir-lock.ts';
import { embeddedClusterDir } from './database-location.ts';
import { createOutageLog, isDatabaseUnavailable } from './errors.ts';
import { PrismaClient } from './generated/client.ts';
import { openPgliteCluster } from './pglite-cluster.ts';
import { checkPostgresReachable } from './postgres-probe.ts';

export type { PrismaClient };
export type Tx = Parameters<Parameters<PrismaClient['$transaction']>[0]>[0];

/** Raw SQL inside one transaction, for the migrator and other bootstrap steps. */
export interface RawSql {
  /** runs a script of one or more statements, no parameters */
  exec(script: string): Promise<void>;
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
}

export interface Database {
  kind: 'pglite' | 'postgres';
  prisma: PrismaClient;
  /**
   * One parameterised statement sent straight to the driver, in its own implicit transaction. For
   * the few hot statements Prisma adds most to: its client compiles every call in WebAssembly,
   * measured at a fifth of the CPU time of a revocation on PGlite. `timestamptz` columns come back
   * as Date and `jsonb` as parsed values on both databases.
   */
  sql<T = Record<string, unknown>>(text: string, params: unknown[]): Promise<T[]>;
  /** Runs `fn` in a transaction on one connection (multi-statement scripts allowed). */
  rawTransaction<T>(fn: (sql: RawSql) => Promise<T>): Promise<T>;
  /**
   * Subscribes to a NOTIFY channel. `onReset` fires when notifications may have been missed
   * (a dropped listener connection), so callers can reload what they cache.
   */
  listen(channel: string, onMessage: (payload: string) => void, onReset: () => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

export interface OpenOptions {
  log: Logger;
  /** who holds the PGlite lock, shown to a second process that is refused */
  role: string;
  /** the data-directory lock, when the caller took it already (the CLI does, to learn who holds it) */
  lock?: DataDirLock;
}

export async function openDatabase(config: DatabaseConfig, options: OpenOptions): Promise<Database> {
  return config.kind === 'pglite' ? openPglite(config.dataDir, options) : openPostgres(config.url, config.poolSize, options);
}

async function openPglite(dataDir: string, { log, role, lock: heldLock }: OpenOptions): Promise<Database> {
  const lock: DataDirLock =
    heldLock ??
    (await acquireDataDirLock(dataDir, role, {
      onLost: (reason) => log.error({ dataDir }, `data-directory lock lost: ${reason}; another process could now open the directory`),
    }));
  let pglite: PGlite;
  try {
    pglite = await openPgliteCluster(embeddedClusterDir(dataDir), log);
  } catch (err) {
    await lock.release();
    throw err;
  }
  // pglite-prisma-adapter 0.6 is typed against an older driver-adapter-utils; the runtime contract matches.
  const prisma = new PrismaClient({ adapter: new PrismaPGlite(pglite) as unknown as PrismaPg });
  let closed = false;
  log.debug({ dataDir }, 'opened embedded database');
  return {
    kind: 'pglite',
    prisma,
    sql: async <T>(text: string, params: unknown[]) => (await pglite.query<T>(text, params)).rows,
    rawTransaction: (fn) =>
      pglite.transaction((tx) =>
        fn({
          exec: async (script) => {
            await tx.exec(script);
          },
          query: async <T>(sql: string, params?: unknown[]) => (await tx.query<T>(sql, params)).rows,
        }),
      ),
    async listen(channel, onMessage) {
      // One process owns the directory, so every NOTIFY comes from this instance and none is lost.
      const unlisten = await pglite.listen(channel, onMessage);
      return unlisten;
    },
    async close() {
      if (closed) return;
      closed = true;
      await prisma.$disconnect();
      // PGlite keeps the event loop alive until closed, and an unclosed directory is not clean.
      await pglite.close();
      await lock.release();
    },
  };
}

async function openPostgres(url: string, poolSize: number, { log }: OpenOptions): Promise<Database> {
  await checkPostgresReachable(url);
  const pool = new pg.Pool({ connectionString: url, max: poolSize, application_name: 'gatehouse' });
  // A pooled connection that fails (PostgreSQL restarting sends 57P01, then closes the socket)
  // emits 'error'. pg-pool listens only while the connection is idle in the pool: one that is
  // checked out (a Prisma query or transaction, rawTransaction, the readiness check) had no
  // listener, so the event was unhandled and killed the process. Every connection gets one for its
  // whole life; the pool drops the dead connection itself (idle) or on release (checked out).
  const connectionLost = createOutageLog(log, 'PostgreSQL connection lost');
  pool.on('connect', (client) => client.on('error', connectionLost));
  // The idle case reaches the pool's 'error' too, already logged by the connection's own listener.
  pool.on('error', () => {});
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool) });
  const listeners = new Set<pg.Client>();
  let closed = false;

  return {
    kind: 'postgres',
    prisma,
    sql: async <T>(text: string, params: unknown[]) => (await pool.query(text, params)).rows as T[],
    async rawTransaction(fn) {
      const client = await pool.connect();
      // Set when the connection failed while we held it; it then goes back to the pool with its
      // error, which discards it instead of lending it out again.
      let broken: Error | undefined;
      const onError = (err: Error) => {
        broken ??= err;
      };
      client.on('error', onError);
      try {
        await client.query('BEGIN');
        const result = await fn({
          exec: async (script) => {
            await client.query(script);
          },
          query: async <T>(sql: string, params?: unknown[]) => (await client.query(sql, params)).rows as T[],
        });
        await client.query('COMMIT');
        return result;
      } catch (err) {
        if (!broken && isDatabaseUnavailable(err)) broken = err as Error;
        if (!broken) {
          await client.query('ROLLBACK').catch((rollbackErr: Error) => {
            broken = rollbackErr;
          });
        }
        throw err;
      } finally {
        client.off('error', onError);
        client.release(broken);
      }
    },
    async listen(channel, onMessage, onReset) {
      let client: pg.Client | undefined;
      let stopped = false;
      let retryTimer: NodeJS.Timeout | undefined;
      const connect = async (isReconnect: boolean): Promise<void> => {
        const c = new pg.Client({ connectionString: url, application_name: 'gatehouse-listener' });
        c.on('notification', (msg) => {
          if (msg.channel === channel && msg.payload !== undefined) onMessage(msg.payload);
        });
        c.on('error', (err) => {
          log.warn({ err }, 'change listener connection lost; reconnecting');
          listeners.delete(c);
          c.end().catch(() => {});
          scheduleReconnect();
        });
        await c.connect();
        await c.query(`LISTEN ${pg.escapeIdentifier(channel)}`);
        if (stopped) {
          await c.end();
          return;
        }
        client = c;
        listeners.add(c);
        // Anything published while we were disconnected is lost: tell the caller to reload.
        if (isReconnect) onReset();
      };
      const scheduleReconnect = () => {
        if (stopped || closed || retryTimer) return;
        retryTimer = setTimeout(() => {
          retryTimer = undefined;
          connect(true).catch((err) => {
            log.warn({ err }, 'change listener reconnect failed');
            scheduleReconnect();
          });
        }, 1000);
        retryTimer.unref();
      };
      await connect(false);
      return async () => {
        stopped = true;
        if (retryTimer) clearTimeout(retryTimer);
        if (client) {
          listeners.delete(client);
          await client.end().catch(() => {});
        }
      };
    },
    async close() {
      if (closed) return;
      closed = true;
      await Promise.all([...listeners].map((c) => c.end().catch(() => {})));
      await prisma.$disconnect();
      await pool.end();
    },
  };
}

import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { freePort } from '../../scripts/pg-cluster.mjs';
import { loadConfig } from '../../src/config/config.ts';
import type { Services } from '../../src/container.ts';
import type { Database } from '../../src/db/database.ts';
import { type Clock, systemClock } from '../../src/lib/clock.ts';
import { createLogger } from '../../src/lib/logger.ts';
import { type RunningServer, startServer } from '../../src/server/start.ts';
import { createTestDatabase, type TestDatabase } from './test-database.ts';

export const ROOT = join(import.meta.dirname, '..', '..');
export const BIN = join(ROOT, 'bin', 'gatehouse.js');

/** A master key for tests (instances that share a database must share it). */
export function newMasterKey(): string {
  return randomBytes(32).toString('base64url');
}

/** Collects a server's pino output (JSON lines) in memory. */
export class LogCapture extends Writable {
  readonly lines: string[] = [];
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    this.lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    done();
  }
  get text(): string {
    return this.lines.join('\n');
  }
  records(): Array<Record<string, unknown>> {
    return this.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  }
}

export interface TestServer {
  /** base URL, also the issuer */
  url: string;
  services: Services;
  db: TestDatabase;
  /** one statement on the server's own connection (PGlite has no other) */
  sql<T = Record<string, unknown>>(text: string, params?: unknown[]): Promise<T[]>;
  /** the server's open database (a test may wrap `database.sql` to count statements) */
  database: Database;
  logs: LogCapture;
  env: Record<string, string>;
  close(): Promise<void>;
}

export interface TestServerOptions {
  /** an existing database to use (default: a fresh clone of the migrated template) */
  db?: TestDatabase;
  env?: Record<string, string>;
  clock?: Clock;
}

/**
 * Starts Gatehouse in this process on 127.0.0.1 and a free port, on a fresh database of the
 * project's kind (PGlite or PostgreSQL). Everything is real: HTTP, database, keys.
 */
export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const db = options.db ?? (await createTestDatabase());
  const port = await freePort();
  const env: Record<string, string> = {
    NODE_ENV: 'test',
    PORT: String(port),
    HOST: '127.0.0.1',
    ISSUER: `http://127.0.0.1:${port}`,
    MASTER_KEY: newMasterKey(),
    SHUTDOWN_GRACE_SECONDS: '2',
    ...db.env,
    ...options.env,
  };
  const logs = new LogCapture();
  const log = createLogger({ level: 'debug', destination: logs });
  let server: RunningServer;
  try {
    server = await startServer(loadConfig(env), log, options.clock ?? systemClock);
  } catch (err) {
    if (!options.db) await db.drop();
    throw err;
  }
  return {
    url: env.ISSUER as string,
    services: server.services,
    sql: (text, params = []) => server.db.sql(text, params),
    database: server.db,
    db,
    logs,
    env,
    async close() {
      await server.close();
      if (!options.db) await db.drop();
    },
  };
}

export interface SpawnedServer {
  url: string;
  child: ChildProcess;
  env: Record<string, string>;
  output(): string;
  /** sends `signal` and resolves with the exit code */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * Starts `gatehouse serve` as a separate process (the built CLI, as `npm start` runs it) and
 * waits until /readyz answers 200.
 */
export async function spawnServer(
  env: Record<string, string>,
  { readyTimeoutMs = 60_000, wrapper = [] as string[] } = {},
): Promise<SpawnedServer> {
  const port = env.PORT ? Number(env.PORT) : await freePort();
  const fullEnv: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '/tmp',
    NODE_ENV: 'test',
    PORT: String(port),
    HOST: '127.0.0.1',
    ISSUER: `http://127.0.0.1:${port}`,
    SHUTDOWN_GRACE_SECONDS: '5',
    ...env,
  };
  // `wrapper` runs it through another command (e.g. `unshare --pid --fork`, which then execs node).
  const [command = process.execPath, ...args] = [...wrapper, process.execPath, BIN, 'serve'];
  const child = spawn(command, args, { env: fullEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => {
    output += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    output += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = fullEnv.ISSUER as string;
  const deadline = Date.now() + readyTimeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`gatehouse exited (${child.exitCode ?? child.signalCode}) before it was ready:\n${output}`);
    }
    try {
      const res = await fetch(`${url}/readyz`);
      if (res.status === 200) break;
    } catch {}
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`gatehouse was not ready within ${readyTimeoutMs} ms:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    child,
    env: fullEnv,
    output: () => output,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode === null) child.kill(signal);
      return exited;
    },
  };
}

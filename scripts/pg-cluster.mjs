// Throwaway PostgreSQL cluster on a free loopback port, for tests, CI and the benchmark.
// PostgreSQL's server binaries are installed on our machines but no server runs (DESIGN.md §1).
// As root, initdb and postgres must run as the `postgres` system user.
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

export function findPgBin() {
  if (process.env.PG_BIN) return process.env.PG_BIN;
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    const versions = readdirSync(root)
      .filter((v) => existsSync(join(root, v, 'bin', 'initdb')))
      .sort((a, b) => Number(b) - Number(a));
    if (versions[0]) return join(root, versions[0], 'bin');
  }
  const found = spawnSync('sh', ['-c', 'command -v initdb'], { encoding: 'utf8' }).stdout.trim();
  if (found) return found.replace(/\/initdb$/, '');
  throw new Error('PostgreSQL server binaries (initdb, pg_ctl) not found: install postgresql or set PG_BIN');
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

const isRoot = process.getuid?.() === 0;

const execFileAsync = promisify(execFile);

/** pg_ctl and initdb waits are bounded (`-t`), and so is the command itself: never a hung test. */
const COMMAND_TIMEOUT_MS = 90_000;

function argv(bin, args) {
  return isRoot ? ['runuser', ['-u', 'postgres', '--', bin, ...args]] : [bin, args];
}

function run(bin, args) {
  const [command, rest] = argv(bin, args);
  execFileSync(command, rest, { stdio: ['ignore', 'pipe', 'pipe'], timeout: COMMAND_TIMEOUT_MS });
}

/** As `run`, without blocking the caller's event loop (tests poll a server meanwhile). */
async function runAsync(bin, args) {
  const [command, rest] = argv(bin, args);
  await execFileAsync(command, rest, { timeout: COMMAND_TIMEOUT_MS });
}

/**
 * Starts a cluster and returns `{ url, port, dir, stop(), halt(), resume() }`. `url` points at the
 * `postgres` database as superuser `postgres` (trust auth, loopback only).
 * - `stop()` ends the cluster for good (immediate shutdown) and deletes its files;
 * - `halt({ mode })` stops the server but keeps its files, as an operator's `pg_ctl stop` or a
 *   restart would (`mode` is pg_ctl's: 'fast' by default, 'smart' or 'immediate');
 * - `resume()` starts the halted server again on the same port and data directory.
 */
export async function startCluster({ fast = true } = {}) {
  const bin = findPgBin();
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-pg-'));
  chmodSync(dir, 0o755);
  if (isRoot) {
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
    chownSync(dir, uid, gid);
  }
  const data = join(dir, 'data');
  const port = await freePort();
  run(join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '-A', 'trust', '--no-sync', '-E', 'UTF8']);
  const options = [
    `-p ${port}`,
    `-k ${dir}`,
    '-c listen_addresses=127.0.0.1',
    '-c max_connections=300',
    ...(fast ? ['-c fsync=off', '-c synchronous_commit=off', '-c full_page_writes=off'] : []),
  ].join(' ');
  const pgCtlStart = ['-D', data, '-o', options, '-l', join(dir, 'log'), '-w', '-t', '60', 'start'];
  run(join(bin, 'pg_ctl'), pgCtlStart);
  let stopped = false;
  let running = true;
  return {
    url: `postgresql://postgres@127.0.0.1:${port}/postgres`,
    port,
    dir,
    stop() {
      if (stopped) return;
      stopped = true;
      try {
        if (running) run(join(bin, 'pg_ctl'), ['-D', data, '-m', 'immediate', '-w', '-t', '60', 'stop']);
        running = false;
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
    async halt({ mode = 'fast' } = {}) {
      if (stopped) throw new Error('the cluster was stopped for good');
      if (!running) return;
      await runAsync(join(bin, 'pg_ctl'), ['-D', data, '-m', mode, '-w', '-t', '60', 'stop']);
      running = false;
    },
    async resume() {
      if (stopped) throw new Error('the cluster was stopped for good');
      if (running) return;
      await runAsync(join(bin, 'pg_ctl'), pgCtlStart);
      running = true;
    },
  };
}

// `node scripts/pg-cluster.mjs` starts a cluster, prints its URL, and stops it on SIGINT/SIGTERM.
if (import.meta.url === `file://${process.argv[1]}`) {
  const cluster = await startCluster({ fast: false });
  console.log(cluster.url);
  const stop = () => {
    cluster.stop();
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  setInterval(() => {}, 1 << 30);
}

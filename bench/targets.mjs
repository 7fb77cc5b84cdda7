// The servers the benchmark measures: the bare oidc-provider baseline and Gatehouse on each
// database, each started as its own process from the built code and seeded through Gatehouse's
// own CLI, exactly as an operator would.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { freePort } from '../scripts/pg-cluster.mjs';
import { BASELINE_APIS, BASELINE_CLIENT } from './baseline-config.mjs';

const ROOT = join(import.meta.dirname, '..');
const BIN = join(ROOT, 'bin', 'gatehouse.js');

/** Every target, in the order they run. `needs` says which database a target requires. */
export const TARGETS = [
  { id: 'baseline', label: 'oidc-provider (bare)', kind: 'baseline' },
  { id: 'pglite', label: 'gatehouse PGlite', kind: 'gatehouse', needs: 'pglite', workers: 1 },
  { id: 'postgres', label: 'gatehouse PostgreSQL', kind: 'gatehouse', needs: 'postgres', workers: 1 },
  { id: 'postgres-workers', label: 'gatehouse PostgreSQL WORKERS=2', kind: 'gatehouse', needs: 'postgres', workers: 2 },
];

async function waitUntilReady(url, child, output, timeoutMs = 60_000) {
  const started = performance.now();
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode} before it was ready:\n${output()}`);
    try {
      const res = await fetch(`${url}/readyz`);
      if (res.status === 200) return;
    } catch {}
    if (performance.now() - started > timeoutMs) throw new Error(`server not ready within ${timeoutMs} ms:\n${output()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function stopChild(child) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

// Gatehouse runs as `npm start` runs it: bin/gatehouse.js executed, so its shebang's V8 flags apply,
// with this Node first on the PATH. The baseline runs with Node's defaults, as the library ships.
const PATH = `${dirname(process.execPath)}:${process.env.PATH ?? ''}`;

/** Starts a process and keeps the tail of its output for error messages; logs go to `logFile`. */
function startProcess(command, args, env, logFile) {
  const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const log = createWriteStream(logFile, { flags: 'a' });
  let tail = '';
  const keep = (d) => {
    log.write(d);
    tail = (tail + d).slice(-4000);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  child.once('exit', () => log.end());
  return { child, output: () => tail };
}

async function startBaseline(workDir) {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const started = performance.now();
  const { child, output } = startProcess(
    process.execPath,
    [join(ROOT, 'bench', 'baseline-server.mjs')],
    { ...process.env, PORT: String(port) },
    join(workDir, 'baseline.log'),
  );
  await waitForLine(child, output);
  const readyMs = performance.now() - started;
  return {
    url,
    pid: child.pid,
    readyMs,
    client: { id: BASELINE_CLIENT.client_id, secret: BASELINE_CLIENT.client_secret },
    apis: BASELINE_APIS,
    stop: () => stopChild(child),
  };
}

// The baseline prints one JSON line when it listens (it has no /readyz).
function waitForLine(child, output) {
  return new Promise((resolve, reject) => {
    const onData = (d) => {
      if (String(d).includes('"ready":true')) {
        child.stdout.off('data', onData);
        resolve();
      }
    };
    child.stdout.on('data', onData);
    child.once('exit', (code) => reject(new Error(`baseline exited with ${code}:\n${output()}`)));
  });
}

function cli(args, env, input) {
  const result = spawnSync(BIN, args, { env, encoding: 'utf8', ...(input === undefined ? {} : { input }) });
  if (result.status !== 0) throw new Error(`gatehouse ${args.join(' ')} failed (${result.status}): ${result.stderr}`);
  return result.stdout;
}

/** Registers a JWT API, an opaque-token API and one client granted both, through the CLI (the API token comes from AUTH_TOKENS). */
function seed(env, runId) {
  const apis = { jwt: `https://jwt.bench.test/${runId}`, opaque: `https://opaque.bench.test/${runId}` };
  cli(['apis', 'create', '--identifier', apis.jwt, '--name', 'Bench JWT API', '--scopes', 'read,write'], env);
  cli(
    ['apis', 'create', '--identifier', apis.opaque, '--name', 'Bench opaque API', '--scopes', 'read,write', '--token-format', 'opaque'],
    env,
  );
  const client = JSON.parse(
    cli(
      [
        'clients',
        'create',
        '--name',
        `bench-${runId}`,
        '--grant-types',
        'client_credentials',
        '--api',
        apis.jwt,
        '--api',
        apis.opaque,
        // a resource server too: it may introspect API tokens (RFC 7662 §4, introspection-policy.ts)
        '--introspect',
        '--json',
      ],
      env,
    ),
  );
  // Issue 11: a web application people sign in to (code + PKCE, refresh tokens, the JWT API), and
  // one person made through the CLI: BULK_ROWS more share their password hash (seedBulk).
  const redirectUri = 'https://app.bench.test/callback';
  const web = JSON.parse(
    cli(
      [
        'clients',
        'create',
        '--name',
        `bench-web-${runId}`,
        '--grant-types',
        'authorization_code,refresh_token',
        '--redirect-uris',
        redirectUri,
        '--api',
        apis.jwt,
        '--json',
      ],
      env,
    ),
  );
  cli(['users', 'create', '--username', BENCH_PERSON, '--password-stdin'], env, `${BENCH_PASSWORD}\n`);
  return {
    apis,
    client: { id: client.client_id, secret: client.client_secret },
    webClient: { id: web.client_id, secret: web.client_secret, redirectUri },
  };
}

/** The person seeded through the CLI, whose password hash the bulk users share. */
const BENCH_PERSON = 'bench-person';
const BENCH_PASSWORD = randomBytes(18).toString('base64url');

/** The bulk users in turn, each signing in for the first time (the sign-in scenarios take one each). */
function bulkPeople() {
  let next = 0;
  return {
    next() {
      if (next >= BULK_ROWS) throw new Error(`all ${BULK_ROWS} bench people have signed in once: a longer run needs more of them`);
      next += 1;
      return { username: `bulk-user-${next}`, password: BENCH_PASSWORD };
    },
  };
}

/** Users and applications in the database the admin API's list scenario pages through. */
export const BULK_ROWS = 10_000;

/**
 * Writes BULK_ROWS users, each owning one application, straight into a stopped target's database
 * (the one SQL statement the schema allows: nothing of Gatehouse's rules is skipped that a list
 * would depend on). PGlite: the data directory is opened here, the server being stopped.
 */
async function seedBulk(where) {
  const statements = [
    `INSERT INTO users (id, username, is_active, is_superuser, created_at, updated_at)
     SELECT 'usr_bulk' || i, 'bulk-user-' || i, true, false, now(), now() FROM generate_series(1, ${BULK_ROWS}) AS i`,
    `INSERT INTO applications (id, client_id, name, client_type, grant_types, redirect_uris, skip_authorization, is_active, owner_user_id, created_at, updated_at)
     SELECT 'app_bulk' || i, 'bulkclient' || i, 'bulk application ' || i, 'confidential', ARRAY['client_credentials'], ARRAY[]::text[],
            false, true, 'usr_bulk' || i, now() - (i || ' seconds')::interval, now() FROM generate_series(1, ${BULK_ROWS}) AS i`,
    // the sign-in scenarios' people: the CLI-made person's argon2id hash, so each can sign in
    `UPDATE users SET password_hash = (SELECT password_hash FROM users WHERE username = '${BENCH_PERSON}') WHERE id LIKE 'usr_bulk%'`,
  ];
  if (where.kind === 'postgres') {
    const { default: pg } = await import('pg');
    const client = new pg.Client({ connectionString: where.url });
    await client.connect();
    try {
      for (const sql of statements) await client.query(sql);
    } finally {
      await client.end();
    }
    return;
  }
  const { PGlite } = await import('@electric-sql/pglite');
  const db = await PGlite.create(where.dataDir);
  try {
    for (const sql of statements) await db.query(sql);
  } finally {
    await db.close();
  }
}

async function startGatehouse(target, workDir, database) {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const dataDir = mkdtempSync(join(tmpdir(), `gatehouse-bench-${target.id}-`));
  const env = {
    PATH,
    HOME: process.env.HOME ?? '/tmp',
    // Profiling: BENCH_NODE_OPTIONS='--cpu-prof --cpu-prof-dir=/tmp/prof' (bench/README.md).
    ...(process.env.BENCH_NODE_OPTIONS ? { NODE_OPTIONS: process.env.BENCH_NODE_OPTIONS } : {}),
    PORT: String(port),
    HOST: '127.0.0.1',
    ISSUER: url,
    DATA_DIR: dataDir,
    MASTER_KEY: process.env.MASTER_KEY ?? randomBytes(32).toString('base64url'),
    WORKERS: String(target.workers),
    ...(process.env.LOG_LEVEL ? { LOG_LEVEL: process.env.LOG_LEVEL } : {}),
    ...(database ? { DATABASE_URL: database } : {}),
    // The floods come from one address (the load generator): with the failure throttle on, the
    // first scenario's flood would leave that address blocked for the next, and a blocked flood
    // measures only the 429. Off, each failed authentication costs what it costs for a flood the
    // throttle cannot block (made-up client ids from many addresses): the worst case.
    CLIENT_AUTH_MAX_FAILURES_PER_CLIENT_PER_MINUTE: '0',
    CLIENT_AUTH_MAX_FAILURES_PER_IP_PER_MINUTE: '0',
    // The sign-in scenarios start every sign-in from the load generator's one address.
    AUTHORIZATION_REQUESTS_PER_IP_PER_MINUTE: '0',
  };
  const logFile = join(workDir, `${target.id}.log`);
  const runId = randomBytes(4).toString('hex');
  // An API token declared at start-up (AUTH_TOKENS' documented use): the admin API scenarios
  // authenticate with it. Its user, codenames and token are created on the first start.
  const apiToken = randomBytes(32).toString('base64url');
  env.AUTH_TOKENS = `bench:${apiToken}:view_user&add_mediasource&view_application`;

  // First start on an empty database: migrations and key generation. Seeded through the CLI while
  // it runs, then restarted: the measured server is a restarted one, as in production.
  let started = performance.now();
  let proc = startProcess(BIN, ['serve'], env, logFile);
  await waitUntilReady(url, proc.child, proc.output);
  const firstReadyMs = performance.now() - started;
  const seeded = seed(env, runId);
  await stopChild(proc.child);
  // The admin API's list scenario reads a database of BULK_ROWS users and applications: written
  // in bulk while the server is stopped (the CLI would take an hour for 20,000 objects).
  await seedBulk(database ? { kind: 'postgres', url: database } : { kind: 'pglite', dataDir: join(dataDir, 'pgdata') });

  started = performance.now();
  proc = startProcess(BIN, ['serve'], env, logFile);
  await waitUntilReady(url, proc.child, proc.output);
  const readyMs = performance.now() - started;
  const { child } = proc;
  return {
    url,
    pid: child.pid,
    readyMs,
    firstReadyMs,
    ...seeded,
    people: bulkPeople(),
    apiToken,
    async stop() {
      await stopChild(child);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Starts a target; `databases` maps `pglite`/`postgres` to what the target should use. */
export async function startTarget(target, { workDir, postgres }) {
  if (target.kind === 'baseline') return startBaseline(workDir);
  return startGatehouse(target, workDir, target.needs === 'postgres' ? await postgres.newDatabaseUrl() : undefined);
}

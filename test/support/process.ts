import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { request } from 'node:http';
import { createLocalJWKSet, type JSONWebKeySet, type JWTPayload, jwtVerify } from 'jose';
import pg from 'pg';
import { inject } from 'vitest';
import { loadConfig } from '../../src/config/config.ts';
import { createContainer, type Services } from '../../src/container.ts';
import { openDatabase } from '../../src/db/database.ts';
import { systemClock } from '../../src/lib/clock.ts';
import { createLogger } from '../../src/lib/logger.ts';
import { deriveKeys } from '../../src/lib/secrets.ts';
import { loadMasterKey } from '../../src/server/master-key.ts';
import { basicAuth, makeMachineSetup, postForm } from './fixtures.ts';
import { BIN, type SpawnedServer, spawnServer } from './server.ts';

/**
 * Helpers for suites that drive Gatehouse as separate processes: the CLI, servers sharing an
 * issuer, in-process seeding of a database no server holds, and polling with a deadline.
 */

/** The environment a spawned `gatehouse` gets (as spawnServer builds it), plus `env`. */
export function gatehouseEnv(env: Record<string, string>): Record<string, string> {
  return { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', NODE_ENV: 'test', ...env };
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs `bin/gatehouse.js <args>` to completion (killed after `timeoutMs`). */
export function runGatehouse(env: Record<string, string>, args: string[], { timeoutMs = 30_000 } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: gatehouseEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** Runs a CLI command with `--json`, fails loudly unless it exits 0, and parses its output. */
export async function cliJson<T = Record<string, unknown>>(env: Record<string, string>, args: string[]): Promise<T> {
  const result = await runGatehouse(env, [...args, '--json']);
  if (result.code !== 0) throw new Error(`gatehouse ${args.join(' ')} exited with ${result.code}:\n${result.stderr}${result.stdout}`);
  return JSON.parse(result.stdout) as T;
}

export interface CliClient {
  identifier: string;
  clientId: string;
  clientSecret: string;
}

/** Registers an API and a client granted it through the CLI (a running server's socket on PGlite). */
export async function cliMachineSetup(env: Record<string, string>): Promise<CliClient> {
  const identifier = `https://api-${randomBytes(4).toString('hex')}.example.test`;
  await cliJson(env, ['apis', 'create', '--identifier', identifier, '--name', 'Process test API', '--scopes', 'read,write']);
  const client = await cliJson<{ client_id: string; client_secret: string }>(env, [
    'clients',
    'create',
    '--name',
    `process-${randomBytes(4).toString('hex')}`,
    '--api',
    identifier,
  ]);
  return { identifier, clientId: client.client_id, clientSecret: client.client_secret };
}

/**
 * Runs `fn` against the services of the database `env` selects, in this process, as the CLI does
 * when no server holds an embedded database. Never call it on a PGlite directory a server holds.
 */
export async function withServices<T>(env: Record<string, string>, fn: (services: Services) => Promise<T>): Promise<T> {
  const config = loadConfig(gatehouseEnv(env));
  const log = createLogger({ level: 'silent' });
  const keys = deriveKeys(loadMasterKey(config, log));
  const db = await openDatabase(config.database, { log, role: 'test seeding' });
  const container = createContainer({ config, db, keys, clock: systemClock, log });
  try {
    if (!(await container.services.settings.isMasterKeyOfThisDatabase())) throw new Error('another master key set up this database');
    return await fn(container.services);
  } finally {
    await container.close();
    await db.close();
  }
}

/** An API and a client granted it, created in-process (see withServices). */
export async function seedMachineClient(env: Record<string, string>): Promise<CliClient> {
  return withServices(env, async (services) => {
    const { api, clientId, clientSecret } = await makeMachineSetup(services);
    return { identifier: api.identifier, clientId, clientSecret };
  });
}

/** Client credentials grant (RFC 6749 §4.4) with client_secret_basic. */
export function requestToken(url: string, client: CliClient, secret = client.clientSecret) {
  return postForm(
    `${url}/oauth/token`,
    { grant_type: 'client_credentials', audience: client.identifier },
    { authorization: basicAuth(client.clientId, secret) },
  );
}

/** A token that must be issued: throws with the response otherwise. */
export async function issueToken(url: string, client: CliClient): Promise<string> {
  const res = await requestToken(url, client);
  if (res.status !== 200 || typeof res.body.access_token !== 'string')
    throw new Error(`token request failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.access_token;
}

export async function introspect(url: string, client: CliClient, token: string) {
  const res = await postForm(`${url}/oauth/introspect`, { token }, { authorization: basicAuth(client.clientId, client.clientSecret) });
  if (res.status !== 200) throw new Error(`introspection failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as { active: boolean } & Record<string, unknown>;
}

export async function revoke(url: string, client: CliClient, token: string): Promise<number> {
  return (await postForm(`${url}/oauth/revoke`, { token }, { authorization: basicAuth(client.clientId, client.clientSecret) })).status;
}

export async function fetchJwks(url: string): Promise<JSONWebKeySet> {
  const res = await fetch(`${url}/.well-known/jwks.json`, { headers: { 'cache-control': 'no-cache' } });
  if (res.status !== 200) throw new Error(`JWKS answered ${res.status}`);
  return (await res.json()) as JSONWebKeySet;
}

export const kids = (jwks: JSONWebKeySet) => jwks.keys.map((k) => k.kid as string).sort();

/** Verifies an access token offline the way a downstream API would (README, RFC 9068 §4). */
export async function verifyAccessToken(jwksUrl: string, token: string, issuer: string, audience: string): Promise<JWTPayload> {
  const { payload } = await jwtVerify(token, createLocalJWKSet(await fetchJwks(jwksUrl)), {
    issuer,
    audience,
    typ: 'at+jwt',
    algorithms: ['ES256', 'RS256'],
  });
  return payload;
}

type Falsy = undefined | null | false | 0 | '';

/** Polls `check` until it returns a truthy value (which it resolves with), or throws after `timeoutMs`. */
export async function waitFor<T>(
  check: () => Promise<T | Falsy> | T | Falsy,
  what: string,
  { timeoutMs = 10_000, intervalMs = 50 } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value as T;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** Waits until a spawned server's output matches `pattern`. */
export function waitForOutput(server: SpawnedServer, pattern: RegExp, timeoutMs = 10_000): Promise<true> {
  return waitFor(() => pattern.test(server.output()), `output matching ${pattern}`, { timeoutMs, intervalMs: 20 });
}

/** Resolves once everything a spawned server wrote to stdout has been read ('exit' can come first). */
export async function outputDrained(server: SpawnedServer): Promise<void> {
  const out = server.child.stdout;
  if (out && !out.readableEnded && !out.destroyed) await once(out, 'end');
}

/** The JSON log lines a spawned server printed. */
export function logRecords(server: SpawnedServer): Array<Record<string, unknown>> {
  return server
    .output()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .flatMap((l) => {
      try {
        return [JSON.parse(l) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Starts `gatehouse serve` on its own `port` but with a given ISSUER (instances behind one name
 * share it; a token's `iss` must match wherever it is checked). Waits for this instance's /readyz.
 */
export async function spawnInstance(env: Record<string, string>, port: number, issuer: string): Promise<SpawnedServer & { local: string }> {
  const local = `http://127.0.0.1:${port}`;
  // spawnServer polls ISSUER/readyz, which may be another instance: poll our own port as well.
  const server = await spawnServer({ ...env, PORT: String(port), ISSUER: issuer });
  try {
    await waitFor(
      async () => {
        if (server.child.exitCode !== null) throw new Error(`exited with ${server.child.exitCode}:\n${server.output()}`);
        return (await fetch(`${local}/readyz`)).status === 200;
      },
      `${local}/readyz`,
      { timeoutMs: 60_000, intervalMs: 100 },
    );
  } catch (err) {
    await server.stop('SIGKILL');
    throw err;
  }
  return Object.assign(server, { local });
}

/** Stops every server given (SIGKILL if still running after SIGTERM's grace); for afterAll/finally. */
export async function stopAll(...servers: Array<SpawnedServer | undefined>): Promise<void> {
  await Promise.all(
    servers.map(async (s) => {
      if (!s || s.child.exitCode !== null || s.child.signalCode !== null) return;
      const timer = setTimeout(() => s.child.kill('SIGKILL'), 15_000);
      await s.stop('SIGTERM');
      clearTimeout(timer);
    }),
  );
}

/** A new, empty (unmigrated) PostgreSQL database on the test cluster (postgres project only). */
export async function createEmptyPostgresDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const adminUrl = inject('pgAdminUrl');
  if (!adminUrl) throw new Error('no PostgreSQL cluster in this project');
  const name = `gh_empty_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  return {
    url: adminUrl.replace(/\/postgres$/, `/${name}`),
    async drop() {
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}

/** Runs one query on a PostgreSQL URL. */
export async function pgQuery<T extends pg.QueryResultRow = Record<string, unknown>>(url: string, sql: string, params: unknown[] = []) {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query<T>(sql, params)).rows;
  } finally {
    await c.end();
  }
}

export interface RawResponse {
  status: number;
  headers: string;
  body: string;
}

/**
 * One HTTP request on its own connection (no keep-alive pool), reporting how it ended: a
 * response, an error before any response arrived (`phase: 'connect'`), or an error after the
 * response had started (`phase: 'response'`, a connection cut mid-response).
 */
export function rawRequest(
  url: string,
  { method = 'GET', path = '/', headers = {}, body }: { method?: string; path?: string; headers?: Record<string, string>; body?: string },
): Promise<{ ok: true; status: number; body: string } | { ok: false; phase: 'connect' | 'response'; code: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    let responded = false;
    const req = request({ host: hostname, port, method, path, headers, agent: false }, (res) => {
      responded = true;
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ ok: true, status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', (err: NodeJS.ErrnoException) => resolve({ ok: false, phase: 'response', code: err.code ?? err.message }));
      res.on('aborted', () => resolve({ ok: false, phase: 'response', code: 'aborted' }));
    });
    req.on('error', (err: NodeJS.ErrnoException) =>
      resolve({ ok: false, phase: responded ? 'response' : 'connect', code: err.code ?? err.message }),
    );
    req.end(body);
  });
}

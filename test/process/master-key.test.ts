import { chmodSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { freePort } from '../../scripts/pg-cluster.mjs';
import { type CliResult, runCli, runCliJson } from '../support/cli.ts';
import { basicAuth, makeMachineSetup, postForm } from '../support/fixtures.ts';
import { newMasterKey, startTestServer, type TestServer } from '../support/server.ts';
import { createTestDatabase, TEST_DB, type TestDatabase } from '../support/test-database.ts';

/**
 * The master key: given as MASTER_KEY, or generated once into $DATA_DIR/master.key (mode 0600)
 * and reused from there. A database remembers which key it was set up with and a server given
 * another one refuses to start; on PostgreSQL in production the key must be configured.
 */

const GENERATED = /generated a master key file/;

async function tokenStatus(server: TestServer, clientId: string, secret: string, audience: string) {
  const res = await postForm(
    `${server.url}/oauth/token`,
    { grant_type: 'client_credentials', audience },
    { authorization: basicAuth(clientId, secret) },
  );
  return res.status;
}

/** `gatehouse serve` as a separate process, expected to refuse to start: waits for it to exit. */
async function serveRefuses(env: Record<string, string>): Promise<CliResult & { port: number }> {
  const port = await freePort();
  const result = await runCli(
    ['serve'],
    { NODE_ENV: 'test', HOST: '127.0.0.1', PORT: String(port), ISSUER: `http://127.0.0.1:${port}`, ...env },
    { timeoutMs: 45_000 },
  );
  expect(result.code, result.stdout + result.stderr).not.toBe(0);
  expect(result.code).not.toBeNull();
  expect(result.stdout).not.toMatch(/gatehouse ready/);
  return { ...result, port };
}

/** The pino records a spawned server wrote to stdout. */
function records(stdout: string): Array<Record<string, unknown>> {
  return stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

async function withDatabase(fn: (db: TestDatabase) => Promise<void>) {
  const db = await createTestDatabase();
  try {
    await fn(db);
  } finally {
    await db.drop();
  }
}

describe('the master key', { timeout: 120_000 }, () => {
  it('without MASTER_KEY, the first start creates $DATA_DIR/master.key (mode 0600) and says so; restarts and the CLI reuse it', async () => {
    await withDatabase(async (db) => {
      const keyFile = join(db.dataDir, 'master.key');
      expect(existsSync(keyFile)).toBe(false);

      // An empty MASTER_KEY counts as unset.
      const first = await startTestServer({ db, env: { MASTER_KEY: '' } });
      let setup: Awaited<ReturnType<typeof makeMachineSetup>>;
      try {
        expect((statSync(keyFile).mode & 0o777).toString(8)).toBe('600');
        expect(Buffer.from(readFileSync(keyFile, 'utf8').trim(), 'base64url').length).toBeGreaterThanOrEqual(32);
        const said = first.logs.records().find((r) => GENERATED.test(String(r.msg)));
        expect(said, first.logs.text).toBeDefined();
        expect(said?.path).toBe(keyFile);
        setup = await makeMachineSetup(first.services);
        expect(await tokenStatus(first, setup.clientId, setup.clientSecret, setup.api.identifier)).toBe(200);
      } finally {
        await first.close();
      }
      const key = readFileSync(keyFile, 'utf8');

      // With no server running, the CLI (no MASTER_KEY either) reads the same file.
      const viaCli = await runCliJson<{ client_id: string; client_secret: string }>(
        ['clients', 'create', '--name', 'made-while-stopped', '--api', setup.api.identifier, '--json'],
        { NODE_ENV: 'test', ...db.env },
      );
      expect(readFileSync(keyFile, 'utf8')).toBe(key);

      const second = await startTestServer({ db, env: { MASTER_KEY: '' } });
      try {
        expect(readFileSync(keyFile, 'utf8')).toBe(key);
        expect(second.logs.records().some((r) => GENERATED.test(String(r.msg)))).toBe(false);
        // Secrets digested under the key before the restart still verify.
        expect(await tokenStatus(second, setup.clientId, setup.clientSecret, setup.api.identifier)).toBe(200);
        expect(await tokenStatus(second, viaCli.client_id, viaCli.client_secret, setup.api.identifier)).toBe(200);
        expect(await tokenStatus(second, setup.clientId, `${setup.clientSecret}x`, setup.api.identifier)).toBe(401);
      } finally {
        await second.close();
      }
    });
  });

  it('warns when the key file is readable by other users', async () => {
    await withDatabase(async (db) => {
      const key = newMasterKey();
      writeFileSync(join(db.dataDir, 'master.key'), `${key}\n`, { mode: 0o644 });
      chmodSync(join(db.dataDir, 'master.key'), 0o644);
      const server = await startTestServer({ db, env: { MASTER_KEY: '' } });
      try {
        const warning = server.logs.records().find((r) => /readable by other users/.test(String(r.msg)));
        expect(warning, server.logs.text).toMatchObject({ level: 'warn', mode: '644' });
        expect(server.logs.text).not.toContain(key);
      } finally {
        await server.close();
      }
    });
  });

  it('a server given a different MASTER_KEY than its database was set up with refuses to start, saying why', async () => {
    await withDatabase(async (db) => {
      const right = newMasterKey();
      const setupServer = await startTestServer({ db, env: { MASTER_KEY: right } });
      const setup = await makeMachineSetup(setupServer.services);
      await setupServer.close();

      const wrong = newMasterKey();
      const refused = await serveRefuses({ ...db.env, MASTER_KEY: wrong });
      const fatal = records(refused.stdout).find((r) => r.level === 'fatal');
      expect(fatal?.msg, refused.stdout + refused.stderr).toMatch(/different master key/);
      expect(refused.stdout + refused.stderr).not.toContain(wrong);
      expect(refused.stdout + refused.stderr).not.toContain(right);
      await expect(fetch(`http://127.0.0.1:${refused.port}/healthz`)).rejects.toThrow();

      // The refusal changed nothing and let go of the database: the right key still works.
      const again = await startTestServer({ db, env: { MASTER_KEY: right } });
      try {
        expect(await tokenStatus(again, setup.clientId, setup.clientSecret, setup.api.identifier)).toBe(200);
      } finally {
        await again.close();
      }
    });
  });

  it.skipIf(TEST_DB !== 'postgres')(
    'NODE_ENV=production on PostgreSQL without MASTER_KEY refuses to start, naming MASTER_KEY',
    async () => {
      await withDatabase(async (db) => {
        const refused = await serveRefuses({ ...db.env, NODE_ENV: 'production' });
        const fatal = records(refused.stdout).find((r) => r.level === 'fatal');
        expect(fatal?.msg, refused.stdout + refused.stderr).toMatch(/MASTER_KEY.*must be set in production/);
        // It generated no per-machine key that other instances would not share.
        expect(existsSync(join(db.dataDir, 'master.key'))).toBe(false);
        await expect(fetch(`http://127.0.0.1:${refused.port}/healthz`)).rejects.toThrow();
      });
    },
  );

  it.skipIf(TEST_DB !== 'pglite')('NODE_ENV=production on the embedded database without MASTER_KEY generates the key file', async () => {
    await withDatabase(async (db) => {
      const server = await startTestServer({ db, env: { NODE_ENV: 'production', MASTER_KEY: '' } });
      try {
        expect((statSync(join(db.dataDir, 'master.key')).mode & 0o777).toString(8)).toBe('600');
        expect(server.logs.records().some((r) => GENERATED.test(String(r.msg)))).toBe(true);
      } finally {
        await server.close();
      }
    });
  });
});

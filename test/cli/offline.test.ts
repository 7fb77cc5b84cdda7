import { existsSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acquireDataDirLock, readLockRecord } from '../../src/db/data-dir-lock.ts';
import { runCli, runCliJson } from '../support/cli.ts';
import { basicAuth, postForm } from '../support/fixtures.ts';
import { newMasterKey, startTestServer } from '../support/server.ts';
import { createTestDatabase, TEST_DB, type TestDatabase } from '../support/test-database.ts';

/**
 * The CLI with no server running. On PGlite it opens the data directory itself (holding its lock
 * while it runs) and must let go of it, so a server started afterwards opens the same directory
 * and sees what the CLI wrote. On PostgreSQL this is simply the CLI's normal, direct path.
 */
describe('gatehouse CLI with no server running', { timeout: 90_000 }, () => {
  let db: TestDatabase;
  let env: Record<string, string>;
  const lockFile = () => join(db.dataDir, 'gatehouse.lock');

  beforeAll(async () => {
    db = await createTestDatabase();
    env = { NODE_ENV: 'test', MASTER_KEY: newMasterKey(), ...db.env };
  });
  afterAll(() => db?.drop());

  it('creates an API, a client and keys itself; a server started afterwards serves them', async () => {
    const identifier = 'https://offline.example.test';
    const api = await runCli(['apis', 'create', '--identifier', identifier, '--name', 'Offline API', '--scopes', 'read,write'], env);
    expect(api.code, api.stderr).toBe(0);
    expect(api.stderr).toBe('');
    if (TEST_DB === 'pglite') {
      // It opened the directory itself (no socket: no server), and released it on exit.
      expect(existsSync(join(db.dataDir, 'gatehouse.sock'))).toBe(false);
      expect(readLockRecord(db.dataDir)).toBeNull();
    }

    const client = await runCliJson<{ client_id: string; client_secret: string }>(
      ['clients', 'create', '--name', 'offline-reporter', '--api', identifier, '--scopes', 'read', '--json'],
      env,
    );
    expect(client.client_secret).toMatch(/^ghcs_/);
    const keys = await runCliJson<Array<{ kid: string; alg: string; state: string }>>(['keys', 'list', '--json'], env);
    const activeKids = keys.filter((k) => k.state === 'active').map((k) => k.kid);
    expect(activeKids).toHaveLength(2);
    if (TEST_DB === 'pglite') expect(readLockRecord(db.dataDir)).toBeNull();

    // A server on the same database (same master key) takes the directory over and sees it all.
    const server = await startTestServer({ db, env: { MASTER_KEY: env.MASTER_KEY as string } });
    try {
      expect((await server.services.apis.list()).map((a) => a.identifier)).toContain(identifier);
      const jwks = (await (await fetch(`${server.url}/.well-known/jwks.json`)).json()) as { keys: Array<{ kid: string }> };
      expect(jwks.keys.map((k) => k.kid).sort()).toEqual([...activeKids].sort());
      const res = await postForm(
        `${server.url}/oauth/token`,
        { grant_type: 'client_credentials', audience: identifier },
        { authorization: basicAuth(client.client_id, client.client_secret) },
      );
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body.scope).toBe('read');
    } finally {
      await server.close();
    }
    if (TEST_DB === 'pglite') expect(readLockRecord(db.dataDir)).toBeNull();
  });

  it.skipIf(TEST_DB !== 'pglite')('refuses while another gatehouse command holds the data directory, naming it', async () => {
    // A live holder that is not a server (so has no control socket) is refused, by name...
    const holder = await acquireDataDirLock(db.dataDir, 'cli migrate');
    try {
      const busy = await runCli(['apis', 'list'], env);
      expect(busy.code).toBe(1);
      expect(busy.stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(busy.stderr).toMatch(/in use by another gatehouse command \(cli migrate\)/);
    } finally {
      await holder.release();
    }

    // ...and a record left by a crash, naming a server that is gone, is only a record: the lock is free.
    writeFileSync(lockFile(), JSON.stringify({ pid: 1, hostname: hostname(), role: 'server', since: new Date().toISOString() }));
    const stale = await runCli(['apis', 'list', '--json'], env);
    expect(stale.code, stale.stderr).toBe(0);
    expect(readLockRecord(db.dataDir)).toBeNull();
  });
});

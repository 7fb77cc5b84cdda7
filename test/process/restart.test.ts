import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../../scripts/pg-cluster.mjs';
import { readLockRecord } from '../../src/db/data-dir-lock.ts';
import {
  cliJson,
  cliMachineSetup,
  fetchJwks,
  introspect,
  isAlive,
  issueToken,
  kids,
  requestToken,
  revoke,
  seedMachineClient,
  stopAll,
  verifyAccessToken,
  waitFor,
} from '../support/process.ts';
import { newMasterKey, type SpawnedServer, spawnServer } from '../support/server.ts';
import { createTestDatabase, TEST_DB, type TestDatabase } from '../support/test-database.ts';

// Restarting a server on the same database (same port, so the same issuer) must lose nothing:
// clients, APIs, signing keys, revocations. The embedded database is the case that matters: its
// files are only consistent if the server closed them (or PGlite recovers after a crash).

interface KeyRow {
  kid: string;
  alg: string;
  state: string;
  created_at: string;
  retire_after: string | null;
}

describe('a restarted server keeps its data', { timeout: 120_000 }, () => {
  let db: TestDatabase | undefined;
  let servers: SpawnedServer[] = [];
  const start = async (env: Record<string, string>) => {
    const server = await spawnServer(env);
    servers.push(server);
    return server;
  };
  afterEach(async () => {
    await stopAll(...servers);
    servers = [];
    await db?.drop();
    db = undefined;
  });

  it('keeps clients, APIs, signing keys, issued tokens and revocations across a SIGTERM restart', async () => {
    db = await createTestDatabase();
    const port = await freePort();
    const env = { ...db.env, MASTER_KEY: newMasterKey(), PORT: String(port) };

    const first = await start(env);
    const client = await cliMachineSetup(env);
    const kept = await issueToken(first.url, client);
    const revoked = await issueToken(first.url, client);
    expect(await revoke(first.url, client, revoked)).toBe(200);
    expect((await introspect(first.url, client, revoked)).active).toBe(false);
    const rotated = await cliJson<KeyRow[]>(env, ['keys', 'rotate', '--now']);
    expect(rotated.filter((k) => k.state === 'retiring')).toHaveLength(2);
    // The token signed before the rotation must stay verifiable: its key is now "retiring".
    await waitFor(async () => kids(await fetchJwks(first.url)).length === 4, 'the rotated keys in the JWKS');
    const keysBefore = await cliJson<KeyRow[]>(env, ['keys', 'list']);
    const jwksBefore = kids(await fetchJwks(first.url));

    expect(await first.stop('SIGTERM')).toBe(0);
    if (TEST_DB === 'pglite') expect(readLockRecord(db.dataDir)).toBeNull();

    const second = await start(env);
    expect(second.url).toBe(first.url);
    const fresh = await requestToken(second.url, client);
    expect(fresh.status).toBe(200);
    expect(await verifyAccessToken(second.url, String(fresh.body.access_token), second.url, client.identifier)).toMatchObject({
      client_id: client.clientId,
    });
    expect(await introspect(second.url, client, kept)).toMatchObject({ active: true, client_id: client.clientId, aud: client.identifier });
    const payload = await verifyAccessToken(second.url, kept, second.url, client.identifier);
    expect(payload.client_id).toBe(client.clientId);
    expect(await introspect(second.url, client, revoked)).toEqual({ active: false });
    expect(kids(await fetchJwks(second.url))).toEqual(jwksBefore);
    expect(await cliJson<KeyRow[]>(env, ['keys', 'list'])).toEqual(keysBefore);
  });

  it.skipIf(TEST_DB !== 'pglite')('starts on the data directory of a server killed with SIGKILL, with the data intact', async () => {
    db = await createTestDatabase();
    const port = await freePort();
    const env = { ...db.env, MASTER_KEY: newMasterKey(), PORT: String(port) };

    const client = await seedMachineClient(env);
    const first = await start(env);
    const token = await issueToken(first.url, client);
    const revoked = await issueToken(first.url, client);
    expect(await revoke(first.url, client, revoked)).toBe(200);
    const jwksBefore = kids(await fetchJwks(first.url));

    const pid = first.child.pid as number;
    expect(await first.stop('SIGKILL')).toBeNull();
    await waitFor(() => !isAlive(pid), `pid ${pid} to be gone`);
    // The crash left its record behind, naming a process that no longer exists; the kernel released the lock.
    const lock = JSON.parse(readFileSync(join(db.dataDir, 'gatehouse.lock'), 'utf8')) as { pid: number };
    expect(lock.pid).toBe(pid);

    const second = await start(env);
    const lockNow = JSON.parse(readFileSync(join(db.dataDir, 'gatehouse.lock'), 'utf8')) as { pid: number };
    expect(lockNow.pid).toBe(second.child.pid);
    expect((await requestToken(second.url, client)).status).toBe(200);
    expect(await introspect(second.url, client, token)).toMatchObject({ active: true, client_id: client.clientId });
    expect(await introspect(second.url, client, revoked)).toEqual({ active: false });
    expect(kids(await fetchJwks(second.url))).toEqual(jwksBefore);
  });
});

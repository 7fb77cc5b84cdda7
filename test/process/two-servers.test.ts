import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../scripts/pg-cluster.mjs';
import { readMigrations } from '../../src/db/migrator.ts';
import { kidOf } from '../support/downstream.ts';
import {
  type CliClient,
  cliJson,
  cliMachineSetup,
  createEmptyPostgresDatabase,
  fetchJwks,
  introspect,
  issueToken,
  kids,
  pgQuery,
  requestToken,
  revoke,
  seedMachineClient,
  spawnInstance,
  stopAll,
  verifyAccessToken,
  waitFor,
} from '../support/process.ts';
import { newMasterKey, type SpawnedServer, spawnServer } from '../support/server.ts';
import { createTestDatabase, TEST_DB, type TestDatabase } from '../support/test-database.ts';

// Any number of instances can share one PostgreSQL database (README "Databases"): what one of them
// (or the CLI) changes, the others see at once; LISTEN/NOTIFY invalidates their caches. Both
// instances answer under one issuer, as they would behind a load balancer.

type Instance = SpawnedServer & { local: string };

describe.runIf(TEST_DB === 'postgres')('two servers on one PostgreSQL database', { timeout: 60_000 }, () => {
  let db: TestDatabase;
  let env: Record<string, string>;
  let issuer: string;
  let a: Instance;
  let b: Instance;

  beforeAll(async () => {
    db = await createTestDatabase();
    // keys rotate publishes a new key this long before it signs (default 600 s)
    env = { ...db.env, MASTER_KEY: newMasterKey(), KEY_ACTIVATION_DELAY_SECONDS: '3' };
    const [portA, portB] = [await freePort(), await freePort()];
    issuer = `http://127.0.0.1:${portA}`;
    a = await spawnInstance(env, portA, issuer);
    b = await spawnInstance(env, portB, issuer);
  });
  afterAll(async () => {
    await stopAll(a, b);
    await db?.drop();
  });

  const setup = () => seedMachineClient(env);

  it('publishes the same JWKS from both', async () => {
    const [jwksA, jwksB] = await Promise.all([fetchJwks(a.local), fetchJwks(b.local)]);
    expect(jwksA.keys.length).toBeGreaterThanOrEqual(2);
    expect(jwksB).toEqual(jwksA);
  });

  it('a client created through the CLI authenticates at once at both (RFC 6749 §4.4)', async () => {
    const client = await cliMachineSetup(env);
    const [atA, atB] = await Promise.all([requestToken(a.local, client), requestToken(b.local, client)]);
    expect(atA.status).toBe(200);
    expect(atB.status).toBe(200);
  });

  it('a token issued by one is active at the other and verifies against its JWKS (RFC 7662 §2.2)', async () => {
    const client = await setup();
    const token = await issueToken(a.local, client);
    expect(await introspect(b.local, client, token)).toMatchObject({ active: true, client_id: client.clientId, iss: issuer });
    expect((await verifyAccessToken(b.local, token, issuer, client.identifier)).client_id).toBe(client.clientId);
  });

  it('a token revoked at one is inactive at the other (RFC 7009 §2.1)', async () => {
    const client = await setup();
    const token = await issueToken(a.local, client);
    expect((await introspect(a.local, client, token)).active).toBe(true);
    expect(await revoke(b.local, client, token)).toBe(200);
    expect((await introspect(b.local, client, token)).active).toBe(false);
    await waitFor(async () => !(await introspect(a.local, client, token)).active, 'the revocation to reach A', { timeoutMs: 5_000 });
  });

  it('after a secret rotation the old secret is refused at both and the new one accepted', async () => {
    const client = await setup();
    // Both have the client cached now.
    for (const instance of [a, b]) {
      const res = await requestToken(instance.local, client);
      expect(res.status, `${instance.local}: ${JSON.stringify(res.body)}`).toBe(200);
    }
    const rotated = await cliJson<{ client_secret: string }>(env, ['clients', 'rotate-secret', '--client-id', client.clientId]);
    expect(rotated.client_secret).not.toBe(client.clientSecret);
    const fresh: CliClient = { ...client, clientSecret: rotated.client_secret };
    for (const instance of [a, b]) {
      await waitFor(
        async () => (await requestToken(instance.local, client)).status === 401,
        `the old secret refused at ${instance.local}`,
        {
          timeoutMs: 5_000,
        },
      );
      const res = await requestToken(instance.local, fresh);
      expect(res.status, `${instance.local}: ${JSON.stringify(res.body)}`).toBe(200);
    }
  });

  it('a key rotation through the CLI is published by both JWKS before it signs, then both sign with the new key', async () => {
    const client = await setup();
    const kidOfToken = async (url: string) => kidOf(await issueToken(url, client));
    const before = kids(await fetchJwks(a.local));
    const signingBefore = await kidOfToken(a.local);
    const rotated = await cliJson<Array<{ kid: string; state: string; signs_from: string }>>(env, ['keys', 'rotate']);
    const pending = rotated.filter((k) => k.state === 'pending');
    expect(pending).toHaveLength(2);
    for (const key of pending) expect(before).not.toContain(key.kid);
    const switchAt = Date.parse(pending[0]?.signs_from as string);
    for (const instance of [a, b]) {
      await waitFor(
        async () => {
          const now = kids(await fetchJwks(instance.local));
          return pending.every((k) => now.includes(k.kid)) && before.every((kid) => now.includes(kid));
        },
        `the new keys in ${instance.local}'s JWKS`,
        { timeoutMs: 5_000 },
      );
      // published, not yet signing
      if (Date.now() < switchAt) expect(await kidOfToken(instance.local)).toBe(signingBefore);
    }
    // Each server switches on its own at signs_from (a timer, no notification), and both agree.
    for (const instance of [a, b]) {
      await waitFor(async () => (await kidOfToken(instance.local)) !== signingBefore, `${instance.local} signing with the new key`, {
        timeoutMs: 10_000,
      });
      expect(pending.map((k) => k.kid)).toContain(await kidOfToken(instance.local));
    }
  });
});

describe.runIf(TEST_DB === 'postgres')('two servers starting together on an empty PostgreSQL database', { timeout: 90_000 }, () => {
  let empty: Awaited<ReturnType<typeof createEmptyPostgresDatabase>>;
  const servers: SpawnedServer[] = [];
  beforeAll(async () => {
    empty = await createEmptyPostgresDatabase();
  });
  afterAll(async () => {
    await stopAll(...servers);
    await empty?.drop();
  });

  it('both become ready, having applied each migration exactly once between them', async () => {
    const env = { DATABASE_URL: empty.url, MASTER_KEY: newMasterKey() };
    const started = await Promise.allSettled([spawnServer(env), spawnServer(env)]);
    for (const s of started) if (s.status === 'fulfilled') servers.push(s.value);
    expect(started.map((s) => (s.status === 'rejected' ? String(s.reason) : 'ready'))).toEqual(['ready', 'ready']);

    const rows = await pgQuery<{ migration_name: string; n: string }>(
      empty.url,
      'SELECT migration_name, count(*) AS n FROM "_prisma_migrations" WHERE finished_at IS NOT NULL GROUP BY migration_name ORDER BY migration_name',
    );
    expect(rows).toEqual(readMigrations().map((m) => ({ migration_name: m.name, n: '1' })));
    // One of them applied them and says so; they agree on one set of signing keys.
    const appliedBy = servers.filter((s) => s.output().includes('applied database migrations'));
    expect(appliedBy).toHaveLength(1);
    const [jwks0, jwks1] = await Promise.all(servers.map((s) => fetchJwks(s.url)));
    expect(jwks0?.keys).toHaveLength(2);
    expect(jwks1).toEqual(jwks0);
  });
});

import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { waitFor } from '../support/process.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { TEST_DB } from '../support/test-database.ts';

/** GET /healthz (liveness) and GET /readyz (readiness), as a load balancer or Kubernetes calls them. */
describe('health endpoints', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server?.close());

  it('GET /healthz answers 200 and must not be cached', async () => {
    const res = await fetch(`${server.url}/healthz`);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await res.json()).toStrictEqual({ status: 'ok' });
  });

  it('GET /readyz answers 200 listing each check it ran, and must not be cached', async () => {
    const res = await fetch(`${server.url}/readyz`);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(await res.json()).toStrictEqual({
      status: 'ready',
      checks: { database: 'ok', migrations: 'ok', signing_keys: 'ok' },
    });
  });

  it('HEAD /healthz and HEAD /readyz answer 200 without a body', async () => {
    for (const path of ['/healthz', '/readyz']) {
      const res = await fetch(`${server.url}${path}`, { method: 'HEAD' });
      expect(res.status, path).toBe(200);
      expect(await res.text()).toBe('');
    }
  });

  it('answers other methods with 405 and an Allow header (RFC 9110 §15.5.6)', async () => {
    for (const path of ['/healthz', '/readyz']) {
      const res = await fetch(`${server.url}${path}`, { method: 'POST' });
      expect(res.status, path).toBe(405);
      expect(res.headers.get('allow'), path).toMatch(/GET/);
      await res.arrayBuffer();
    }
  });

  it('stays ready while it serves concurrent traffic', async () => {
    const answers = await Promise.all(Array.from({ length: 20 }, () => fetch(`${server.url}/readyz`).then((r) => r.status)));
    expect(answers.every((s) => s === 200)).toBe(true);
  });
});

/** A load balancer must stop sending traffic while the database is gone, and resume when it is back. */
describe.runIf(TEST_DB === 'postgres')('GET /readyz while PostgreSQL refuses connections', () => {
  let server: TestServer;
  let admin: pg.Client;
  let name: string;
  const allowConnections = async (allow: boolean) => {
    await admin.query(`ALTER DATABASE ${pg.escapeIdentifier(name)} WITH ALLOW_CONNECTIONS ${allow}`);
    if (!allow)
      await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [name]);
  };
  beforeAll(async () => {
    server = await startTestServer();
    name = new URL(server.db.url as string).pathname.slice(1);
    admin = new pg.Client({ connectionString: inject('pgAdminUrl') });
    await admin.connect();
  });
  afterAll(async () => {
    await allowConnections(true).catch(() => {});
    await admin?.end();
    await server?.close();
  });

  it('answers 503 naming the failing check, /healthz stays 200, and readiness returns with the database', async () => {
    expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
    await allowConnections(false);

    const down = await fetch(`${server.url}/readyz`);
    expect(down.status).toBe(503);
    expect(down.headers.get('cache-control')).toBe('no-store');
    const body = (await down.json()) as { status: string; checks: Record<string, string> };
    expect(body.status).toBe('not_ready');
    expect(body.checks.database).toBe('failing');
    // the process itself is fine: a liveness probe must not restart it
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);

    await allowConnections(true);
    await waitFor(async () => (await fetch(`${server.url}/readyz`)).status === 200, 'readiness after the database returns', {
      timeoutMs: 10_000,
    });
  });
});

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Cluster, startCluster } from '../../scripts/pg-cluster.mjs';
import { basicAuth, makeApi, makeClient, makeMachineSetup, postForm } from '../support/fixtures.ts';
import { waitFor } from '../support/process.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { TEST_DB, type TestDatabase } from '../support/test-database.ts';

/**
 * Issue 8 item 11: while the database is away, what needs it answers 503 with Retry-After and, on
 * OAuth endpoints, `temporarily_unavailable` (RFC 6749 §4.1.2.1 defines the code; Gatehouse uses it
 * on token, introspection and revocation too), never a 500 `server_error`. What needs no database
 * once its caches are warm (JWT issuance on either path, JWT introspection) keeps working. One warn
 * line says so per outage, not an error line per request.
 *
 * The server runs in this process on its own PostgreSQL cluster, which the test stops (pg_ctl fast
 * shutdown, as a restart or an operator would) and starts again.
 */
type Setup = Awaited<ReturnType<typeof makeMachineSetup>>;

// PostgreSQL only: the embedded database (PGlite) lives inside the server process and cannot go
// away on its own. The classifier has unit tests (src/db/errors.test.ts) and the error boundary a
// test with real driver errors (src/http/middleware/error-boundary.test.ts).
describe.skipIf(TEST_DB !== 'postgres')('while PostgreSQL is down [PostgreSQL only]', { timeout: 120_000 }, () => {
  let cluster: Cluster | undefined;
  let server: TestServer | undefined;
  let dataDir: string | undefined;
  let jwt: Setup;
  let opaque: { clientId: string; clientSecret: string; identifier: string };
  let jwtToken: string;
  let opaqueToRevoke: string;
  let opaqueToIntrospect: string;
  let outageStartedAt: number;

  const token = (client: { clientId: string; clientSecret: string }, audience: string) =>
    postForm(
      `${server?.url}/oauth/token`,
      { grant_type: 'client_credentials', audience },
      { authorization: basicAuth(client.clientId, client.clientSecret) },
    );
  /**
   * The same request with a chunked body: the token fast path takes only bodies with a length, so
   * this one goes through oidc-provider's own token endpoint.
   */
  const tokenViaProvider = async (client: { clientId: string; clientSecret: string }, audience: string) => {
    const body = new URLSearchParams({ grant_type: 'client_credentials', audience }).toString();
    const res = await fetch(`${server?.url}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basicAuth(client.clientId, client.clientSecret) },
      body: new ReadableStream({
        start(controller) {
          controller.enqueue(new TextEncoder().encode(body));
          controller.close();
        },
      }),
      duplex: 'half',
    } as RequestInit);
    return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, unknown> };
  };
  const introspect = (client: { clientId: string; clientSecret: string }, value: string) =>
    postForm(`${server?.url}/oauth/introspect`, { token: value }, { authorization: basicAuth(client.clientId, client.clientSecret) });
  const revoke = (client: { clientId: string; clientSecret: string }, value: string) =>
    postForm(`${server?.url}/oauth/revoke`, { token: value }, { authorization: basicAuth(client.clientId, client.clientSecret) });

  beforeAll(async () => {
    cluster = await startCluster();
    dataDir = mkdtempSync(join(tmpdir(), 'gatehouse-outage-'));
    const db: TestDatabase = {
      kind: 'postgres',
      env: { DATABASE_URL: cluster.url, DATA_DIR: dataDir },
      dataDir,
      url: cluster.url,
      drop: async () => {},
    };
    server = await startTestServer({ db });
    jwt = await makeMachineSetup(server.services);
    const opaqueApi = await makeApi(server.services, { accessTokenFormat: 'opaque' });
    const opaqueClient = await makeClient(server.services, { apis: [{ identifier: opaqueApi.identifier }] });
    opaque = { ...opaqueClient, identifier: opaqueApi.identifier };

    // Warm the caches a JWT needs (client, API, keys) on both token paths and at introspection.
    const issued = await token(jwt, jwt.api.identifier);
    expect(issued.status).toBe(200);
    jwtToken = issued.body.access_token as string;
    expect((await tokenViaProvider(jwt, jwt.api.identifier)).status).toBe(200);
    expect((await introspect(jwt, jwtToken)).body).toMatchObject({ active: true });
    // Opaque tokens issued before the outage; neither has been read since it was written.
    const a = await token(opaque, opaque.identifier);
    const b = await token(opaque, opaque.identifier);
    expect([a.status, b.status]).toStrictEqual([200, 200]);
    opaqueToRevoke = a.body.access_token as string;
    opaqueToIntrospect = b.body.access_token as string;

    outageStartedAt = Date.now();
    await cluster.halt({ mode: 'fast' });
  });

  afterAll(async () => {
    // Bounded: the cluster is started again so the server can close cleanly, and each step gives up.
    await withTimeout(cluster?.resume(), 30_000);
    await withTimeout(server?.close(), 15_000);
    try {
      cluster?.stop();
    } catch {}
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  const expectUnavailable = (res: { status: number; headers: Headers; body: unknown }, what: string) => {
    expect(res.status, what).toBe(503);
    expect(res.body, what).toStrictEqual({ error: 'temporarily_unavailable', error_description: expect.any(String) });
    expect(Number(res.headers.get('retry-after')), what).toBeGreaterThan(0);
    expect(res.headers.get('cache-control'), what).toBe('no-store');
    expect(res.headers.get('content-type'), what).toMatch(/^application\/json/);
  };

  it('opaque-token issuance answers 503 temporarily_unavailable with Retry-After', async () => {
    expectUnavailable(await token(opaque, opaque.identifier), 'fast path, then oidc-provider');
    expectUnavailable(await tokenViaProvider(opaque, opaque.identifier), 'oidc-provider');
  });

  it('revocation of an opaque token answers 503 temporarily_unavailable', async () => {
    expectUnavailable(await revoke(opaque, opaqueToRevoke), 'revoke');
  });

  it('introspection of an opaque token answers 503 temporarily_unavailable', async () => {
    expectUnavailable(await introspect(opaque, opaqueToIntrospect), 'introspect');
  });

  it('JWT issuance (fast path and oidc-provider) and JWT introspection keep working', async () => {
    const fast = await token(jwt, jwt.api.identifier);
    expect(fast.status).toBe(200);
    const viaProvider = await tokenViaProvider(jwt, jwt.api.identifier);
    expect(viaProvider.status).toBe(200);
    for (const value of [jwtToken, fast.body.access_token as string, viaProvider.body.access_token as string]) {
      const res = await introspect(jwt, value);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ active: true, client_id: jwt.clientId, aud: jwt.api.identifier });
    }
  });

  it('logs the outage once at warn, and no request at error level', async () => {
    const live = server as TestServer;
    // a burst of failing requests
    await Promise.all(Array.from({ length: 5 }, () => introspect(opaque, opaqueToIntrospect)));
    await Promise.all(Array.from({ length: 5 }, () => token(opaque, opaque.identifier)));
    const during = live.logs.records().filter((r) => new Date(String(r.time)).getTime() >= outageStartedAt);
    expect(during.filter((r) => r.level === 'error')).toStrictEqual([]);
    const outage = during.filter((r) => r.msg === 'database unavailable: answering 503');
    // the rest of the burst goes to debug (the test server logs at debug)
    expect(outage.filter((r) => r.level === 'warn')).toHaveLength(1);
    expect(outage.length).toBeGreaterThan(10);
    expect(outage[0]).toMatchObject({ level: 'warn', database: { reason: 'ECONNREFUSED' } });
    expect(live.logs.text).not.toContain(opaqueToIntrospect);
    expect(live.logs.text).not.toContain(opaque.clientSecret);
  });

  it('serves opaque tokens again once PostgreSQL is back', async () => {
    const live = server as TestServer;
    await (cluster as Cluster).resume();
    await waitFor(async () => (await fetch(`${live.url}/readyz`)).status === 200, '/readyz 200 after the restart', {
      timeoutMs: 20_000,
      intervalMs: 100,
    });
    const issued = await token(opaque, opaque.identifier);
    expect(issued.status).toBe(200);
    expect((await introspect(opaque, issued.body.access_token as string)).body).toMatchObject({ active: true });
    expect((await introspect(opaque, opaqueToIntrospect)).body).toMatchObject({ active: true });
    expect((await revoke(opaque, opaqueToRevoke)).status).toBe(200);
    expect((await introspect(opaque, opaqueToRevoke)).body).toStrictEqual({ active: false });
  });
});

async function withTimeout(pending: Promise<unknown> | undefined, ms: number): Promise<void> {
  if (!pending) return;
  await Promise.race([pending.catch(() => {}), new Promise((r) => setTimeout(r, ms).unref())]);
}

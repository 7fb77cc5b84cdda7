import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.ts';

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

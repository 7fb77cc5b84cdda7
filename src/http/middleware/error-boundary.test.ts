import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../../scripts/pg-cluster.mjs';
import { errorBoundary } from './error-boundary.ts';

/**
 * The error boundary's answer when the database is away (issue 8 item 11), over real HTTP, with the
 * error a real pg connection to a closed port gives. The OAuth endpoints' answers are also tested
 * against a stopped PostgreSQL (test/http/database-outage.test.ts); no other surface needs the
 * database yet, so the problem+json answer is proven here.
 */
describe('errorBoundary when the database is away', () => {
  let server: Server;
  let url: string;
  let refused: unknown;
  const reported: unknown[] = [];

  beforeAll(async () => {
    try {
      await new pg.Client({ connectionString: `postgresql://nobody@127.0.0.1:${await freePort()}/none` }).connect();
    } catch (err) {
      refused = err;
    }
    expect((refused as { code?: string }).code).toBe('ECONNREFUSED');
    const app = new Koa();
    app.silent = true;
    app.use(errorBoundary('http://issuer.test', { onUnavailable: (err) => reported.push(err) }));
    app.use((ctx) => {
      if (ctx.path.endsWith('/bug')) throw new TypeError('a bug');
      throw new Error('lookup failed', { cause: refused });
    });
    server = createServer(app.callback());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server?.close(() => resolve())));

  it.each(['/oauth/token', '/oauth/introspect', '/oauth/revoke'])('answers 503 temporarily_unavailable on %s', async (path) => {
    const res = await fetch(`${url}${path}`, { method: 'POST' });
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('5');
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await res.json()).toStrictEqual({ error: 'temporarily_unavailable', error_description: expect.any(String) });
  });

  it('answers a 503 problem with Retry-After on other surfaces', async () => {
    const res = await fetch(`${url}/api/v1/applications`);
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('5');
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ status: 503, code: 'service.unavailable', title: 'Service Unavailable' });
    expect(JSON.stringify(body)).not.toMatch(/ECONNREFUSED|127\.0\.0\.1|stack/);
  });

  it('reports each such request for the once-per-burst log line', async () => {
    const before = reported.length;
    await (await fetch(`${url}/oauth/token`, { method: 'POST' })).arrayBuffer();
    expect(reported.length).toBe(before + 1);
  });

  it('still answers any other error 500 internal', async () => {
    const before = reported.length;
    const res = await fetch(`${url}/oauth/bug`, { method: 'POST' });
    expect(res.status).toBe(500);
    expect(res.headers.get('retry-after')).toBeNull();
    expect(await res.json()).toMatchObject({ code: 'internal' });
    expect(reported.length).toBe(before);
  });
});

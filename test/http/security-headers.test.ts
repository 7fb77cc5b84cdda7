import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basicAuth, makeApi, makeClient, makeMachineSetup } from '../support/fixtures.ts';
import { type RawReply, type RawRequest, sendRaw } from '../support/raw-http.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

/**
 * Every answer carries the headers that keep a browser from sniffing, framing or leaking it
 * (issue 8 item 14): X-Content-Type-Options, X-Frame-Options and CSP frame-ancestors, a CSP that
 * loads nothing, Referrer-Policy. Whatever produced the answer: Gatehouse's routes, the token fast
 * path, oidc-provider, the error boundary, Koa's method handling.
 */
describe('security headers', () => {
  let server: TestServer;
  let requests: Record<string, { req: RawRequest; status: number }>;

  beforeAll(async () => {
    server = await startTestServer();
    const setup = await makeMachineSetup(server.services);
    const opaqueApi = await makeApi(server.services, { accessTokenFormat: 'opaque' });
    const opaqueClient = await makeClient(server.services, { apis: [{ identifier: opaqueApi.identifier }] });
    const auth = basicAuth(setup.clientId, setup.clientSecret);
    const form = { 'content-type': 'application/x-www-form-urlencoded' };
    const tokenRes = await sendRaw(server.url, {
      method: 'POST',
      path: '/oauth/token',
      headers: { ...form, authorization: auth },
      body: 'grant_type=client_credentials',
    });
    const accessToken = (JSON.parse(tokenRes.body) as { access_token: string }).access_token;
    const discovery = await sendRaw(server.url, { method: 'GET', path: '/.well-known/openid-configuration' });
    requests = {
      liveness: { req: { method: 'GET', path: '/healthz' }, status: 200 },
      readiness: { req: { method: 'GET', path: '/readyz' }, status: 200 },
      discovery: { req: { method: 'GET', path: '/.well-known/openid-configuration' }, status: 200 },
      'discovery, not modified': {
        req: { method: 'GET', path: '/.well-known/openid-configuration', headers: { 'if-none-match': discovery.headers.etag as string } },
        status: 304,
      },
      JWKS: { req: { method: 'GET', path: '/.well-known/jwks.json' }, status: 200 },
      'token, fast path': {
        req: { method: 'POST', path: '/oauth/token', headers: { ...form, authorization: auth }, body: 'grant_type=client_credentials' },
        status: 200,
      },
      'token, oidc-provider (opaque token)': {
        req: {
          method: 'POST',
          path: '/oauth/token',
          headers: { ...form, authorization: basicAuth(opaqueClient.clientId, opaqueClient.clientSecret) },
          body: 'grant_type=client_credentials',
        },
        status: 200,
      },
      'token, wrong secret': {
        req: {
          method: 'POST',
          path: '/oauth/token',
          headers: { ...form, authorization: basicAuth(setup.clientId, 'ghcs_wrong') },
          body: 'grant_type=client_credentials',
        },
        status: 401,
      },
      'token, bad request': {
        req: { method: 'POST', path: '/oauth/token', headers: { ...form, authorization: auth }, body: 'grant_type=password' },
        status: 400,
      },
      'token, wrong method': { req: { method: 'GET', path: '/oauth/token', headers: { accept: 'text/html' } }, status: 405 },
      'token, preflight': {
        req: {
          method: 'OPTIONS',
          path: '/oauth/token',
          headers: { origin: 'https://app.example.test', 'access-control-request-method': 'POST' },
        },
        status: 204,
      },
      introspection: {
        req: {
          method: 'POST',
          path: '/oauth/introspect',
          headers: { ...form, authorization: auth },
          body: new URLSearchParams({ token: accessToken }).toString(),
        },
        status: 200,
      },
      'introspection, no client authentication': {
        req: { method: 'POST', path: '/oauth/introspect', headers: form, body: 'token=x' },
        status: 401,
      },
      'introspection, body too large': {
        req: { method: 'POST', path: '/oauth/introspect', headers: { ...form, authorization: auth }, body: `token=${'x'.repeat(70_000)}` },
        status: 413,
      },
      revocation: {
        req: {
          method: 'POST',
          path: '/oauth/revoke',
          headers: { ...form, authorization: auth },
          body: new URLSearchParams({ token: accessToken }).toString(),
        },
        status: 200,
      },
      'revocation, preflight': {
        req: {
          method: 'OPTIONS',
          path: '/oauth/revoke',
          headers: { origin: 'https://app.example.test', 'access-control-request-method': 'POST' },
        },
        status: 204,
      },
      'unknown route, asking for HTML': { req: { method: 'GET', path: '/no/such/page', headers: { accept: 'text/html' } }, status: 404 },
      'route not served': { req: { method: 'POST', path: '/oauth/par', headers: { accept: 'text/html' } }, status: 404 },
      'error page of a protocol route': {
        req: { method: 'GET', path: '/oauth/authorize?client_id=x', headers: { accept: 'text/html' } },
        status: 400,
      },
      'method the JWKS does not allow': { req: { method: 'DELETE', path: '/.well-known/jwks.json' }, status: 405 },
      'method HTTP does not define': { req: { method: 'PROPFIND', path: '/healthz' }, status: 501 },
      // refused by Node's HTTP parser, before Koa (http/client-error.ts)
      'headers too large': { req: { method: 'GET', path: '/oauth/token', headers: { 'x-padding': 'x'.repeat(20_000) } }, status: 431 },
      'malformed request target': { req: { method: 'GET', path: '/oauth/tok\u00ffen' }, status: 400 },
    };
  });
  afterAll(() => server?.close());

  function expectSecurityHeaders(name: string, res: RawReply) {
    expect(res.headers['x-content-type-options'], name).toBe('nosniff');
    expect(res.headers['x-frame-options'], name).toBe('DENY');
    expect(res.headers['referrer-policy'], name).toBe('no-referrer');
    const csp = String(res.headers['content-security-policy'] ?? '');
    expect(csp, name).toMatch(/(^|;)\s*default-src 'none'\s*(;|$)/);
    expect(csp, name).toMatch(/(^|;)\s*frame-ancestors 'none'\s*(;|$)/);
  }

  it('are on every kind of answer', async () => {
    for (const [name, { req, status }] of Object.entries(requests)) {
      const res = await sendRaw(server.url, req);
      expect(res.status, `${name}: ${res.body.slice(0, 200)}`).toBe(status);
      expectSecurityHeaders(name, res);
    }
  });

  it("come with Cache-Control: no-store on the answers of Node's HTTP parser too", async () => {
    const res = await sendRaw(server.url, requests['headers too large']?.req as RawRequest);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers.connection).toBe('close');
  });

  it('leave discovery and the JWKS public: Access-Control-Allow-Origin *, cacheable, loadable from any site', async () => {
    for (const path of ['/.well-known/openid-configuration', '/.well-known/jwks.json']) {
      const res = await sendRaw(server.url, { method: 'GET', path, headers: { origin: 'https://elsewhere.example' } });
      expect(res.status).toBe(200);
      expectSecurityHeaders(path, res);
      expect(res.headers['access-control-allow-origin'], path).toBe('*');
      expect(res.headers['cache-control'], path).toMatch(/^public, max-age=[1-9]\d*$/);
      expect(res.headers['cross-origin-resource-policy'], path).toBe('cross-origin');
    }
  });

  it('send no Strict-Transport-Security over plain http (RFC 6797 §7.2)', async () => {
    const res = await sendRaw(server.url, { method: 'GET', path: '/healthz' });
    expect(res.headers['strict-transport-security']).toBeUndefined();
  });
});

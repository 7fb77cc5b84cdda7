import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basicAuth, makeLegacyCodeClient, makeMachineSetup } from '../support/fixtures.ts';
import { type RawRequest, sendRaw } from '../support/raw-http.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

/**
 * The server serves what oidc/surface.ts lists — the machine surface (token, introspection,
 * revocation, JWKS, discovery) and the people surface (authorization, UserInfo, logout, device
 * authorization and verification) — and nothing else: the routes oidc-provider would otherwise
 * answer (PAR) are neither reachable nor advertised, and no other spelling of a served route
 * reaches the library around the checks in front of it. Anonymous requests write nothing
 * (issue 8, item 5): before, each `GET /oauth/logout` stored a Session.
 */
describe('protocol surface: only what is served is reachable and advertised', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server?.close());

  const countArtifacts = async () => (await server.sql<{ n: number }>('SELECT count(*)::int AS n FROM oidc_artifacts'))[0]?.n;

  /** Requests an anonymous visitor (or a client holding only its own secret) can send to routes not served. */
  async function unservedRequests(clientId: string, clientSecret: string): Promise<RawRequest[]> {
    const authorize = new URLSearchParams({
      client_id: clientId,
      response_type: 'code',
      redirect_uri: 'https://app.example.test/cb',
      scope: 'openid',
      code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
      code_challenge_method: 'S256',
      state: 'xyz',
    });
    const form = { 'content-type': 'application/x-www-form-urlencoded', authorization: basicAuth(clientId, clientSecret) };
    return [
      { method: 'POST', path: '/oauth/par', headers: form, body: authorize.toString() },
      // Served routes spelled otherwise: oidc-provider's router would match them, past the
      // client-authentication throttle and the token fast path, which match the exact path.
      { method: 'POST', path: '/OAUTH/TOKEN', headers: form, body: 'grant_type=client_credentials' },
      { method: 'POST', path: '/oauth/token/', headers: form, body: 'grant_type=client_credentials' },
      { method: 'POST', path: '/oauth//token', headers: form, body: 'grant_type=client_credentials' },
      { method: 'POST', path: '/Oauth/Introspect', headers: form, body: 'token=abc' },
      { method: 'GET', path: `/OAUTH/Authorize/?${authorize}` },
      { method: 'GET', path: '/oauth/logout/' },
      { method: 'GET', path: '/Device' },
    ];
  }

  /** Anonymous requests to served browser routes that must not write: nobody signed in, nothing valid to start. */
  function anonymousRequests(clientId: string): RawRequest[] {
    const authorize = (overrides: Record<string, string>) =>
      `/oauth/authorize?${new URLSearchParams({
        client_id: clientId,
        response_type: 'code',
        redirect_uri: 'https://app.example.test/cb',
        scope: 'openid',
        code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
        code_challenge_method: 'S256',
        ...overrides,
      })}`;
    const html = { accept: 'text/html' };
    return [
      { method: 'GET', path: '/oauth/logout', headers: html },
      { method: 'GET', path: `/oauth/logout?client_id=${clientId}`, headers: html },
      { method: 'POST', path: '/oauth/logout', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: '' },
      { method: 'POST', path: '/oauth/logout/confirm', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'xsrf=x' },
      { method: 'GET', path: '/oauth/logout/success', headers: html },
      { method: 'GET', path: authorize({ client_id: 'nobody' }), headers: html },
      { method: 'GET', path: authorize({ redirect_uri: 'https://evil.example/cb' }), headers: html },
      { method: 'GET', path: authorize({ code_challenge_method: 'plain' }), headers: html },
      { method: 'GET', path: '/oauth/authorize/some-uid', headers: html },
      { method: 'GET', path: '/oauth/userinfo', headers: { authorization: 'Bearer abc' } },
      { method: 'POST', path: '/oauth/userinfo', headers: { authorization: 'Bearer abc' } },
      { method: 'GET', path: '/interaction/some-uid', headers: html },
      { method: 'GET', path: '/device', headers: html },
      { method: 'POST', path: '/device', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'user_code=ABCD-EFGH' },
      { method: 'GET', path: '/device?user_code=BCDF-GHJK', headers: html },
    ];
  }

  it('answers every route not served, and every other spelling of a served one, with the 404 problem of an unknown route', async () => {
    const client = await makeLegacyCodeClient(server);
    const before = await countArtifacts();

    for (const req of await unservedRequests(client.clientId, client.clientSecret)) {
      const res = await sendRaw(server.url, req);
      const label = `${req.method} ${req.path.split('?')[0]}`;
      expect(res.status, `${label}: ${res.body}`).toBe(404);
      expect(res.headers['content-type'], label).toMatch(/^application\/problem\+json/);
      expect(JSON.parse(res.body), label).toMatchObject({ status: 404, code: 'route.not_found' });
      expect(res.headers['set-cookie'], label).toBeUndefined();
      expect(res.headers['cache-control'], label).toBe('no-store');
    }

    expect(await countArtifacts()).toBe(before);
  });

  it('writes no row under a flood of anonymous logout, authorization, userinfo, device-page and PAR requests', async () => {
    const client = await makeLegacyCodeClient(server);
    const before = await countArtifacts();
    const requests = [...(await unservedRequests(client.clientId, client.clientSecret)), ...anonymousRequests(client.clientId)];

    const answers = await Promise.all(
      Array.from({ length: 300 }, (_, i) => sendRaw(server.url, requests[i % requests.length] as RawRequest)),
    );

    expect(await countArtifacts()).toBe(before);
    expect(answers.every((a) => a.status < 500)).toBe(true);
  });

  it('still serves the token, introspection and revocation endpoints, discovery and the JWKS', async () => {
    const setup = await makeMachineSetup(server.services);
    const token = await fetch(`${server.url}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basicAuth(setup.clientId, setup.clientSecret) },
      body: 'grant_type=client_credentials',
    });
    expect(token.status).toBe(200);
    const { access_token } = (await token.json()) as { access_token: string };
    for (const path of ['/oauth/introspect', '/oauth/revoke']) {
      const res = await fetch(`${server.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basicAuth(setup.clientId, setup.clientSecret) },
        body: new URLSearchParams({ token: access_token }),
      });
      expect(res.status, path).toBe(200);
      await res.arrayBuffer();
    }
    for (const path of ['/.well-known/openid-configuration', '/.well-known/oauth-authorization-server', '/.well-known/jwks.json']) {
      const res = await fetch(`${server.url}${path}`);
      expect(res.status, path).toBe(200);
      await res.arrayBuffer();
    }
  });

  describe('discovery lists only what is served (RFC 8414 §2, OpenID Connect Discovery 1.0 §3)', () => {
    const UNSERVED_ENDPOINTS = ['pushed_authorization_request_endpoint', 'registration_endpoint', 'backchannel_authentication_endpoint'];

    for (const path of ['/.well-known/openid-configuration', '/.well-known/oauth-authorization-server']) {
      it(`names no endpoint that is not served, and exactly the grants served [${path}]`, async () => {
        const doc = (await (await fetch(`${server.url}${path}`)).json()) as Record<string, unknown>;
        for (const member of UNSERVED_ENDPOINTS) expect(doc, member).not.toHaveProperty(member);
        expect([...(doc.grant_types_supported as string[])].sort()).toEqual([
          'authorization_code',
          'client_credentials',
          'refresh_token',
          'urn:ietf:params:oauth:grant-type:device_code',
        ]);
        // the code flow only (RFC 9700 §2.1.2), with PKCE S256 (§2.1.1)
        expect(doc.response_types_supported).toEqual(['code']);
        expect(doc.code_challenge_methods_supported).toEqual(['S256']);
        expect(doc.authorization_endpoint).toBe(`${server.url}/oauth/authorize`);
        expect(doc.userinfo_endpoint).toBe(`${server.url}/oauth/userinfo`);
        expect(doc.end_session_endpoint).toBe(`${server.url}/oauth/logout`);
        expect(doc.device_authorization_endpoint).toBe(`${server.url}/oauth/device/code`);
        expect(doc.token_endpoint).toBe(`${server.url}/oauth/token`);
        expect(doc.introspection_endpoint).toBe(`${server.url}/oauth/introspect`);
        expect(doc.revocation_endpoint).toBe(`${server.url}/oauth/revoke`);
        expect(doc.jwks_uri).toBe(`${server.url}/.well-known/jwks.json`);
      });
    }
  });
});

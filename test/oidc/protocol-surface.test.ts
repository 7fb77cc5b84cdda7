import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basicAuth, makeLegacyCodeClient, makeMachineSetup } from '../support/fixtures.ts';
import { type RawRequest, sendRaw } from '../support/raw-http.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

/**
 * Until the sign-in work lands, the server serves the machine-to-machine surface only (token,
 * introspection, revocation, JWKS, discovery). The browser-facing routes oidc-provider would
 * otherwise answer (authorization, logout, userinfo, PAR; the device flow is served since issue 11)
 * are neither reachable nor advertised, and anonymous requests to them write nothing: before, each
 * `GET /oauth/logout` stored a 14-day Session and each authorization request of a known client an
 * Interaction (issue 8, item 5).
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
      { method: 'GET', path: '/oauth/logout' },
      { method: 'GET', path: '/oauth/logout?client_id=nobody' },
      { method: 'POST', path: '/oauth/logout', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: '' },
      { method: 'POST', path: '/oauth/logout/confirm', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'xsrf=x' },
      { method: 'GET', path: '/oauth/logout/success' },
      { method: 'GET', path: `/oauth/authorize?${authorize}` },
      { method: 'GET', path: `/OAUTH/Authorize/?${authorize}` },
      { method: 'GET', path: '/oauth/authorize/some-uid' },
      { method: 'POST', path: '/oauth/authorize', headers: form, body: authorize.toString() },
      { method: 'POST', path: '/oauth/par', headers: form, body: authorize.toString() },
      { method: 'GET', path: '/oauth/userinfo', headers: { authorization: 'Bearer abc' } },
      { method: 'POST', path: '/oauth/userinfo', headers: { authorization: 'Bearer abc' } },
      { method: 'GET', path: '/interaction/some-uid' },
    ];
  }

  it('answers every route not served with the 404 problem of an unknown route, and writes no row', async () => {
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

  it('writes no row under a flood of logout, authorization, PAR and device requests', async () => {
    const client = await makeLegacyCodeClient(server);
    const before = await countArtifacts();
    const requests = await unservedRequests(client.clientId, client.clientSecret);

    const answers = await Promise.all(
      Array.from({ length: 200 }, (_, i) => sendRaw(server.url, requests[i % requests.length] as RawRequest)),
    );

    expect(await countArtifacts()).toBe(before);
    expect(answers.every((a) => a.status === 404)).toBe(true);
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

  it('refuses other grant types at the token endpoint for a client still registered for them', async () => {
    const client = await makeLegacyCodeClient(server);
    for (const body of [
      'grant_type=authorization_code&code=abc&redirect_uri=https%3A%2F%2Fapp.example.test%2Fcb&code_verifier=x',
      'grant_type=refresh_token&refresh_token=abc',
    ]) {
      const res = await fetch(`${server.url}/oauth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basicAuth(client.clientId, client.clientSecret) },
        body,
      });
      expect(res.status, body).toBe(400);
      expect(((await res.json()) as { error: string }).error, body).toBe('unsupported_grant_type');
    }
  });

  describe('discovery lists only what is served (RFC 8414 §2, OpenID Connect Discovery 1.0 §3)', () => {
    const UNSERVED_ENDPOINTS = [
      'authorization_endpoint',
      'userinfo_endpoint',
      'end_session_endpoint',
      'pushed_authorization_request_endpoint',
      'registration_endpoint',
      'backchannel_authentication_endpoint',
    ];
    const AUTHORIZATION_ONLY = [
      'response_modes_supported',
      'code_challenge_methods_supported',
      'authorization_response_iss_parameter_supported',
      'request_parameter_supported',
      'request_uri_parameter_supported',
      'claims_parameter_supported',
      'require_pushed_authorization_requests',
    ];

    for (const path of ['/.well-known/openid-configuration', '/.well-known/oauth-authorization-server']) {
      it(`names no endpoint that is not served, and only the client credentials grant [${path}]`, async () => {
        const doc = (await (await fetch(`${server.url}${path}`)).json()) as Record<string, unknown>;
        for (const member of [...UNSERVED_ENDPOINTS, ...AUTHORIZATION_ONLY]) expect(doc, member).not.toHaveProperty(member);
        expect(doc.grant_types_supported).toEqual(['client_credentials']);
        // RFC 8414 §2 requires the member; no response type is served without an authorization endpoint
        expect(doc.response_types_supported).toEqual([]);
        expect(doc.token_endpoint).toBe(`${server.url}/oauth/token`);
        expect(doc.introspection_endpoint).toBe(`${server.url}/oauth/introspect`);
        expect(doc.revocation_endpoint).toBe(`${server.url}/oauth/revoke`);
        expect(doc.jwks_uri).toBe(`${server.url}/.well-known/jwks.json`);
      });
    }
  });
});

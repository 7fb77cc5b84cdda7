import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basicAuth, makeLegacyCodeClient, makeMachineSetup } from '../support/fixtures.ts';
import { type RawReply, sendRaw } from '../support/raw-http.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

/**
 * CORS (https://fetch.spec.whatwg.org/#http-cors-protocol), issue 8 item 14:
 * - introspection and revocation are for servers: no CORS at all, preflight included (it echoed
 *   any Origin and allowed `authorization`);
 * - the token endpoint answers a page only from an origin its application lists
 *   (`allowed_origins`, empty by default);
 * - discovery and the JWKS are public documents: `Access-Control-Allow-Origin: *`.
 */
describe('CORS', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server?.close());

  const corsHeaders = (res: RawReply) => Object.keys(res.headers).filter((h) => h.startsWith('access-control-'));
  const preflight = (path: string, origin: string) =>
    sendRaw(server.url, {
      method: 'OPTIONS',
      path,
      headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' },
    });
  const postForm = (path: string, body: string, headers: Record<string, string>) =>
    sendRaw(server.url, { method: 'POST', path, headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body });

  describe('introspection and revocation: none', () => {
    for (const path of ['/oauth/introspect', '/oauth/revoke']) {
      it(`answers a preflight without any Access-Control-* header [${path}]`, async () => {
        for (const origin of ['https://evil.example', 'null', server.url]) {
          const res = await preflight(path, origin);
          expect(res.status, origin).toBe(204);
          expect(corsHeaders(res), origin).toEqual([]);
          expect(res.headers.allow, origin).toBe('POST, OPTIONS');
        }
      });

      it(`answers a cross-origin POST without Access-Control-Allow-Origin [${path}]`, async () => {
        const setup = await makeMachineSetup(server.services);
        const token = await postForm('/oauth/token', 'grant_type=client_credentials', {
          authorization: basicAuth(setup.clientId, setup.clientSecret),
        });
        const accessToken = (JSON.parse(token.body) as { access_token: string }).access_token;
        const res = await postForm(path, new URLSearchParams({ token: accessToken }).toString(), {
          authorization: basicAuth(setup.clientId, setup.clientSecret),
          origin: 'https://evil.example',
        });
        expect(res.status).toBe(200);
        expect(corsHeaders(res)).toEqual([]);
      });
    }
  });

  describe('token endpoint: per application, off by default', () => {
    it('refuses a cross-origin request of an application that lists no origin, before issuing anything', async () => {
      const setup = await makeMachineSetup(server.services);
      const res = await postForm('/oauth/token', 'grant_type=client_credentials', {
        authorization: basicAuth(setup.clientId, setup.clientSecret),
        origin: 'https://app.example.test',
      });
      expect(res.status).toBe(400);
      expect(JSON.parse(res.body)).toMatchObject({ error: 'invalid_request' });
      expect(res.headers['access-control-allow-origin']).toBeUndefined();
      expect(res.headers['cache-control']).toBe('no-store');
    });

    it('answers an origin the application lists, with that origin in Access-Control-Allow-Origin', async () => {
      const setup = await makeMachineSetup(server.services);
      const { clientId, clientSecret } = await registerWithOrigins(setup.api.identifier, [
        'https://app.example.test',
        'http://localhost:5173',
      ]);
      for (const origin of ['https://app.example.test', 'http://localhost:5173']) {
        const res = await postForm('/oauth/token', 'grant_type=client_credentials', {
          authorization: basicAuth(clientId, clientSecret),
          origin,
        });
        expect(res.status, `${origin}: ${res.body}`).toBe(200);
        expect(JSON.parse(res.body)).toHaveProperty('access_token');
        expect(res.headers['access-control-allow-origin']).toBe(origin);
        expect(res.headers.vary).toMatch(/\bOrigin\b/i);
      }
    });

    it('refuses an origin the application does not list [another site, another port, opaque origin]', async () => {
      const setup = await makeMachineSetup(server.services);
      const { clientId, clientSecret } = await registerWithOrigins(setup.api.identifier, ['https://app.example.test']);
      for (const origin of ['https://evil.example', 'https://app.example.test:8443', 'http://app.example.test', 'null']) {
        const res = await postForm('/oauth/token', 'grant_type=client_credentials', {
          authorization: basicAuth(clientId, clientSecret),
          origin,
        });
        expect(res.status, origin).toBe(400);
        expect(JSON.parse(res.body), origin).not.toHaveProperty('access_token');
        expect(res.headers['access-control-allow-origin'], origin).toBeUndefined();
      }
    });

    it("gives the answers Gatehouse makes in oidc-provider's stead the token endpoint's CORS headers", async () => {
      // invalid_client for no client authentication and unauthorized_client are answered before
      // the library (src/oidc/token-endpoint-checks.ts); a wrong secret is the library's own 401.
      const legacy = await makeLegacyCodeClient(server);
      await server.services.applications.update({ clientId: legacy.clientId, allowedOrigins: ['https://app.example.test'] }, 'test');
      const cors = (res: RawReply) => ({
        status: res.status,
        allowOrigin: res.headers['access-control-allow-origin'],
        expose: res.headers['access-control-expose-headers'],
        vary: res.headers.vary,
      });
      for (const origin of [undefined, 'https://app.example.test']) {
        const headers: Record<string, string> = origin ? { origin } : {};
        const library = await postForm('/oauth/token', 'grant_type=client_credentials', {
          ...headers,
          authorization: basicAuth(legacy.clientId, 'ghcs_wrong'),
        });
        const expected = { allowOrigin: origin ?? '*', expose: 'WWW-Authenticate', vary: 'Origin' };
        expect(cors(library), origin).toEqual({ status: 401, ...expected });
        expect(cors(await postForm('/oauth/token', 'grant_type=client_credentials', headers)), origin).toEqual({
          status: 401,
          ...expected,
        });
        const unauthorized = await postForm('/oauth/token', 'grant_type=client_credentials', {
          ...headers,
          authorization: basicAuth(legacy.clientId, legacy.clientSecret),
        });
        expect(JSON.parse(unauthorized.body).error, origin).toBe('unauthorized_client');
        expect(cors(unauthorized), origin).toEqual({ status: 400, ...expected });
      }
    });

    async function registerWithOrigins(api: string, allowedOrigins: string[]) {
      const { application, clientSecret } = await server.services.applications.register(
        { name: `spa-${Date.now()}-${Math.random()}`, apis: [{ identifier: api }], allowedOrigins },
        'test',
      );
      expect(application.allowedOrigins).toEqual(allowedOrigins);
      return { clientId: application.clientId, clientSecret: clientSecret as string };
    }
  });

  describe('discovery and JWKS: public documents', () => {
    for (const path of ['/.well-known/openid-configuration', '/.well-known/oauth-authorization-server', '/.well-known/jwks.json']) {
      it(`answers any origin with Access-Control-Allow-Origin: * [${path}]`, async () => {
        const res = await sendRaw(server.url, { method: 'GET', path, headers: { origin: 'https://anywhere.example' } });
        expect(res.status).toBe(200);
        expect(res.headers['access-control-allow-origin']).toBe('*');
        expect(res.headers['cache-control']).toMatch(/^public, max-age=\d+$/);
        const pre = await sendRaw(server.url, {
          method: 'OPTIONS',
          path,
          headers: { origin: 'https://anywhere.example', 'access-control-request-method': 'GET' },
        });
        expect(pre.status).toBe(204);
        expect(pre.headers['access-control-allow-methods']).toBe('GET');
      });
    }
  });
});

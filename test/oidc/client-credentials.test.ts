import { createRemoteJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basicAuth, makeApi, makeClient, makeLegacyCodeClient, makeMachineSetup } from '../support/fixtures.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { basicTokenRequest, discover, expectOAuthError, requestToken, scopeSet, send } from '../support/tokens.ts';

// Not the built-in 3600, so a token lasting this long proves the setting is what applies.
const DEFAULT_TTL = 1800;

describe('client credentials grant (RFC 6749 §4.4)', () => {
  let server: TestServer;
  let issuer: string;
  beforeAll(async () => {
    server = await startTestServer({ env: { ACCESS_TOKEN_TTL_SECONDS: String(DEFAULT_TTL) } });
    issuer = server.url;
  });
  afterAll(() => server?.close());

  describe('client authentication and the target API', () => {
    it('issues a Bearer token with client_secret_basic and audience (RFC 6749 §5.1)', async () => {
      const setup = await makeMachineSetup(server.services);
      const res = await basicTokenRequest(issuer, setup, { audience: setup.api.identifier });

      expect(res.status, res.text).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      expect(res.headers.get('cache-control')).toBe('no-store');
      expect(res.json).toMatchObject({ token_type: 'Bearer', expires_in: expect.any(Number), scope: expect.any(String) });
      expect(res.json?.access_token).toEqual(expect.any(String));
      expect(decodeJwt(res.json?.access_token as string).aud).toBe(setup.api.identifier);
    });

    it('issues a token with client_secret_post and resource (RFC 6749 §2.3.1, RFC 8707 §2)', async () => {
      const setup = await makeMachineSetup(server.services);
      const res = await requestToken(issuer, {
        grant_type: 'client_credentials',
        client_id: setup.clientId,
        client_secret: setup.clientSecret,
        resource: setup.api.identifier,
      });

      expect(res.status, res.text).toBe(200);
      expect(res.headers.get('cache-control')).toBe('no-store');
      expect(res.json?.token_type).toBe('Bearer');
      expect(decodeJwt(res.json?.access_token as string).aud).toBe(setup.api.identifier);
    });

    it('issues a token when audience and resource name the same API', async () => {
      const setup = await makeMachineSetup(server.services);
      const res = await basicTokenRequest(issuer, setup, { audience: setup.api.identifier, resource: setup.api.identifier });

      expect(res.status, res.text).toBe(200);
      expect(decodeJwt(res.json?.access_token as string).aud).toBe(setup.api.identifier);
    });

    it('answers invalid_target when audience and resource name different APIs (RFC 8707 §2)', async () => {
      const [a, b] = [await makeApi(server.services), await makeApi(server.services)];
      const client = await makeClient(server.services, { apis: [{ identifier: a.identifier }, { identifier: b.identifier }] });
      const res = await basicTokenRequest(issuer, client, { audience: a.identifier, resource: b.identifier });

      expectOAuthError(res, 400, 'invalid_target');
    });

    it('answers invalid_target for two different resource values [one API per client-credentials token] (RFC 8707 §2)', async () => {
      const [a, b] = [await makeApi(server.services), await makeApi(server.services)];
      const client = await makeClient(server.services, { apis: [{ identifier: a.identifier }, { identifier: b.identifier }] });
      const body = new URLSearchParams([
        ['grant_type', 'client_credentials'],
        ['resource', a.identifier],
        ['resource', b.identifier],
      ]);
      const res = await send(`${issuer}/oauth/token`, {
        headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basicAuth(client.clientId, client.clientSecret) },
        body: body.toString(),
      });

      expectOAuthError(res, 400, 'invalid_target');
    });

    it('issues a token for the only API granted when neither audience nor resource is sent', async () => {
      const setup = await makeMachineSetup(server.services);
      const res = await basicTokenRequest(issuer, setup, {});

      expect(res.status, res.text).toBe(200);
      expect(decodeJwt(res.json?.access_token as string).aud).toBe(setup.api.identifier);
    });

    it('answers invalid_target when neither audience nor resource is sent [client granted several APIs]', async () => {
      const [a, b] = [await makeApi(server.services), await makeApi(server.services)];
      const client = await makeClient(server.services, { apis: [{ identifier: a.identifier }, { identifier: b.identifier }] });

      expectOAuthError(await basicTokenRequest(issuer, client, {}), 400, 'invalid_target');
      // each API can still be named explicitly
      expect((await basicTokenRequest(issuer, client, { audience: b.identifier })).status).toBe(200);
    });

    it('answers invalid_target when neither audience nor resource is sent [client granted no API]', async () => {
      const client = await makeClient(server.services);

      expectOAuthError(await basicTokenRequest(issuer, client, {}), 400, 'invalid_target');
    });
  });

  describe('scope (RFC 6749 §3.3)', () => {
    it('grants every scope the client was granted when none is requested', async () => {
      const setup = await makeMachineSetup(server.services, { scopes: ['read', 'write', 'admin'], grantScopes: ['read', 'write'] });
      const res = await basicTokenRequest(issuer, setup, { audience: setup.api.identifier });

      expect(res.status, res.text).toBe(200);
      expect(scopeSet(res.json?.scope)).toEqual(['read', 'write']);
      expect(scopeSet(decodeJwt(res.json?.access_token as string).scope)).toEqual(['read', 'write']);
    });

    it('grants exactly the requested subset', async () => {
      const setup = await makeMachineSetup(server.services, { scopes: ['read', 'write', 'admin'] });
      const res = await basicTokenRequest(issuer, setup, { audience: setup.api.identifier, scope: 'write admin' });

      expect(res.status, res.text).toBe(200);
      expect(scopeSet(res.json?.scope)).toEqual(['admin', 'write']);
      expect(scopeSet(decodeJwt(res.json?.access_token as string).scope)).toEqual(['admin', 'write']);
    });

    it('answers invalid_scope for a scope of the API the client was not granted (RFC 6749 §5.2)', async () => {
      const setup = await makeMachineSetup(server.services, { scopes: ['read', 'write', 'admin'], grantScopes: ['read'] });

      expectOAuthError(
        await basicTokenRequest(issuer, setup, { audience: setup.api.identifier, scope: 'read admin' }),
        400,
        'invalid_scope',
      );
    });

    it('answers invalid_scope for a scope the API does not define (RFC 6749 §5.2)', async () => {
      const setup = await makeMachineSetup(server.services);

      expectOAuthError(await basicTokenRequest(issuer, setup, { audience: setup.api.identifier, scope: 'delete' }), 400, 'invalid_scope');
    });
  });

  describe('the access token (RFC 9068)', () => {
    async function verifyAgainstDiscoveredJwks(token: string, audience: string) {
      const metadata = await discover(issuer);
      const jwks = createRemoteJWKSet(new URL(metadata.jwks_uri as string));
      return jwtVerify(token, jwks, { issuer, audience, typ: 'at+jwt', algorithms: ['ES256', 'RS256'] });
    }

    async function publishedKey(kid: string | undefined) {
      const { jwks_uri } = await discover(issuer);
      const jwks = (await send(jwks_uri as string, { method: 'GET' })).json as { keys: Array<Record<string, unknown>> };
      return jwks.keys.find((k) => k.kid === kid);
    }

    it('is an ES256 at+jwt whose signature verifies against the JWKS from discovery (RFC 9068 §2.1)', async () => {
      const setup = await makeMachineSetup(server.services);
      const res = await basicTokenRequest(issuer, setup, { audience: setup.api.identifier });
      const token = res.json?.access_token as string;

      const header = decodeProtectedHeader(token);
      expect(header).toMatchObject({ typ: 'at+jwt', alg: 'ES256', kid: expect.any(String) });
      expect(await publishedKey(header.kid)).toMatchObject({ kty: 'EC', crv: 'P-256' });
      const { protectedHeader } = await verifyAgainstDiscoveredJwks(token, setup.api.identifier);
      expect(protectedHeader.alg).toBe('ES256');
    });

    it('carries iss, sub, aud, client_id, scope, jti, iat and exp (RFC 9068 §2.2)', async () => {
      const setup = await makeMachineSetup(server.services, { grantScopes: ['read'] });
      const res = await basicTokenRequest(issuer, setup, { audience: setup.api.identifier });
      const { payload } = await verifyAgainstDiscoveredJwks(res.json?.access_token as string, setup.api.identifier);

      expect(payload).toMatchObject({
        iss: issuer,
        sub: setup.clientId,
        aud: setup.api.identifier,
        client_id: setup.clientId,
        scope: 'read',
        jti: expect.any(String),
        iat: expect.any(Number),
        exp: expect.any(Number),
      });
      expect(Math.abs((payload.iat as number) - Date.now() / 1000)).toBeLessThan(60);
    });

    it('gives every token its own jti (RFC 9068 §2.2, RFC 7519 §4.1.7)', async () => {
      const setup = await makeMachineSetup(server.services);
      const jtis = new Set<unknown>();
      for (let i = 0; i < 3; i++) {
        const res = await basicTokenRequest(issuer, setup, { audience: setup.api.identifier });
        jtis.add(decodeJwt(res.json?.access_token as string).jti);
      }
      expect(jtis.size).toBe(3);
    });

    it('is RS256 for an API registered with signingAlg RS256 (RFC 9068 §4)', async () => {
      const api = await makeApi(server.services, { signingAlg: 'RS256' });
      const client = await makeClient(server.services, { apis: [{ identifier: api.identifier }] });
      const res = await basicTokenRequest(issuer, client, { audience: api.identifier });
      const token = res.json?.access_token as string;

      const header = decodeProtectedHeader(token);
      expect(header).toMatchObject({ typ: 'at+jwt', alg: 'RS256' });
      expect(await publishedKey(header.kid)).toMatchObject({ kty: 'RSA' });
      const { protectedHeader } = await verifyAgainstDiscoveredJwks(token, api.identifier);
      expect(protectedHeader.alg).toBe('RS256');
    });

    it('lasts ACCESS_TOKEN_TTL_SECONDS for an API without its own lifetime, and expires_in agrees', async () => {
      const setup = await makeMachineSetup(server.services);
      const res = await basicTokenRequest(issuer, setup, { audience: setup.api.identifier });
      const { exp, iat } = decodeJwt(res.json?.access_token as string);

      expect((exp as number) - (iat as number)).toBe(DEFAULT_TTL);
      // expires_in counts from the moment the response is built: at most a second later than iat
      expect(DEFAULT_TTL - (res.json?.expires_in as number)).toBeGreaterThanOrEqual(0);
      expect(DEFAULT_TTL - (res.json?.expires_in as number)).toBeLessThanOrEqual(1);
    });

    it("lasts the API's own accessTokenTtlSeconds, and expires_in agrees", async () => {
      const api = await makeApi(server.services, { accessTokenTtlSeconds: 600 });
      const client = await makeClient(server.services, { apis: [{ identifier: api.identifier }] });
      const res = await basicTokenRequest(issuer, client, { audience: api.identifier });
      const { exp, iat } = decodeJwt(res.json?.access_token as string);

      expect((exp as number) - (iat as number)).toBe(600);
      expect(600 - (res.json?.expires_in as number)).toBeGreaterThanOrEqual(0);
      expect(600 - (res.json?.expires_in as number)).toBeLessThanOrEqual(1);
    });
  });

  describe('errors (RFC 6749 §5.2)', () => {
    it('answers invalid_client with 401 and WWW-Authenticate [wrong secret, client_secret_basic]', async () => {
      const setup = await makeMachineSetup(server.services);
      const res = await basicTokenRequest(issuer, { clientId: setup.clientId, clientSecret: `${setup.clientSecret}x` }, {});

      expectOAuthError(res, 401, 'invalid_client');
    });

    it('answers invalid_client with 401 and WWW-Authenticate [wrong secret, client_secret_post]', async () => {
      const setup = await makeMachineSetup(server.services);
      const res = await requestToken(issuer, {
        grant_type: 'client_credentials',
        client_id: setup.clientId,
        client_secret: 'ghcs_not-the-secret',
      });

      expectOAuthError(res, 401, 'invalid_client');
    });

    it('answers invalid_client with 401 [unknown client id]', async () => {
      const setup = await makeMachineSetup(server.services);
      const res = await basicTokenRequest(issuer, { clientId: 'no-such-client', clientSecret: setup.clientSecret }, {});

      expectOAuthError(res, 401, 'invalid_client');
    });

    it('answers unauthorized_client for a client not registered for client_credentials', async () => {
      const api = await makeApi(server.services);
      // Registering such a client is refused while only client_credentials is served: one
      // registered before, for authorization_code only.
      const client = await makeLegacyCodeClient(server);
      await server.services.applications.update({ clientId: client.clientId, apis: [{ identifier: api.identifier }] }, 'test');

      expectOAuthError(await basicTokenRequest(issuer, client, { audience: api.identifier }), 400, 'unauthorized_client');
    });

    it('answers invalid_target for an audience no API is registered with (RFC 8707 §2)', async () => {
      const setup = await makeMachineSetup(server.services);

      expectOAuthError(await basicTokenRequest(issuer, setup, { audience: 'https://unknown.example.test' }), 400, 'invalid_target');
    });

    it('answers invalid_target for a resource no API is registered with (RFC 8707 §2)', async () => {
      const setup = await makeMachineSetup(server.services);

      expectOAuthError(await basicTokenRequest(issuer, setup, { resource: 'https://unknown.example.test' }), 400, 'invalid_target');
    });

    it('answers invalid_target for an API the client is not granted (RFC 8707 §2)', async () => {
      const setup = await makeMachineSetup(server.services);
      const other = await makeApi(server.services);

      expectOAuthError(await basicTokenRequest(issuer, setup, { audience: other.identifier }), 400, 'invalid_target');
      expectOAuthError(await basicTokenRequest(issuer, setup, { resource: other.identifier }), 400, 'invalid_target');
    });

    it('answers invalid_client at once for a deleted client', async () => {
      const setup = await makeMachineSetup(server.services);
      // a first token puts the client in the server's cache
      expect((await basicTokenRequest(issuer, setup, {})).status).toBe(200);

      await server.services.applications.remove(setup.clientId, 'test');

      expectOAuthError(await basicTokenRequest(issuer, setup, {}), 401, 'invalid_client');
    });

    it('refuses the old secret and accepts the new one at once after a rotation', async () => {
      const setup = await makeMachineSetup(server.services);
      expect((await basicTokenRequest(issuer, setup, {})).status).toBe(200);

      const { clientSecret: rotated } = await server.services.applications.rotateSecret(setup.clientId, 'test');

      expectOAuthError(await basicTokenRequest(issuer, setup, {}), 401, 'invalid_client');
      const res = await basicTokenRequest(issuer, { clientId: setup.clientId, clientSecret: rotated as string }, {});
      expect(res.status, res.text).toBe(200);
    });

    it('issues tokens at once for an API registered while the server runs', async () => {
      // a first request loads the server's view of the registered APIs
      const earlier = await makeMachineSetup(server.services);
      expect((await basicTokenRequest(issuer, earlier, {})).status).toBe(200);

      const api = await makeApi(server.services);
      const client = await makeClient(server.services, { apis: [{ identifier: api.identifier }] });
      const res = await basicTokenRequest(issuer, client, { audience: api.identifier });

      expect(res.status, res.text).toBe(200);
      expect(decodeJwt(res.json?.access_token as string).aud).toBe(api.identifier);
    });
  });
});

import { decodeJwt, decodeProtectedHeader, exportJWK, generateKeyPair, importJWK, type JWK, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ClientCredentials, getToken, introspect } from '../support/downstream.ts';
import { basicAuth, makeApi, makeClient, makeMachineSetup, postForm } from '../support/fixtures.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

/**
 * POST /oauth/introspect (RFC 7662) for the JWT and opaque access tokens Gatehouse issues.
 * An inactive token is answered with `{ "active": false }` and nothing else (§2.2). Who may see
 * which token (§4) is test/oidc/introspection-policy.test.ts; here the callers are a token's own
 * client or its API's resource server, both of which may.
 */
describe('token introspection (RFC 7662)', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server?.close());

  const endpoint = () => `${server.url}/oauth/introspect`;

  /** A JWT API, a client granted it, and a live token for it. */
  async function jwtSetup() {
    const setup = await makeMachineSetup(server.services, { scopes: ['read', 'write'], grantScopes: ['read', 'write'] });
    const token = await getToken(server.url, setup, { audience: setup.api.identifier, scope: 'read' });
    return { ...setup, token: token.access_token, expiresIn: token.expires_in };
  }

  /** An API issuing opaque tokens, a client granted it, and a live token for it. */
  async function opaqueSetup() {
    const api = await makeApi(server.services, { accessTokenFormat: 'opaque', scopes: ['read', 'write'] });
    const client = await makeClient(server.services, { apis: [{ identifier: api.identifier, scopes: ['read', 'write'] }] });
    const token = await getToken(server.url, client, { resource: api.identifier, scope: 'write' });
    return { api, ...client, token: token.access_token, expiresIn: token.expires_in };
  }

  /** A client that may introspect every token for `identifier` (`clients create --api … --introspect`). */
  const resourceServer = (identifier: string) => makeClient(server.services, { apis: [{ identifier, introspect: true }] });

  /** Signs an RFC 9068 access token with the server's own active ES256 key (for claims the server would never issue). */
  async function signWithServerKey(claims: Record<string, unknown>) {
    const ring = await server.services.signingKeys.loadKeyRing();
    const kid = ring.activeKid.ES256;
    const jwk = ring.privateJwks.find((k) => k.kid === kid) as JWK;
    return new SignJWT(claims).setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid }).sign(await importJWK(jwk, 'ES256'));
  }

  describe('client authentication', () => {
    it('accepts a client authenticating with HTTP Basic [client_secret_basic] (RFC 7662 §2.1)', async () => {
      const { token, clientId, clientSecret } = await jwtSetup();
      const res = await postForm(endpoint(), { token }, { authorization: basicAuth(clientId, clientSecret) });
      expect(res.status).toBe(200);
      expect(res.body.active).toBe(true);
    });

    it('accepts a client authenticating in the form [client_secret_post] (RFC 7662 §2.1)', async () => {
      const { token, clientId, clientSecret } = await jwtSetup();
      const res = await postForm(endpoint(), { token, client_id: clientId, client_secret: clientSecret });
      expect(res.status).toBe(200);
      expect(res.body.active).toBe(true);
    });

    it("answers the API's resource server (introspect right), not only the client the token was issued to (RFC 7662 §4)", async () => {
      const { token, api } = await jwtSetup();
      const res = await introspect(server.url, await resourceServer(api.identifier), token);
      expect(res.status).toBe(200);
      expect(res.body.active).toBe(true);
    });

    it.each([
      ['no credentials', async (_id: string, _secret: string) => ({ form: {}, headers: {} })],
      ['wrong secret, Basic', async (id: string) => ({ form: {}, headers: { authorization: basicAuth(id, 'ghcs_wrong') } })],
      ['wrong secret, post', async (id: string) => ({ form: { client_id: id, client_secret: 'ghcs_wrong' }, headers: {} })],
      [
        'unknown client',
        async (_id: string, secret: string) => ({ form: {}, headers: { authorization: basicAuth('no-such-client', secret) } }),
      ],
      ['client_id without secret', async (id: string) => ({ form: { client_id: id }, headers: {} })],
    ])('refuses with 401 invalid_client and reveals nothing about the token [%s] (RFC 7662 §2.1, RFC 6749 §5.2)', async (_name, make) => {
      const { token, clientId, clientSecret } = await jwtSetup();
      const { form, headers } = await make(clientId, clientSecret);
      const res = await postForm(endpoint(), { token, ...form }, headers);
      expect(res.status).toBe(401);
      expect(res.body.error).toBe('invalid_client');
      expect(res.body).not.toHaveProperty('active');
      expect(res.headers.get('www-authenticate')).toMatch(/^Basic /);
    });

    it('refuses a request without the token parameter with 400 invalid_request (RFC 7662 §2.1)', async () => {
      const { clientId, clientSecret } = await jwtSetup();
      const res = await postForm(endpoint(), {}, { authorization: basicAuth(clientId, clientSecret) });
      expect(res.status).toBe(400);
      expect(res.body.error).toBe('invalid_request');
    });
  });

  describe('active tokens', () => {
    it('describes a live JWT access token with the claims it carries (RFC 7662 §2.2)', async () => {
      const { token, clientId, api, expiresIn } = await jwtSetup();
      const res = await introspect(server.url, await resourceServer(api.identifier), token);
      expect(res.status).toBe(200);
      const claims = decodeJwt(token);
      expect(res.body).toMatchObject({
        active: true,
        iss: server.url,
        sub: clientId,
        aud: api.identifier,
        client_id: clientId,
        scope: 'read',
        token_type: 'Bearer',
        jti: claims.jti,
        exp: claims.exp,
        iat: claims.iat,
      });
      expect(typeof res.body.jti).toBe('string');
      expect((res.body.exp as number) - (res.body.iat as number)).toBe(expiresIn);
      expect(Math.abs((res.body.iat as number) - Date.now() / 1000)).toBeLessThan(60);
    });

    it('describes a live opaque access token with the same facts (RFC 7662 §2.2)', async () => {
      const { token, clientId, api, expiresIn } = await opaqueSetup();
      expect(token.split('.')).toHaveLength(1); // really opaque, not a JWT
      const res = await introspect(server.url, await resourceServer(api.identifier), token);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({
        active: true,
        iss: server.url,
        sub: clientId,
        aud: api.identifier,
        client_id: clientId,
        scope: 'write',
        token_type: 'Bearer',
      });
      expect((res.body.exp as number) - (res.body.iat as number)).toBe(expiresIn);
      expect(Math.abs((res.body.iat as number) - Date.now() / 1000)).toBeLessThan(60);
      // An opaque token's jti is the token value itself; like oidc-provider, it is not echoed.
      expect(res.body.jti).toBeUndefined();
    });

    it('answers with Cache-Control: no-store (RFC 7662 §2.2, RFC 6749 §5.1)', async () => {
      const { token, clientId, clientSecret } = await jwtSetup();
      const active = await introspect(server.url, { clientId, clientSecret }, token);
      const inactive = await introspect(server.url, { clientId, clientSecret }, 'not-a-token');
      expect(active.headers.get('cache-control')).toBe('no-store');
      expect(inactive.headers.get('cache-control')).toBe('no-store');
      expect(active.headers.get('content-type')).toMatch(/^application\/json/);
    });
  });

  describe('inactive tokens answer { "active": false } and nothing else (RFC 7662 §2.2)', () => {
    /**
     * A forgery is asked about by the client its copied claims name, which would see the real token:
     * so `active: false` can only come from the forgery itself. Garbage is asked about by anyone.
     */
    async function expectInactive(token: string, caller?: ClientCredentials) {
      const res = await introspect(server.url, caller ?? (await makeClient(server.services)), token);
      expect(res.status).toBe(200);
      expect(res.body).toStrictEqual({ active: false });
      expect(res.headers.get('cache-control')).toBe('no-store');
    }

    it('[garbage]', async () => {
      await expectInactive('this is not a token');
    });

    it('[unknown opaque-looking value]', async () => {
      await expectInactive('TfjbqOKc0Yw5Ka7dYg2L2Pm9Lhd3Nh3zT9_qzbx0Kzx');
    });

    it('[JWT-shaped garbage]', async () => {
      await expectInactive('eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl');
    });

    it('[JWT with the same claims and kid, signed by another key]', async () => {
      const { token, ...owner } = await jwtSetup();
      const { privateKey } = await generateKeyPair('ES256', { extractable: true });
      const forged = await new SignJWT(decodeJwt(token))
        .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: decodeProtectedHeader(token).kid as string })
        .sign(privateKey);
      await expectInactive(forged, owner);
      // the original still is active: only the signature differs
      expect((await introspect(server.url, owner, token)).body.active).toBe(true);
    });

    it('[JWT signed by another key that publishes itself in the header (jwk)]', async () => {
      const { token, ...owner } = await jwtSetup();
      const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
      const forged = await new SignJWT(decodeJwt(token))
        .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', jwk: await exportJWK(publicKey) })
        .sign(privateKey);
      await expectInactive(forged, owner);
    });

    it('[tampered JWT: payload changed, signature kept]', async () => {
      const { token, ...owner } = await jwtSetup();
      const [header, payload, signature] = token.split('.') as [string, string, string];
      const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
      const tampered = `${header}.${Buffer.from(JSON.stringify({ ...claims, scope: 'read write' })).toString('base64url')}.${signature}`;
      await expectInactive(tampered, owner);
    });

    it('[JWT with its signature stripped (alg none)]', async () => {
      const { token, ...owner } = await jwtSetup();
      const payload = token.split('.')[1] as string;
      const header = Buffer.from(JSON.stringify({ alg: 'none', typ: 'at+jwt' })).toString('base64url');
      await expectInactive(`${header}.${payload}.`, owner);
    });

    it('[expired JWT signed with the server key]', async () => {
      const { token, ...owner } = await jwtSetup();
      const claims = decodeJwt(token);
      const now = Math.floor(Date.now() / 1000);
      // The same construction with a future exp is active, so expiry is what makes the difference.
      const live = await signWithServerKey({ ...claims, jti: `${claims.jti}-live`, iat: now - 60, exp: now + 600 });
      expect((await introspect(server.url, owner, live)).body.active).toBe(true);
      const expired = await signWithServerKey({ ...claims, jti: `${claims.jti}-expired`, iat: now - 3600, exp: now - 120 });
      await expectInactive(expired, owner);
    });

    it('[JWT signed with the server key for another issuer]', async () => {
      const { token, ...owner } = await jwtSetup();
      const claims = decodeJwt(token);
      await expectInactive(await signWithServerKey({ ...claims, iss: 'https://evil.example.test' }), owner);
    });
  });

  describe('token_type_hint does not change the answer (RFC 7662 §2.1)', () => {
    for (const hint of ['access_token', 'refresh_token', 'unknown_kind']) {
      it(`[${hint}, JWT and opaque]`, async () => {
        const [jwt, opaque] = [await jwtSetup(), await opaqueSetup()];
        const caller = await makeClient(server.services, {
          apis: [jwt.api, opaque.api].map(({ identifier }) => ({ identifier, introspect: true })),
        });
        for (const { token } of [jwt, opaque]) {
          const plain = await introspect(server.url, caller, token);
          const hinted = await introspect(server.url, caller, token, { token_type_hint: hint });
          expect(plain.body.active).toBe(true);
          expect(hinted.status).toBe(200);
          expect(hinted.body).toStrictEqual(plain.body);
        }
        const garbage = await introspect(server.url, caller, 'garbage', { token_type_hint: hint });
        expect(garbage.body).toStrictEqual({ active: false });
      });
    }
  });
});

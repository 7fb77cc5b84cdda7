import { createRemoteJWKSet, decodeJwt, errors as joseErrors, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basicAuth, makeApi, makeClient } from '../support/fixtures.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { basicTokenRequest, discover, expectOAuthError, FORM, introspect, requestToken, send } from '../support/tokens.ts';

/**
 * Two independent deployments (own database, master key, signing keys and issuer) must not accept
 * each other's tokens or clients, even when both register an API with the same identifier.
 */
describe('isolation between two deployments', () => {
  let a: TestServer;
  let b: TestServer;
  beforeAll(async () => {
    // two fresh databases, and startTestServer gives each its own master key and port (= issuer)
    const [ra, rb] = await Promise.allSettled([startTestServer(), startTestServer()]);
    if (ra.status === 'fulfilled') a = ra.value;
    if (rb.status === 'fulfilled') b = rb.value;
    for (const r of [ra, rb]) if (r.status === 'rejected') throw r.reason; // afterAll closes the other
  });
  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
  });

  /** The same API identifier on both deployments, with one client on each. */
  async function twinSetups() {
    const identifier = `https://shared-${Math.random().toString(36).slice(2)}.example.test`;
    const setups = [];
    for (const server of [a, b]) {
      await makeApi(server.services, { identifier });
      // each may introspect every token for the API (RFC 7662 §4): only the deployment can refuse
      setups.push(await makeClient(server.services, { apis: [{ identifier, introspect: true }] }));
    }
    const [onA, onB] = setups as [Awaited<ReturnType<typeof makeClient>>, Awaited<ReturnType<typeof makeClient>>];
    return { identifier, onA, onB };
  }

  async function tokenFromA(onA: { clientId: string; clientSecret: string }, identifier: string): Promise<string> {
    const res = await basicTokenRequest(a.url, onA, { audience: identifier });
    expect(res.status, res.text).toBe(200);
    return res.json?.access_token as string;
  }

  it('runs two deployments with different issuers and signing keys', async () => {
    expect(a.url).not.toBe(b.url);
    const [ja, jb] = await Promise.all(
      [a, b].map(async (s) => (await send((await discover(s.url)).jwks_uri as string, { method: 'GET' })).json),
    );
    const kids = (j: unknown) => (j as { keys: Array<{ kid: string }> }).keys.map((k) => k.kid);
    expect(kids(ja).length).toBeGreaterThan(0);
    expect(kids(ja).filter((kid) => kids(jb).includes(kid))).toEqual([]);
  });

  it("answers active: false at the other deployment's introspection (RFC 7662 §2.2)", async () => {
    const { identifier, onA, onB } = await twinSetups();
    const token = await tokenFromA(onA, identifier);

    expect(await introspect(a.url, onA, token)).toMatchObject({ active: true, aud: identifier });
    expect(await introspect(b.url, onB, token)).toEqual({ active: false });
  });

  it("fails jose verification against the other deployment's JWKS (RFC 9068 §4)", async () => {
    const { identifier, onA } = await twinSetups();
    const token = await tokenFromA(onA, identifier);
    const jwksOf = async (s: TestServer) => createRemoteJWKSet(new URL((await discover(s.url)).jwks_uri as string));

    // the control: A's own JWKS verifies it
    await expect(jwtVerify(token, await jwksOf(a), { issuer: a.url, audience: identifier })).resolves.toBeDefined();
    // B's keys do not, even without any issuer or audience check
    await expect(jwtVerify(token, await jwksOf(b))).rejects.toBeInstanceOf(joseErrors.JOSEError);
    await expect(jwtVerify(token, await jwksOf(b), { issuer: b.url, audience: identifier })).rejects.toBeInstanceOf(joseErrors.JOSEError);
    expect(decodeJwt(token).iss).toBe(a.url);
  });

  it('cannot be revoked at the other deployment (RFC 7009 §2.2)', async () => {
    const { identifier, onA, onB } = await twinSetups();
    const token = await tokenFromA(onA, identifier);

    const res = await send(`${b.url}/oauth/revoke`, {
      headers: { 'content-type': FORM, authorization: basicAuth(onB.clientId, onB.clientSecret) },
      body: new URLSearchParams({ token }).toString(),
    });
    expect(res.status, res.text).toBe(200); // an unknown token is not an error

    expect(await introspect(a.url, onA, token)).toMatchObject({ active: true });
  });

  it('answers invalid_client for a client of the other deployment [token endpoint, Basic and post] (RFC 6749 §5.2)', async () => {
    const { identifier, onA } = await twinSetups();

    expectOAuthError(await basicTokenRequest(b.url, onA, { audience: identifier }), 401, 'invalid_client');
    const post = await requestToken(b.url, {
      grant_type: 'client_credentials',
      client_id: onA.clientId,
      client_secret: onA.clientSecret,
      audience: identifier,
    });
    expectOAuthError(post, 401, 'invalid_client');
    // the control: the same credentials work at home
    expect((await basicTokenRequest(a.url, onA, { audience: identifier })).status).toBe(200);
  });

  it('answers invalid_client for a client of the other deployment [introspection and revocation]', async () => {
    const { identifier, onA } = await twinSetups();
    const token = await tokenFromA(onA, identifier);

    for (const path of ['/oauth/introspect', '/oauth/revoke']) {
      const res = await send(`${b.url}${path}`, {
        headers: { 'content-type': FORM, authorization: basicAuth(onA.clientId, onA.clientSecret) },
        body: new URLSearchParams({ token }).toString(),
      });
      expectOAuthError(res, 401, 'invalid_client');
    }
  });
});

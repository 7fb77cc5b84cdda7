import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DownstreamApi, fetchJwks, getToken, kidOf, startDownstreamApi, waitFor, waitForJwksChange } from '../support/downstream.ts';
import { makeApi, makeClient } from '../support/fixtures.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

/**
 * A downstream API as the README tells API authors to write one: verify Gatehouse's JWT access
 * tokens offline with jose's createRemoteJWKSet + jwtVerify (RFC 9068 §4). Real HTTP on both sides.
 */
describe('a downstream API verifying access tokens offline (RFC 9068)', () => {
  let server: TestServer;
  let jwksUri: string;
  const started: DownstreamApi[] = [];

  beforeAll(async () => {
    server = await startTestServer();
    const discovery = (await (await fetch(`${server.url}/.well-known/openid-configuration`)).json()) as { jwks_uri: string };
    jwksUri = discovery.jwks_uri;
  });
  afterAll(async () => {
    await Promise.all(started.map((api) => api.close()));
    await server?.close();
  });

  /**
   * An API registered in Gatehouse, a client granted it, and the resource server itself.
   * `cooldownDuration: 0`: jose refetches the JWKS for an unknown kid at most once per cooldown
   * (30 s by default); here the rotation follows the API's first fetch by milliseconds.
   */
  async function setup(overrides: Parameters<typeof makeApi>[1] = {}) {
    const api = await makeApi(server.services, overrides);
    const client = await makeClient(server.services, { apis: [{ identifier: api.identifier }] });
    const resourceServer = await startDownstreamApi({ issuer: server.url, jwksUri, audience: api.identifier, cooldownDuration: 0 });
    started.push(resourceServer);
    const call = (token?: string) => fetch(`${resourceServer.url}/reports`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
    const issue = async (form: Record<string, string> = { audience: api.identifier }) =>
      (await getToken(server.url, client, form)).access_token;
    return { api, client, resourceServer, call, issue };
  }

  it('accepts a token Gatehouse issued for it', async () => {
    const { call, issue, client } = await setup();
    const res = await call(await issue());
    expect(res.status).toBe(200);
    expect(((await res.json()) as { client_id: string }).client_id).toBe(client.clientId);
  });

  it('accepts RS256 tokens from an API configured for them (RFC 9068 §4)', async () => {
    const { call, issue } = await setup({ signingAlg: 'RS256' });
    const token = await issue();
    const res = await call(token);
    expect(res.status).toBe(200);
    const kid = kidOf(token);
    expect((await fetchJwks(server.url)).keys.find((k) => k.kid === kid)?.alg).toBe('RS256');
  });

  it('answers 401 without a token, with garbage, and with a tampered token', async () => {
    const { call, issue } = await setup();
    expect((await call()).status).toBe(401);
    expect((await call('garbage')).status).toBe(401);
    const [h, p, s] = (await issue()).split('.') as [string, string, string];
    const claims = decodeJwt(`${h}.${p}.${s}`);
    const tampered = `${h}.${Buffer.from(JSON.stringify({ ...claims, scope: 'admin' })).toString('base64url')}.${s}`;
    expect((await call(tampered)).status).toBe(401);
  });

  it('answers 401 for a token issued for another API (RFC 9068 §4: aud must match)', async () => {
    const mine = await makeApi(server.services);
    const other = await makeApi(server.services);
    const client = await makeClient(server.services, { apis: [{ identifier: mine.identifier }, { identifier: other.identifier }] });
    const resourceServer = await startDownstreamApi({ issuer: server.url, jwksUri, audience: mine.identifier });
    started.push(resourceServer);
    const call = async (token: string) =>
      (await fetch(`${resourceServer.url}/reports`, { headers: { authorization: `Bearer ${token}` } })).status;

    const forOther = (await getToken(server.url, client, { audience: other.identifier })).access_token;
    const forMine = (await getToken(server.url, client, { audience: mine.identifier })).access_token;
    expect(decodeJwt(forOther).aud).toBe(other.identifier);
    expect(await call(forOther)).toBe(401);
    expect(await call(forMine)).toBe(200);
  });

  it('keeps accepting tokens across an immediate key rotation (keys rotate --now): the old key stays published, the new kid is fetched', async () => {
    const { call, issue, resourceServer } = await setup();
    const beforeRotation = await issue();
    expect((await call(beforeRotation)).status).toBe(200);
    const fetchesBefore = resourceServer.jwksFetches();
    expect(fetchesBefore).toBeGreaterThanOrEqual(1);

    const jwksBefore = await fetchJwks(server.url);
    await server.services.signingKeys.rotate('test', { immediately: true });
    const jwksAfter = await waitForJwksChange(server.url, jwksBefore.etag);
    const newKid = (await server.services.signingKeys.list()).find((k) => k.alg === 'ES256' && k.state === 'active')?.kid;
    expect(newKid).toBeDefined();
    expect(jwksAfter.keys.map((k) => k.kid)).toEqual(expect.arrayContaining([newKid, kidOf(beforeRotation)]));

    const afterRotation = await issue();
    expect(kidOf(afterRotation)).toBe(newKid);
    expect(kidOf(afterRotation)).not.toBe(kidOf(beforeRotation));

    // the API has not seen the new kid: jose refetches the JWKS and accepts the token
    expect((await call(afterRotation)).status).toBe(200);
    expect(resourceServer.jwksFetches()).toBe(fetchesBefore + 1);
    // the token signed before the rotation still verifies: its key is still in the JWKS
    expect((await call(beforeRotation)).status).toBe(200);
  });
});

/**
 * Why `keys rotate` publishes a key before it signs: an API holding a fresh JWKS does not refetch
 * it for every unknown kid (jose waits `cooldownDuration`, 30 s, between fetches; other libraries
 * cache for minutes). A key that is already in the JWKS the API holds needs no fetch at all.
 */
describe('a downstream API across a key rotation published ahead (KEY_ACTIVATION_DELAY_SECONDS)', () => {
  let server: TestServer;
  const started: DownstreamApi[] = [];
  beforeAll(async () => {
    server = await startTestServer({ env: { KEY_ACTIVATION_DELAY_SECONDS: '2' } });
  });
  afterAll(async () => {
    await Promise.all(started.map((api) => api.close()));
    await server?.close();
  });

  it('verifies tokens signed with the new key from the JWKS it already holds; an immediate rotation would be refused until its cooldown ends', async () => {
    const api = await makeApi(server.services);
    const client = await makeClient(server.services, { apis: [{ identifier: api.identifier }] });
    const issue = async () => (await getToken(server.url, client, { audience: api.identifier })).access_token;
    const oldToken = await issue();

    const jwksBefore = await fetchJwks(server.url);
    await server.services.signingKeys.rotate('test');
    await waitForJwksChange(server.url, jwksBefore.etag);
    const pendingKid = (await server.services.signingKeys.list()).find((k) => k.alg === 'ES256' && k.state === 'pending')?.kid;
    expect(pendingKid).toBeDefined();
    expect(kidOf(await issue())).toBe(kidOf(oldToken));

    // An API that (re)loads the JWKS now, jose's defaults: cached 10 min, 30 s between refetches.
    const resourceServer = await startDownstreamApi({
      issuer: server.url,
      jwksUri: `${server.url}/.well-known/jwks.json`,
      audience: api.identifier,
    });
    started.push(resourceServer);
    const call = async (token: string) =>
      (await fetch(`${resourceServer.url}/reports`, { headers: { authorization: `Bearer ${token}` } })).status;
    expect(await call(oldToken)).toBe(200);
    expect(resourceServer.jwksFetches()).toBe(1);

    // Two seconds later Gatehouse signs with the new key, which the API already holds.
    const newToken = await waitFor('tokens signed with the new key', async () => {
      const token = await issue();
      return kidOf(token) === pendingKid ? token : undefined;
    });
    expect(await call(newToken)).toBe(200);
    expect(await call(oldToken)).toBe(200);
    expect(resourceServer.jwksFetches()).toBe(1);

    // The control: a key that signs at once is unknown to the API, which may not refetch yet.
    await server.services.signingKeys.rotate('test', { immediately: true });
    const immediateToken = await waitFor('tokens signed with the immediate key', async () => {
      const token = await issue();
      return kidOf(token) !== pendingKid ? token : undefined;
    });
    expect(await call(immediateToken)).toBe(401);
    expect(await call(newToken)).toBe(200);
  });
});

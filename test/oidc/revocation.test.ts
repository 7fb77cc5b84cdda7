import { decodeJwt, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ClientCredentials, getToken, introspect, revoke } from '../support/downstream.ts';
import { basicAuth, makeApi, makeClient, makeMachineSetup, postForm } from '../support/fixtures.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

/**
 * POST /oauth/revoke (RFC 7009) for JWT access tokens (denylisted by jti until they expire) and
 * opaque ones (deleted). Introspection (RFC 7662) is how the tests observe the effect.
 */
describe('token revocation (RFC 7009)', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server?.close());

  /**
   * Whether `token` of `client` is active, as the API's resource server sees it: a client that only
   * introspects (RFC 7662 §4), so the observer is never the token's owner.
   */
  const isActive = async (client: { observer: ClientCredentials }, token: string) => {
    const res = await introspect(server.url, client.observer, token);
    expect(res.status).toBe(200);
    return res.body.active;
  };

  /** A resource server allowed to introspect the tokens of `identifier`. */
  const observerOf = (identifier: string) => makeClient(server.services, { apis: [{ identifier, introspect: true }] });

  async function jwtClient() {
    const setup = await makeMachineSetup(server.services);
    const issue = async () => (await getToken(server.url, setup, { audience: setup.api.identifier })).access_token;
    return { ...setup, issue, observer: await observerOf(setup.api.identifier) };
  }

  async function opaqueClient() {
    const api = await makeApi(server.services, { accessTokenFormat: 'opaque' });
    const client = await makeClient(server.services, { apis: [{ identifier: api.identifier }] });
    const issue = async () => (await getToken(server.url, client, { audience: api.identifier })).access_token;
    return { api, ...client, issue, observer: await observerOf(api.identifier) };
  }

  it('revokes a JWT access token by its jti while the client’s other tokens stay active (RFC 7009 §2.1)', async () => {
    const client = await jwtClient();
    const [doomed, kept] = [await client.issue(), await client.issue()];
    expect(decodeJwt(doomed).jti).not.toBe(decodeJwt(kept).jti);
    expect(await isActive(client, doomed)).toBe(true);

    const res = await revoke(server.url, client, doomed);
    expect(res.status).toBe(200);
    expect(await isActive(client, doomed)).toBe(false);
    expect((await introspect(server.url, client.observer, doomed)).body).toStrictEqual({ active: false });
    expect((await introspect(server.url, client, doomed)).body).toStrictEqual({ active: false });
    expect(await isActive(client, kept)).toBe(true);
  });

  it('revokes an opaque access token while the client’s other tokens stay active (RFC 7009 §2.1)', async () => {
    const client = await opaqueClient();
    const [doomed, kept] = [await client.issue(), await client.issue()];
    expect(await isActive(client, doomed)).toBe(true);

    const res = await revoke(server.url, client, doomed);
    expect(res.status).toBe(200);
    expect(await isActive(client, doomed)).toBe(false);
    expect(await isActive(client, kept)).toBe(true);
  });

  it('accepts client_secret_post as well as Basic (RFC 7009 §2.1)', async () => {
    const client = await jwtClient();
    const token = await client.issue();
    expect(await isActive(client, token)).toBe(true);
    const res = await postForm(`${server.url}/oauth/revoke`, { token, client_id: client.clientId, client_secret: client.clientSecret });
    expect(res.status).toBe(200);
    expect(await isActive(client, token)).toBe(false);
  });

  it('revokes with a wrong token_type_hint too (RFC 7009 §2.1: the server extends its search)', async () => {
    for (const client of [await jwtClient(), await opaqueClient()]) {
      const token = await client.issue();
      expect(await isActive(client, token)).toBe(true);
      const res = await revoke(server.url, client, token, { token_type_hint: 'refresh_token' });
      expect(res.status).toBe(200);
      expect(await isActive(client, token)).toBe(false);
    }
  });

  it.each([
    ['garbage', async () => 'not a token at all'],
    ['unknown opaque-looking value', async () => 'TfjbqOKc0Yw5Ka7dYg2L2Pm9Lhd3Nh3zT9_qzbx0Kzx'],
    [
      'JWT signed by another key',
      async () => {
        const { privateKey } = await generateKeyPair('ES256');
        return new SignJWT({ jti: 'x', client_id: 'y' })
          .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt' })
          .setExpirationTime('1h')
          .sign(privateKey);
      },
    ],
  ])('answers 200 for a token it does not know [%s] (RFC 7009 §2.2)', async (_name, make) => {
    const client = await jwtClient();
    const res = await revoke(server.url, client, await make());
    expect(res.status).toBe(200);
  });

  it('answers 200 when the same token is revoked twice [JWT and opaque] (RFC 7009 §2.2)', async () => {
    for (const client of [await jwtClient(), await opaqueClient()]) {
      const token = await client.issue();
      expect((await revoke(server.url, client, token)).status).toBe(200);
      expect((await revoke(server.url, client, token)).status).toBe(200);
      expect(await isActive(client, token)).toBe(false);
    }
  });

  it('does not revoke another client’s token, answering as for an unknown token, and keeps it active [JWT and opaque] (RFC 7009 §2.1)', async () => {
    for (const owner of [await jwtClient(), await opaqueClient()]) {
      const token = await owner.issue();
      const intruder = await makeClient(server.services, { apis: [{ identifier: owner.api.identifier }] });
      const res = await revoke(server.url, intruder, token);
      // §2.2: 200 with an empty body, as for a token the server does not know (introspection-policy.test.ts compares the two)
      expect(res.status).toBe(200);
      expect(res.body).toBe('');
      expect(await isActive(owner, token)).toBe(true);
    }
  });

  it('refuses an unauthenticated or wrongly authenticated caller with 401 invalid_client and keeps the token active (RFC 7009 §2.1)', async () => {
    const client = await jwtClient();
    const token = await client.issue();
    const anonymous = await postForm(`${server.url}/oauth/revoke`, { token });
    expect(anonymous.status).toBe(401);
    expect(anonymous.body.error).toBe('invalid_client');
    const wrong = await postForm(`${server.url}/oauth/revoke`, { token }, { authorization: basicAuth(client.clientId, 'ghcs_wrong') });
    expect(wrong.status).toBe(401);
    expect(wrong.body.error).toBe('invalid_client');
    expect(wrong.headers.get('www-authenticate')).toMatch(/^Basic /);
    const postWrong = await postForm(`${server.url}/oauth/revoke`, { token, client_id: client.clientId, client_secret: 'ghcs_wrong' });
    expect(postWrong.status).toBe(401);
    expect(await isActive(client, token)).toBe(true);
  });

  it('refuses a request without the token parameter with 400 invalid_request (RFC 7009 §2.1)', async () => {
    const client = await jwtClient();
    const res = await revoke(server.url, client, '');
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('invalid_request');
  });

  it('keeps a revoked JWT rejected after the revocation list is reloaded from the database (persisted)', async () => {
    const client = await jwtClient();
    const [doomed, kept] = [await client.issue(), await client.issue()];
    expect((await revoke(server.url, client, doomed)).status).toBe(200);

    await server.services.revocations.reload();
    expect(server.services.revocations.isRevoked(decodeJwt(doomed).jti as string)).toBe(true);
    expect(await isActive(client, doomed)).toBe(false);
    expect(await isActive(client, kept)).toBe(true);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCliJson } from '../support/cli.ts';
import { type ClientCredentials, getToken, introspect, revoke } from '../support/downstream.ts';
import { makeApi, makeClient } from '../support/fixtures.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

/**
 * Who may introspect which token (RFC 7662 §4) and revoke it (RFC 7009 §2.1), src/oidc/
 * introspection-policy.ts: a token is introspectable by its own client and by the clients given the
 * introspect right for an API in its audience (`clients create --api URI --introspect`); everyone
 * else gets `{"active":false}`, exactly as for an unknown token. Only a token's own client may revoke
 * it, and a foreign token's revocation is answered exactly as an unknown token's.
 */

const FORMATS = ['jwt', 'opaque'] as const;
type Format = (typeof FORMATS)[number];

/** An opaque-looking value no server issued. */
const UNKNOWN = 'TfjbqOKc0Yw5Ka7dYg2L2Pm9Lhd3Nh3zT9_qzbx0Kzx';

/** Headers that differ between any two answers (time, request id) and say nothing about the token. */
const PER_REQUEST = new Set(['date', 'x-request-id']);
const stableHeaders = (headers: Headers) => [...headers].filter(([name]) => !PER_REQUEST.has(name));

describe('introspection and revocation policy (RFC 7662 §4, RFC 7009 §2.1)', { timeout: 60_000 }, () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server?.close());

  /** An API of the given token format, a client granted it, and one of its tokens. */
  async function tokenOf(format: Format) {
    const api = await makeApi(server.services, { accessTokenFormat: format });
    const owner = await makeClient(server.services, { apis: [{ identifier: api.identifier }] });
    const token = (await getToken(server.url, owner, { audience: api.identifier })).access_token;
    if (format === 'opaque') expect(token.split('.')).toHaveLength(1);
    return { api, owner, token };
  }

  /** A resource-server client, registered as the README says: `clients create --api URI … --introspect`. */
  async function resourceServer(...identifiers: string[]): Promise<ClientCredentials> {
    const created = await runCliJson<{ client_id: string; client_secret: string }>(
      [
        'clients',
        'create',
        '--name',
        `orders-api-${Math.random().toString(36).slice(2)}`,
        ...identifiers.flatMap((i) => ['--api', i]),
        '--introspect',
        '--json',
      ],
      server.env,
    );
    return { clientId: created.client_id, clientSecret: created.client_secret };
  }

  async function expectActive(caller: ClientCredentials, token: string, owner: ClientCredentials) {
    const res = await introspect(server.url, caller, token);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ active: true, client_id: owner.clientId });
  }

  /** `{"active":false}` and nothing else, with the very headers an unknown token gets. */
  async function expectInactiveAsUnknown(caller: ClientCredentials, token: string) {
    const [res, unknown] = [await introspect(server.url, caller, token), await introspect(server.url, caller, UNKNOWN)];
    expect(res.status).toBe(200);
    expect(res.body).toStrictEqual({ active: false });
    expect(unknown.body).toStrictEqual({ active: false });
    expect(stableHeaders(res.headers)).toEqual(stableHeaders(unknown.headers));
  }

  for (const format of FORMATS) {
    it(`shows a token to its own client [${format}]`, async () => {
      const { owner, token } = await tokenOf(format);
      await expectActive(owner, token, owner);
    });

    it(`shows a token to a client with --introspect for its API [${format}]`, async () => {
      const { api, owner, token } = await tokenOf(format);
      const rs = await resourceServer(api.identifier);
      await expectActive(rs, token, owner);
      const res = await introspect(server.url, rs, token);
      expect(res.body).toMatchObject({ aud: api.identifier });
    });

    it(`answers inactive to that client for a token of another API, while the owner sees it active [${format}]`, async () => {
      const { api } = await tokenOf(format);
      const rs = await resourceServer(api.identifier);
      const elsewhere = await tokenOf(format);
      await expectInactiveAsUnknown(rs, elsewhere.token);
      await expectActive(elsewhere.owner, elsewhere.token, elsewhere.owner); // the control
    });

    it(`answers inactive to another client without the right, even one granted the same API [${format}]`, async () => {
      const { api, owner, token } = await tokenOf(format);
      await expectInactiveAsUnknown(await makeClient(server.services), token);
      await expectInactiveAsUnknown(await makeClient(server.services, { apis: [{ identifier: api.identifier }] }), token);
      await expectActive(owner, token, owner); // the control
    });

    it(`answers inactive once clients update --no-introspect took the right, as the running server learns at once [${format}]`, async () => {
      const { api, owner, token } = await tokenOf(format);
      const rs = await resourceServer(api.identifier);
      await expectActive(rs, token, owner); // also puts the client, with its right, in the server's cache
      await runCliJson(['clients', 'update', '--client-id', rs.clientId, '--no-introspect', '--json'], server.env);
      await expectInactiveAsUnknown(rs, token);
      await runCliJson(['clients', 'update', '--client-id', rs.clientId, '--introspect', '--json'], server.env);
      await expectActive(rs, token, owner);
    });

    it(`answers a foreign token's revocation exactly as an unknown token's, and the token stays active [${format}]`, async () => {
      const { api, owner, token } = await tokenOf(format);
      // even the API's resource server, which may introspect the token, may not revoke it
      for (const intruder of [
        await makeClient(server.services, { apis: [{ identifier: api.identifier }] }),
        await resourceServer(api.identifier),
      ]) {
        const foreign = await revoke(server.url, intruder, token);
        const unknown = await revoke(server.url, intruder, UNKNOWN);
        expect(foreign.status).toBe(200);
        expect(foreign.body).toBe('');
        expect({ status: foreign.status, body: foreign.body, headers: stableHeaders(foreign.headers) }).toEqual({
          status: unknown.status,
          body: unknown.body,
          headers: stableHeaders(unknown.headers),
        });
        await expectActive(owner, token, owner);
      }
      // the control: its own client can revoke it
      expect((await revoke(server.url, owner, token)).status).toBe(200);
      expect((await introspect(server.url, owner, token)).body).toStrictEqual({ active: false });
    });
  }
});

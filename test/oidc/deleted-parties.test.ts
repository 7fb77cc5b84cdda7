import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getToken, introspect } from '../support/downstream.ts';
import { makeApi, makeClient } from '../support/fixtures.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

/**
 * A token ends with the client it was issued to and with the API it is for (DESIGN.md §5): after
 * `clients delete` or `apis delete --force`, introspection answers `{ "active": false }` for its
 * JWT and opaque tokens alike, although a JWT cannot be recalled from the APIs that verify it
 * offline.
 */
describe('tokens of a deleted client or API introspect inactive (RFC 7662 §2.2)', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server?.close());

  async function tokensFor(format: 'jwt' | 'opaque') {
    const api = await makeApi(server.services, { accessTokenFormat: format });
    const client = await makeClient(server.services, { apis: [{ identifier: api.identifier }] });
    // The API's resource server (RFC 7662 §4) may see it too, and outlives the token's client.
    const resourceServer = await makeClient(server.services, { apis: [{ identifier: api.identifier, introspect: true }] });
    const token = (await getToken(server.url, client)).access_token;
    // the controls
    expect((await introspect(server.url, resourceServer, token)).body.active).toBe(true);
    expect((await introspect(server.url, client, token)).body.active).toBe(true);
    return { api, client, resourceServer, token };
  }

  for (const format of ['jwt', 'opaque'] as const) {
    it(`after its client is deleted [${format}]`, async () => {
      // asked by the API's resource server: the deleted client can no longer authenticate
      const { client, resourceServer, token } = await tokensFor(format);
      await server.services.applications.remove(client.clientId, 'test');
      const res = await introspect(server.url, resourceServer, token);
      expect(res.status).toBe(200);
      expect(res.body).toStrictEqual({ active: false });
    });

    it(`after its API is deleted [${format}]`, async () => {
      // asked by the token's own client: deleting the API also takes the resource server's right
      const { api, client, token } = await tokensFor(format);
      await server.services.apis.remove(api.identifier, 'test', { force: true });
      const res = await introspect(server.url, client, token);
      expect(res.status).toBe(200);
      expect(res.body).toStrictEqual({ active: false });
    });
  }
});

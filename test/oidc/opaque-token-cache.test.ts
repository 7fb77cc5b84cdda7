import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basicAuth, makeApi, makeClient } from '../support/fixtures.ts';
import { useTwoInstances } from '../support/instances.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { TEST_DB } from '../support/test-database.ts';
import { basicTokenRequest, FORM, introspect, send } from '../support/tokens.ts';

/**
 * Opaque tokens are read from memory after the first lookup (src/domain/oidc-artifacts/
 * oidc-artifact.service.ts). What is remembered must never outlive a revocation, on this instance
 * or on another one sharing the database.
 */
async function opaqueSetup(server: TestServer) {
  const api = await makeApi(server.services, { accessTokenFormat: 'opaque', scopes: ['read'] });
  const client = await makeClient(server.services, { apis: [{ identifier: api.identifier }] });
  return { api, ...client };
}

async function opaqueToken(server: TestServer, setup: Awaited<ReturnType<typeof opaqueSetup>>): Promise<string> {
  const res = await basicTokenRequest(server.url, setup, { resource: setup.api.identifier });
  expect(res.status, res.text).toBe(200);
  return res.json?.access_token as string;
}

async function revoke(issuer: string, client: { clientId: string; clientSecret: string }, token: string) {
  const res = await send(`${issuer}/oauth/revoke`, {
    headers: { 'content-type': FORM, authorization: basicAuth(client.clientId, client.clientSecret) },
    body: new URLSearchParams({ token }).toString(),
  });
  expect(res.status, res.text).toBe(200);
}

describe('opaque access tokens read from memory', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server?.close());

  it('introspects a token again and again, then answers active: false once it is revoked (RFC 7009 §2)', async () => {
    const setup = await opaqueSetup(server);
    const token = await opaqueToken(server, setup);
    for (let i = 0; i < 3; i++) expect((await introspect(server.url, setup, token)).active).toBe(true);
    await revoke(server.url, setup, token);
    expect(await introspect(server.url, setup, token)).toEqual({ active: false });
  });

  it('keeps other tokens of the client active when one is revoked', async () => {
    const setup = await opaqueSetup(server);
    const [kept, revoked] = [await opaqueToken(server, setup), await opaqueToken(server, setup)];
    expect((await introspect(server.url, setup, kept)).active).toBe(true);
    expect((await introspect(server.url, setup, revoked)).active).toBe(true);
    await revoke(server.url, setup, revoked);
    expect((await introspect(server.url, setup, kept)).active).toBe(true);
    expect((await introspect(server.url, setup, revoked)).active).toBe(false);
  });
});

describe.runIf(TEST_DB === 'postgres')('opaque access tokens across instances sharing a database', () => {
  const instances = useTwoInstances({}, { oneIssuer: true });

  it('answers active: false at an instance that had read the token, once another revoked it', async () => {
    const { a, b } = instances;
    const setup = await opaqueSetup(a);
    const token = await opaqueToken(a, setup);
    expect((await introspect(b.url, setup, token)).active).toBe(true);
    expect((await introspect(b.url, setup, token)).active).toBe(true);
    await revoke(a.url, setup, token);
    // The change reaches B through LISTEN/NOTIFY; give it a moment, never long.
    const deadline = Date.now() + 3000;
    let active = true;
    while (active && Date.now() < deadline) {
      active = (await introspect(b.url, setup, token)).active === true;
      if (active) await new Promise((r) => setTimeout(r, 20));
    }
    expect(active).toBe(false);
  });
});

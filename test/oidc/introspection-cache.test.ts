import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Clock } from '../../src/lib/clock.ts';
import { makeMachineSetup } from '../support/fixtures.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { basicTokenRequest, introspect } from '../support/tokens.ts';

/**
 * Introspection remembers JWTs whose signature verified (src/oidc/token-kinds/jwt-access-token.ts). What it
 * remembers must never outlive what makes a token active: its lifetime and the denylist.
 */
describe('introspection of a JWT it has seen before', () => {
  let server: TestServer;
  let offsetSeconds = 0;
  const clock: Clock = {
    now: () => new Date(Date.now() + offsetSeconds * 1000),
    epoch: () => Math.floor(Date.now() / 1000) + offsetSeconds,
  };
  beforeAll(async () => {
    server = await startTestServer({ clock });
  });
  afterAll(() => server?.close());

  it('answers active: false once the token expires, though it verified before (RFC 7662 §2.2)', async () => {
    const setup = await makeMachineSetup(server.services);
    const issued = await basicTokenRequest(server.url, setup, { audience: setup.api.identifier });
    const token = issued.json?.access_token as string;
    expect((await introspect(server.url, setup, token)).active).toBe(true);
    expect((await introspect(server.url, setup, token)).active).toBe(true);

    offsetSeconds += (issued.json?.expires_in as number) + 1;
    try {
      expect(await introspect(server.url, setup, token)).toEqual({ active: false });
    } finally {
      offsetSeconds = 0;
    }
  });

  it('answers active: false after revocation, though it verified before (RFC 7009 §2)', async () => {
    const setup = await makeMachineSetup(server.services);
    const token = (await basicTokenRequest(server.url, setup, { audience: setup.api.identifier })).json?.access_token as string;
    expect((await introspect(server.url, setup, token)).active).toBe(true);
    const revoked = await fetch(`${server.url}/oauth/revoke`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${setup.clientId}:${setup.clientSecret}`).toString('base64')}`,
      },
      body: new URLSearchParams({ token }).toString(),
    });
    expect(revoked.status).toBe(200);
    expect(await introspect(server.url, setup, token)).toEqual({ active: false });
  });

  it('answers active: false for a tampered copy of a token it verified', async () => {
    const setup = await makeMachineSetup(server.services);
    const token = (await basicTokenRequest(server.url, setup, { audience: setup.api.identifier })).json?.access_token as string;
    expect((await introspect(server.url, setup, token)).active).toBe(true);
    const [header, payload, signature] = token.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>;
    const forged = `${header}.${Buffer.from(JSON.stringify({ ...claims, scope: 'admin' })).toString('base64url')}.${signature}`;
    expect(await introspect(server.url, setup, forged)).toEqual({ active: false });
  });
});

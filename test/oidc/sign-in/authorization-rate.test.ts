import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { devicePost, makeDeviceClient } from '../../support/device.ts';
import { startTestServer, type TestServer } from '../../support/server.ts';
import { authorizeUrl, browse, CookieJar, makeWebClient } from '../../support/sign-in.ts';

/**
 * A valid authorization request stores the state of its sign-in (an Interaction row): the one
 * write an anonymous browser can cause. AUTHORIZATION_REQUESTS_PER_IP_PER_MINUTE bounds it per
 * address, counted in memory so that the limit itself writes nothing.
 */
describe('authorization requests per address', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ env: { AUTHORIZATION_REQUESTS_PER_IP_PER_MINUTE: '5' } });
  });
  afterAll(() => server?.close());

  const interactions = async () =>
    (await server.sql<{ n: number }>("SELECT count(*)::int AS n FROM oidc_artifacts WHERE model = 'Interaction'"))[0]?.n ?? 0;

  it('answers past the limit with a page saying when to try again, and stores nothing more', async () => {
    const client = await makeWebClient(server.services);
    const request = () => browse(server.url, new CookieJar(), authorizeUrl({ clientId: client.clientId, redirectUri: client.redirectUri }));
    const before = await interactions();
    for (let i = 0; i < 5; i++) {
      const hop = await request();
      expect(hop.status, `request ${i + 1}`).toBe(303);
      expect(hop.location).toMatch(/^\/interaction\//);
    }
    expect(await interactions()).toBe(before + 5);

    const refused = await request();
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(Number(refused.headers.get('retry-after'))).toBeLessThanOrEqual(60);
    expect(refused.headers.get('content-type')).toMatch(/^text\/html/);
    expect(refused.body).toContain('Too many sign-in requests');
    expect(refused.headers.get('set-cookie')).toBeNull();
    expect(await interactions()).toBe(before + 5);
  });

  it("counts a device's authorization requests too (RFC 8628 §3.1): past the limit a 429 slow_down, and no device code", async () => {
    const devices = await startTestServer({ env: { AUTHORIZATION_REQUESTS_PER_IP_PER_MINUTE: '3' } });
    try {
      const client = await makeDeviceClient(devices.services, { public: true });
      const codes = async () =>
        (await devices.sql<{ n: number }>("SELECT count(*)::int AS n FROM oidc_artifacts WHERE model = 'DeviceCode'"))[0]?.n ?? 0;
      for (let i = 0; i < 3; i++)
        expect((await devicePost(devices.url, '/oauth/device/code', client, { scope: 'openid' })).status).toBe(200);
      expect(await codes()).toBe(3);
      const refused = await devicePost(devices.url, '/oauth/device/code', client, { scope: 'openid' });
      expect(refused.status).toBe(429);
      expect(refused.body.error).toBe('slow_down');
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(refused.headers.get('cache-control')).toBe('no-store');
      expect(await codes()).toBe(3);
    } finally {
      await devices.close();
    }
  });

  it('turns off with 0', async () => {
    const open = await startTestServer({ env: { AUTHORIZATION_REQUESTS_PER_IP_PER_MINUTE: '0' } });
    try {
      const client = await makeWebClient(open.services);
      for (let i = 0; i < 8; i++) {
        const hop = await browse(open.url, new CookieJar(), authorizeUrl({ clientId: client.clientId, redirectUri: client.redirectUri }));
        expect(hop.status).toBe(303);
      }
    } finally {
      await open.close();
    }
  });
});

import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeApi } from '../../support/fixtures.ts';
import { startTestServer, type TestServer } from '../../support/server.ts';
import { makePerson } from '../../support/sign-in.ts';
import { approveOnDevicePage, authorizeDevice, makeDeviceClient, pollToken } from '../../support/device.ts';

describe('device authorization grant (RFC 8628): polling', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ env: { DEVICE_POLL_INTERVAL_SECONDS: '2' } });
  });
  afterAll(() => server?.close());

  it('answers authorization_pending, slow_down when polled too soon, then the tokens once approved', async () => {
    const api = await makeApi(server.services, { scopes: ['read', 'write'] });
    const client = await makeDeviceClient(server.services, { apis: [{ identifier: api.identifier, scopes: ['read'] }] });
    const person = await makePerson(server.services);
    const auth = await authorizeDevice(server.url, client, { scope: 'openid profile offline_access read', resource: api.identifier });
    expect(auth.interval).toBe(2);
    const first = await pollToken(server.url, client, auth.device_code);
    expect(first.status, first.text).toBe(400);
    expect(first.body.error).toBe('authorization_pending');
    const second = await pollToken(server.url, client, auth.device_code);
    expect(second.status).toBe(400);
    expect(second.body.error).toBe('slow_down');
    const done = await approveOnDevicePage(server.url, auth.user_code, person);
    expect(done.page.status, done.page.body.slice(0, 500)).toBe(200);
    expect(done.page.body).toContain('Device connected');
    const tokens = await pollToken(server.url, client, auth.device_code);
    expect(tokens.status, tokens.text).toBe(200);
    expect(tokens.body.id_token).toBeTypeOf('string');
    expect(tokens.body.refresh_token).toBeTypeOf('string');
    const at = decodeJwt(tokens.body.access_token as string);
    expect(at.aud).toBe(api.identifier);
    console.log(done.saw, tokens.body.scope);
  });
});

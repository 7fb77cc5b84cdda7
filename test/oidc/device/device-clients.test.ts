import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, runCliJson } from '../../support/cli.ts';
import { authorizeDevice, DEVICE_GRANT, pollToken } from '../../support/device.ts';
import { startTestServer, type TestServer } from '../../support/server.ts';

/**
 * Device clients made the way the README says, with the CLI while the server runs: public (no
 * secret) and confidential, each then asking for a device code and polling.
 */
describe('device clients from the CLI', { timeout: 60_000 }, () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server?.close());

  interface Created {
    client_id: string;
    client_secret?: string | null;
    client_type: string;
    grant_types?: string[];
    authorization_grant_type: string;
  }

  it('gatehouse clients create --public --grant-types <device>,refresh_token makes a public device client', async () => {
    const created = await runCliJson<Created>(
      ['clients', 'create', '--name', `tv-${Date.now()}`, '--public', '--grant-types', `${DEVICE_GRANT},refresh_token`, '--json'],
      server.env,
    );
    expect(created.client_type).toBe('public');
    expect(created.client_secret ?? null).toBeNull();
    expect(created.authorization_grant_type).toBe(DEVICE_GRANT);
    const auth = await authorizeDevice(server.url, { clientId: created.client_id, clientSecret: null });
    expect((await pollToken(server.url, { clientId: created.client_id, clientSecret: null }, auth.device_code)).body.error).toBe(
      'authorization_pending',
    );
  });

  it('makes a confidential device client with a secret, which must authenticate', async () => {
    const created = await runCliJson<Created>(
      ['clients', 'create', '--name', `kiosk-${Date.now()}`, '--grant-types', DEVICE_GRANT, '--json'],
      server.env,
    );
    expect(created.client_type).toBe('confidential');
    const client = { clientId: created.client_id, clientSecret: created.client_secret as string };
    expect(client.clientSecret).toBeTruthy();
    const auth = await authorizeDevice(server.url, client);
    expect((await pollToken(server.url, client, auth.device_code)).body.error).toBe('authorization_pending');
    const anonymous = await pollToken(server.url, { clientId: created.client_id, clientSecret: null }, auth.device_code);
    expect(anonymous.status).toBe(401);
    expect(anonymous.body.error).toBe('invalid_client');
  });

  it('refuses refresh_token without a grant that issues it', async () => {
    const result = await runCli(
      ['clients', 'create', '--name', `bad-${Date.now()}`, '--public', '--grant-types', 'refresh_token'],
      server.env,
    );
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/refresh_token/);
  });
});

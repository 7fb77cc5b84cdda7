import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../support/downstream.ts';
import { basicAuth, makeMachineSetup } from '../support/fixtures.ts';
import { abortMidBody } from '../support/raw-http.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

/**
 * A client that closes its connection in the middle of its request body is the client's doing, not
 * a server fault (issue 8 item 14): it was logged at error level ("unhandled error" with an
 * `aborted` ECONNRESET stack, and a 500 access line). Now it is one info line with the request id,
 * and nothing is answered (there is nobody to answer).
 */
describe('a client that aborts mid-request', () => {
  let server: TestServer;
  let auth: string;
  beforeAll(async () => {
    server = await startTestServer();
    const setup = await makeMachineSetup(server.services);
    auth = basicAuth(setup.clientId, setup.clientSecret);
  });
  afterAll(() => server?.close());

  const FORM = 'application/x-www-form-urlencoded';
  const cases: Record<string, { path: string; headers: () => Record<string, string> }> = {
    introspection: { path: '/oauth/introspect', headers: () => ({ 'content-type': FORM, authorization: auth }) },
    revocation: { path: '/oauth/revoke', headers: () => ({ 'content-type': FORM, authorization: auth }) },
    'token, fast path': { path: '/oauth/token', headers: () => ({ 'content-type': FORM, authorization: auth }) },
    'token, oidc-provider': {
      path: '/oauth/token',
      headers: () => ({ 'content-type': FORM, authorization: auth, origin: 'https://app.example.test' }),
    },
  };

  for (const [name, { path, headers }] of Object.entries(cases)) {
    it(`logs it at info with the request id, and nothing at error level [${name}]`, async () => {
      const reqId = `abort-${randomUUID()}`;
      const seen = server.logs.lines.length;
      await abortMidBody(server.url, {
        method: 'POST',
        path,
        headers: { ...headers(), 'x-request-id': reqId },
        sent: 'grant_type=client_credentials&token=',
        declaredLength: 4000,
      });

      const access = await waitFor('the access line', async () =>
        server.logs.records().find((r) => r.reqId === reqId && r.msg === 'request'),
      );
      // Not one warning anywhere (the ECONNRESET must not pass for the database going away either).
      const since = server.logs.records().slice(seen);
      expect(
        since.filter((r) => r.level === 'error' || r.level === 'fatal' || r.level === 'warn').map((r) => r.msg),
        JSON.stringify(since),
      ).toEqual([]);
      const lines = since.filter((r) => r.reqId === reqId);
      expect(access).toMatchObject({ level: 'info', status: 499, path });
      expect(lines.some((r) => r.level === 'info' && r.msg === 'client closed the connection before the answer was sent')).toBe(true);
    });
  }

  it('still answers the next request on a fresh connection', async () => {
    const res = await fetch(`${server.url}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': FORM, authorization: auth },
      body: 'grant_type=client_credentials',
    });
    expect(res.status).toBe(200);
    await res.arrayBuffer();
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemPrincipal } from '../../src/domain/access/principal.ts';
import {
  bearerAuth,
  CHEAP_PASSWORDS,
  call,
  clientCredentialsToken,
  makeAdminClient,
  makeToken,
  makeUser,
  registerAdminApi,
  tokenAuth,
} from '../support/admin-http.ts';
import { makeApi } from '../support/fixtures.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { countStatements } from '../support/statements.ts';

/**
 * Issue 10, "Performance": `GET /api/v1/me`, `POST /api/v1/access-check` and the AuthZEN
 * evaluations cost no database statement on a warm cache, whatever the credential (API token,
 * access token) and however many users, roles and permissions exist: nothing there grows with the
 * number of rows. (HTTP Basic is not on this list: it checks a password, by design a lookup and a
 * hash per request.)
 */

let server: TestServer;
let requests: Record<string, () => Promise<unknown>>;

beforeAll(async () => {
  server = await startTestServer({ env: { ...CHEAP_PASSWORDS } });
  await registerAdminApi(server);
  const api = (await makeApi(server.services)).identifier;
  await server.services.permissions.create(systemPrincipal, { codename: 'add_mediasource', api });
  // Rows that must not matter: other users, each with a role of their own.
  for (let i = 0; i < 30; i++) await makeUser(server.services, { permissions: ['view_user', 'add_mediasource'] });
  const alice = await makeUser(server.services, { permissions: ['view_user', 'add_mediasource'] });
  const { secret } = await makeToken(server.services, alice.id);
  const pep = await makeAdminClient(server, ['view_access', 'add_mediasource']);
  const bearer = bearerAuth(await clientCredentialsToken(server, pep));
  const subject = { type: 'user', id: alice.id };
  requests = {
    'GET /api/v1/me [Token]': () => call(server, 'GET', '/api/v1/me', { auth: tokenAuth(secret) }),
    'GET /api/v1/me [Bearer]': () => call(server, 'GET', '/api/v1/me', { auth: bearer }),
    'POST /api/v1/access-check [Token]': () =>
      call(server, 'POST', '/api/v1/access-check', { auth: tokenAuth(secret), json: { permissions: ['add_mediasource', 'view_user'] } }),
    'POST /api/v1/access-check [Token, api]': () =>
      call(server, 'POST', '/api/v1/access-check', { auth: tokenAuth(secret), json: { permissions: ['add_mediasource'], api } }),
    'POST /access/v1/evaluation [Token]': () =>
      call(server, 'POST', '/access/v1/evaluation', {
        auth: tokenAuth(secret),
        json: { subject, action: { name: 'add_mediasource' }, resource: { type: 'api', id: api } },
      }),
    'POST /access/v1/evaluations [Bearer, another subject]': () =>
      call(server, 'POST', '/access/v1/evaluations', {
        auth: bearer,
        json: {
          subject,
          resource: { type: 'doc', id: '1' },
          evaluations: [{ action: { name: 'add_mediasource' } }, { action: { name: 'view_user' } }],
        },
      }),
  };
});
afterAll(() => server?.close());

/**
 * The fewest statements `request` cost over `windows` windows of `times` calls each. A query per
 * request shows in every window (at least `times`); the one write that may land in a window is the
 * API tokens' usage batch, written by a timer every few seconds, never by a request.
 */
async function fewestStatements(request: () => Promise<unknown>, times = 20, windows = 3): Promise<number> {
  let fewest = Number.POSITIVE_INFINITY;
  for (let w = 0; w < windows && fewest > 0; w++) {
    await server.services.apiTokens.flushUsage();
    const counter = countStatements();
    try {
      for (let i = 0; i < times; i++) await request();
      fewest = Math.min(fewest, counter.count);
    } finally {
      counter.restore();
    }
  }
  return fewest;
}

describe('statements on a warm cache', () => {
  it('the identity and access-check paths cost none, for every credential', async () => {
    for (const [label, request] of Object.entries(requests)) {
      // Warm: the first calls load the token, the user's permissions, the API's codenames.
      for (let i = 0; i < 3; i++) await request();
      expect(await fewestStatements(request), label).toBe(0);
    }
  });

  it('answer correctly while costing none (the cache holds the right things)', async () => {
    const me = (await requests['GET /api/v1/me [Token]']?.()) as { status: number; json: { permissions: string[] } };
    expect(me.status).toBe(200);
    expect(me.json.permissions).toEqual(['add_mediasource', 'view_user']);
    const batch = (await requests['POST /access/v1/evaluations [Bearer, another subject]']?.()) as { json: unknown };
    expect(batch.json).toEqual({ evaluations: [{ decision: true }, { decision: true }] });
  });
});

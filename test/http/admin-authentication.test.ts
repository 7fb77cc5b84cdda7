import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  adminAudience,
  basicAuth,
  bearerAuth,
  CHEAP_PASSWORDS,
  call,
  clientCredentialsToken,
  makeAdminClient,
  makeToken,
  makeUser,
  registerAdminApi,
  signedAccessToken,
  tokenAuth,
  uniqueName,
} from '../support/admin-http.ts';
import { makeClient } from '../support/fixtures.ts';
import { manualClock } from '../support/identity.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { countStatements } from '../support/statements.ts';
import { basicTokenRequest, type RawResponse, send } from '../support/tokens.ts';

/**
 * `/api/v1` on the public HTTP app (issue 10, "Opaque API tokens" and "Access checks"): every
 * request authenticates with `Token` (API token), `Bearer` (an access token for the admin API
 * itself) or `Basic` (username and password); without credentials there is no principal and the
 * routes answer 401, naming the schemes.
 */

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ env: { ...CHEAP_PASSWORDS } });
  await registerAdminApi(server);
});
afterAll(() => server?.close());

function expectProblem(res: RawResponse, status: number, code: string) {
  expect({ status: res.status, code: res.json?.code }, res.text).toEqual({ status, code });
  expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(res.headers.get('cache-control')).toBe('no-store');
}

/** RFC 9110 §11.6.1: a 401 names every scheme the surface accepts. */
function expectChallenges(res: RawResponse, bearerError?: string) {
  const header = res.headers.get('www-authenticate') ?? '';
  const realm = `realm="${adminAudience(server)}"`;
  expect(header).toContain(`Token ${realm}`);
  expect(header).toContain(bearerError ? `Bearer ${realm}, error="${bearerError}"` : `Bearer ${realm}`);
  expect(header).toContain(`Basic ${realm}, charset="UTF-8"`);
}

describe('anonymous requests', () => {
  it('GET /api/v1/me answers 401 problem+json naming Token, Bearer and Basic', async () => {
    const res = await call(server, 'GET', '/api/v1/me');
    expectProblem(res, 401, 'auth.unauthenticated');
    expectChallenges(res);
  });

  it('every admin route answers 401 without credentials, reads and writes alike', async () => {
    for (const [method, path] of [
      ['POST', '/api/v1/access-check'],
      ['GET', '/api/v1/applications'],
      ['POST', '/api/v1/keys/rotations'],
    ] as const) {
      const res = await call(server, method, path, method === 'POST' ? { json: { permissions: ['view_user'] } } : {});
      expectProblem(res, 401, 'auth.unauthenticated');
      expectChallenges(res);
    }
  });

  it('cost no database statement at all (so never a write)', async () => {
    await call(server, 'GET', '/api/v1/me'); // warm: routes compiled, nothing cached that matters
    // Other tests' token use is written in batches by a timer: write it now, outside the count.
    await server.services.apiTokens.flushUsage();
    const counter = countStatements();
    try {
      await call(server, 'GET', '/api/v1/me');
      await call(server, 'POST', '/api/v1/access-check', { json: { permissions: ['add_user'] } });
      await call(server, 'POST', '/api/v1/applications', { json: { name: 'x' } });
      await call(server, 'POST', '/access/v1/evaluation', { json: {} });
      expect(counter.count).toBe(0);
    } finally {
      counter.restore();
    }
  });

  it('an unsupported or malformed Authorization header is a 401 with the challenges', async () => {
    for (const auth of ['Digest username="x"', 'Token', 'Token a b', 'Bearer']) {
      const res = await call(server, 'GET', '/api/v1/me', { auth });
      expect(res.status, auth).toBe(401);
      expectChallenges(res);
    }
  });
});

describe('Token (API tokens)', () => {
  it('GET /api/v1/me gives the user, roles, organisations and the permissions the token holds', async () => {
    const user = await makeUser(server.services, { permissions: ['view_user', 'add_user', 'view_role'] });
    const { secret, token } = await makeToken(server.services, user.id);
    const res = await call(server, 'GET', '/api/v1/me', { auth: tokenAuth(secret) });
    expect(res.status, res.text).toBe(200);
    expect(res.json).toEqual({
      actor: `token:${token.id}`,
      credential: { type: 'token', id: token.id, scope: 'write', expires_at: null },
      user: { id: user.id, username: user.username, is_superuser: false },
      application: null,
      roles: [user.roleName],
      organizations: [],
      is_superuser: false,
      read_only: false,
      permissions: ['add_user', 'view_role', 'view_user'],
    });
    expect(res.headers.get('cache-control')).toBe('no-store');
  });

  it('a read-scope token holds only view_* codenames and may not use unsafe methods', async () => {
    const user = await makeUser(server.services, { permissions: ['view_user', 'add_user', 'view_application', 'add_application'] });
    const { secret } = await makeToken(server.services, user.id, { scope: 'read' });
    const me = await call(server, 'GET', '/api/v1/me', { auth: tokenAuth(secret) });
    expect(me.json?.permissions).toEqual(['view_application', 'view_user']);
    expect(me.json?.read_only).toBe(true);

    // The user may add applications; the read token may not even try, whatever the route.
    for (const [method, path] of [
      ['POST', '/api/v1/applications'],
      ['POST', '/api/v1/keys/rotations'],
      ['DELETE', '/api/v1/applications/x'],
    ] as const) {
      const res = await call(server, method, path, { auth: tokenAuth(secret), json: method === 'POST' ? {} : undefined });
      expectProblem(res, 403, 'auth.read_only');
      expect(res.headers.get('www-authenticate')).toBeNull();
    }
    // Asking is reading: access-check is a POST with a body, and allowed.
    const check = await call(server, 'POST', '/api/v1/access-check', {
      auth: tokenAuth(secret),
      json: { permissions: ['view_user', 'add_user'] },
    });
    expect(check.status, check.text).toBe(200);
    expect(check.json).toEqual({ allowed: false, granted: ['view_user'], denied: ['add_user'] });
  });

  it('a valid token without the permission a route needs gets 403 problem+json, no challenge', async () => {
    const user = await makeUser(server.services, { permissions: ['view_user'] });
    const { secret } = await makeToken(server.services, user.id);
    const res = await call(server, 'GET', '/api/v1/permissions', { auth: tokenAuth(secret) });
    expectProblem(res, 403, 'auth.forbidden');
    expect(res.headers.get('www-authenticate')).toBeNull();
  });

  it('an unknown, malformed or revoked token gets 401 invalid_token at once', async () => {
    const user = await makeUser(server.services, { permissions: ['view_user'] });
    const { secret, token } = await makeToken(server.services, user.id);
    expect((await call(server, 'GET', '/api/v1/me', { auth: tokenAuth(secret) })).status).toBe(200);
    await server.services.apiTokens.revoke({ userId: null, isSuperuser: true, permissions: new Set(), actor: 'test' }, token.id);
    const revoked = await call(server, 'GET', '/api/v1/me', { auth: tokenAuth(secret) });
    expectProblem(revoked, 401, 'auth.invalid_token');
    expectChallenges(revoked);
    for (const other of [`${secret.slice(0, -1)}x`, 'not-a-token', 'ghat_short']) {
      expectProblem(await call(server, 'GET', '/api/v1/me', { auth: tokenAuth(other) }), 401, 'auth.invalid_token');
    }
  });

  it('a deactivated user’s token stops at once', async () => {
    const user = await makeUser(server.services, { permissions: ['view_user'] });
    const { secret } = await makeToken(server.services, user.id);
    expect((await call(server, 'GET', '/api/v1/me', { auth: tokenAuth(secret) })).status).toBe(200);
    await server.services.users.deactivate({ userId: null, isSuperuser: true, permissions: new Set(), actor: 'test' }, user.id);
    expectProblem(await call(server, 'GET', '/api/v1/me', { auth: tokenAuth(secret) }), 401, 'auth.invalid_token');
  });

  it('Bearer <API token> is accepted as Token', async () => {
    const user = await makeUser(server.services, { permissions: ['view_user'] });
    const { secret, token } = await makeToken(server.services, user.id);
    const res = await call(server, 'GET', '/api/v1/me', { auth: bearerAuth(secret) });
    expect(res.status, res.text).toBe(200);
    expect(res.json?.actor).toBe(`token:${token.id}`);
  });
});

describe('Bearer (access tokens for the admin API)', () => {
  it('a client-credentials token acts as its application, with the codenames granted to it', async () => {
    const client = await makeAdminClient(server, ['view_user', 'add_mediasource']);
    const token = await clientCredentialsToken(server, client);
    const res = await call(server, 'GET', '/api/v1/me', { auth: bearerAuth(token) });
    expect(res.status, res.text).toBe(200);
    expect(res.json).toMatchObject({
      actor: `application:${client.clientId}`,
      credential: { type: 'bearer', client_id: client.clientId },
      user: null,
      application: { id: client.application.id, client_id: client.clientId },
      roles: [],
      organizations: [],
      is_superuser: false,
      permissions: ['add_mediasource', 'view_user'],
    });
    const forbidden = await call(server, 'GET', '/api/v1/applications', { auth: bearerAuth(token) });
    expectProblem(forbidden, 403, 'auth.forbidden');
  });

  it('a token whose sub is a user acts as that user', async () => {
    const user = await makeUser(server.services, { permissions: ['view_user', 'change_user'] });
    const client = await makeAdminClient(server);
    const token = await signedAccessToken(server, { sub: user.id, client_id: client.clientId, scope: 'write' });
    const res = await call(server, 'GET', '/api/v1/me', { auth: bearerAuth(token) });
    expect(res.status, res.text).toBe(200);
    expect(res.json).toMatchObject({
      actor: `user:${user.id}`,
      credential: { type: 'bearer', client_id: client.clientId, scope: 'write' },
      user: { id: user.id, username: user.username },
      roles: [user.roleName],
      read_only: false,
      permissions: ['change_user', 'view_user'],
    });
  });

  it('a token whose scope lacks write is read-only, like a read API token', async () => {
    const user = await makeUser(server.services, { permissions: ['view_user', 'change_user'] });
    const client = await makeAdminClient(server);
    const token = await signedAccessToken(server, { sub: user.id, client_id: client.clientId, scope: 'read' });
    const me = await call(server, 'GET', '/api/v1/me', { auth: bearerAuth(token) });
    expect(me.json).toMatchObject({ read_only: true, permissions: ['view_user'] });
    expectProblem(await call(server, 'POST', '/api/v1/applications', { auth: bearerAuth(token), json: {} }), 403, 'auth.read_only');
  });

  it('refuses a token for another API, another issuer, an expired one, a bad signature and a DPoP-bound one', async () => {
    const user = await makeUser(server.services, { permissions: ['view_user'] });
    const client = await makeAdminClient(server);
    const good = { sub: user.id, client_id: client.clientId };
    const now = Math.floor(Date.now() / 1000);
    const other = await makeClient(server.services);
    const cases: Record<string, string> = {
      'other audience': await signedAccessToken(server, { ...good, aud: 'https://api.example.test' }),
      'other issuer': await signedAccessToken(server, { ...good, iss: 'https://evil.example.test' }),
      expired: await signedAccessToken(server, { ...good, iat: now - 600, exp: now - 60 }),
      'DPoP-bound': await signedAccessToken(server, { ...good, cnf: { jkt: 'x'.repeat(43) } }),
      'unknown user': await signedAccessToken(server, { ...good, sub: 'usr_nobody' }),
      'unknown client': await signedAccessToken(server, {
        ...good,
        client_id: 'no-such-client',
      }),
      'application token of another client': await signedAccessToken(server, { sub: other.clientId, client_id: client.clientId }),
    };
    const valid = await signedAccessToken(server, good);
    cases['bad signature'] = `${valid.slice(0, -4)}AAAA`;
    expect((await call(server, 'GET', '/api/v1/me', { auth: bearerAuth(valid) })).status).toBe(200);
    for (const [label, token] of Object.entries(cases)) {
      const res = await call(server, 'GET', '/api/v1/me', { auth: bearerAuth(token) });
      expect(res.status, label).toBe(401);
      expect(res.json?.code, label).toBe('auth.invalid_token');
      expectChallenges(res, 'invalid_token');
    }
  });

  it('a token revoked at the revocation endpoint is refused at once', async () => {
    const client = await makeAdminClient(server, ['view_user']);
    const token = await clientCredentialsToken(server, client);
    expect((await call(server, 'GET', '/api/v1/me', { auth: bearerAuth(token) })).status).toBe(200);
    const revoked = await send(`${server.url}/oauth/revoke`, {
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token, client_id: client.clientId, client_secret: client.clientSecret }).toString(),
    });
    expect(revoked.status, revoked.text).toBe(200);
    expectProblem(await call(server, 'GET', '/api/v1/me', { auth: bearerAuth(token) }), 401, 'auth.invalid_token');
  });

  it('a token of a client whose application is deleted is refused at once', async () => {
    const client = await makeAdminClient(server, ['view_user']);
    const token = await clientCredentialsToken(server, client);
    expect((await call(server, 'GET', '/api/v1/me', { auth: bearerAuth(token) })).status).toBe(200);
    await server.services.applications.remove(client.clientId, 'test');
    expectProblem(await call(server, 'GET', '/api/v1/me', { auth: bearerAuth(token) }), 401, 'auth.invalid_token');
  });

  it('a token for a plain API (not the admin API) is refused', async () => {
    const { makeMachineSetup } = await import('../support/fixtures.ts');
    const setup = await makeMachineSetup(server.services);
    const res = await basicTokenRequest(server.url, setup, { audience: setup.api.identifier });
    expect(res.status, res.text).toBe(200);
    const refused = await call(server, 'GET', '/api/v1/me', { auth: bearerAuth(res.json?.access_token as string) });
    expectProblem(refused, 401, 'auth.invalid_token');
  });
});

describe('Basic (username and password)', () => {
  it('GET /api/v1/me acts as the user; a wrong password and an unknown user read the same', async () => {
    const password = 'correct horse battery staple';
    const user = await makeUser(server.services, { permissions: ['view_user'], password });
    const res = await call(server, 'GET', '/api/v1/me', { auth: basicAuth(user.username, password) });
    expect(res.status, res.text).toBe(200);
    expect(res.json).toMatchObject({ actor: `user:${user.id}`, credential: { type: 'basic' }, permissions: ['view_user'] });

    const wrong = await call(server, 'GET', '/api/v1/me', { auth: basicAuth(user.username, 'wrong password') });
    const unknown = await call(server, 'GET', '/api/v1/me', { auth: basicAuth(uniqueName('nobody'), 'wrong password') });
    expectProblem(wrong, 401, 'auth.invalid_credentials');
    expectChallenges(wrong);
    expect(unknown.status).toBe(401);
    expect(unknown.json).toEqual(wrong.json);
  });

  it('a password containing a colon works (RFC 7617: the user-id holds none)', async () => {
    const password = 'a:b:c';
    const user = await makeUser(server.services, { password });
    expect((await call(server, 'GET', '/api/v1/me', { auth: basicAuth(user.username, password) })).status).toBe(200);
  });

  it('a username with control characters is refused like an unknown one, without reaching a query', async () => {
    const res = await call(server, 'GET', '/api/v1/me', { auth: basicAuth('ali\u0000ce', 'whatever') });
    expectProblem(res, 401, 'auth.invalid_credentials');
  });

  it('an inactive user is refused like a wrong password', async () => {
    const password = 'correct horse battery staple';
    const user = await makeUser(server.services, { password });
    await server.services.users.deactivate({ userId: null, isSuperuser: true, permissions: new Set(), actor: 'test' }, user.id);
    expectProblem(await call(server, 'GET', '/api/v1/me', { auth: basicAuth(user.username, password) }), 401, 'auth.invalid_credentials');
  });
});

describe('expiry', () => {
  let timed: TestServer;
  const clock = manualClock();
  beforeAll(async () => {
    timed = await startTestServer({ env: { ...CHEAP_PASSWORDS }, clock });
  });
  afterAll(() => timed?.close());

  it('an API token is refused the moment it expires [Token]', async () => {
    const user = await makeUser(timed.services, { permissions: ['view_user'] });
    const { secret } = await makeToken(timed.services, user.id, { expiresInSeconds: 60 });
    const me = await call(timed, 'GET', '/api/v1/me', { auth: tokenAuth(secret) });
    expect(me.status, me.text).toBe(200);
    expect(me.json?.credential).toMatchObject({ expires_at: new Date(clock.now().getTime() + 60_000).toISOString() });
    clock.advance(59);
    expect((await call(timed, 'GET', '/api/v1/me', { auth: tokenAuth(secret) })).status).toBe(200);
    clock.advance(1);
    const expired = await call(timed, 'GET', '/api/v1/me', { auth: tokenAuth(secret) });
    expect(expired.status).toBe(401);
    expect(expired.json?.code).toBe('auth.invalid_token');
  });
});

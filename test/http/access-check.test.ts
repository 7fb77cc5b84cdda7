import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemPrincipal } from '../../src/domain/access/principal.ts';
import {
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
import { makeApi } from '../support/fixtures.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import type { RawResponse } from '../support/tokens.ts';

/**
 * POST /api/v1/access-check: which of the asked permissions the caller holds, in one round trip,
 * for every credential kind; the "can I write?" probe an API makes before it does work.
 */

let server: TestServer;
let api: string;
beforeAll(async () => {
  server = await startTestServer({ env: { ...CHEAP_PASSWORDS } });
  await registerAdminApi(server);
  api = (await makeApi(server.services)).identifier;
  // add_mediasource and change_mediasource belong to the media API; view_user to none.
  await server.services.permissions.create(systemPrincipal, { codename: 'add_mediasource', api });
  await server.services.permissions.create(systemPrincipal, { codename: 'change_mediasource', api });
});
afterAll(() => server?.close());

const check = (auth: string, body: unknown) => call(server, 'POST', '/api/v1/access-check', { auth, json: body });

function expectDecision(res: RawResponse, granted: string[], denied: string[]) {
  expect(res.status, res.text).toBe(200);
  expect(res.json).toEqual({ allowed: denied.length === 0, granted, denied });
}

describe('POST /api/v1/access-check', () => {
  it('answers each asked codename once, in order [Token]', async () => {
    const user = await makeUser(server.services, { permissions: ['view_user', 'add_mediasource'] });
    const { secret } = await makeToken(server.services, user.id);
    const res = await check(tokenAuth(secret), { permissions: ['add_mediasource', 'delete_user', 'view_user', 'add_mediasource'] });
    expectDecision(res, ['add_mediasource', 'view_user'], ['delete_user']);
    expectDecision(await check(tokenAuth(secret), { permissions: ['view_user'] }), ['view_user'], []);
  });

  it('applies the token’s narrowing [Token, read scope and explicit codenames]', async () => {
    const user = await makeUser(server.services, { permissions: ['view_user', 'add_mediasource', 'change_mediasource'] });
    const read = await makeToken(server.services, user.id, { scope: 'read' });
    expectDecision(
      await check(tokenAuth(read.secret), { permissions: ['view_user', 'add_mediasource'] }),
      ['view_user'],
      ['add_mediasource'],
    );
    const narrowed = await makeToken(server.services, user.id, { permissions: ['add_mediasource'] });
    expectDecision(
      await check(tokenAuth(narrowed.secret), { permissions: ['add_mediasource', 'change_mediasource'] }),
      ['add_mediasource'],
      ['change_mediasource'],
    );
  });

  it('with api, grants only codenames of that API, even to a superuser [Token]', async () => {
    const user = await makeUser(server.services, { permissions: ['view_user', 'add_mediasource'] });
    const { secret } = await makeToken(server.services, user.id);
    expectDecision(
      await check(tokenAuth(secret), { permissions: ['add_mediasource', 'view_user'], api }),
      ['add_mediasource'],
      ['view_user'],
    );
    const root = await makeUser(server.services, { isSuperuser: true });
    const rootToken = await makeToken(server.services, root.id);
    expectDecision(
      await check(tokenAuth(rootToken.secret), { permissions: ['add_mediasource', 'view_user', 'fly_spaceship'], api }),
      ['add_mediasource'],
      ['view_user', 'fly_spaceship'],
    );
    // Without api a superuser holds everything, modelled or not.
    expectDecision(await check(tokenAuth(rootToken.secret), { permissions: ['fly_spaceship'] }), ['fly_spaceship'], []);
    // An API nobody registered grants nothing.
    expectDecision(
      await check(tokenAuth(secret), { permissions: ['add_mediasource'], api: 'https://nowhere.example.test' }),
      [],
      ['add_mediasource'],
    );
  });

  it('answers for the application itself [Bearer, client credentials]', async () => {
    const client = await makeAdminClient(server, ['add_mediasource']);
    const token = await clientCredentialsToken(server, client);
    expectDecision(
      await check(bearerAuth(token), { permissions: ['add_mediasource', 'change_mediasource'], api }),
      ['add_mediasource'],
      ['change_mediasource'],
    );
  });

  it('answers for the user [Bearer, user token]', async () => {
    const user = await makeUser(server.services, { permissions: ['change_mediasource'] });
    const client = await makeAdminClient(server);
    const token = await signedAccessToken(server, { sub: user.id, client_id: client.clientId, scope: 'write' });
    expectDecision(
      await check(bearerAuth(token), { permissions: ['change_mediasource', 'add_mediasource'] }),
      ['change_mediasource'],
      ['add_mediasource'],
    );
  });

  it('answers for the user [Basic]', async () => {
    const password = 'correct horse battery staple';
    const user = await makeUser(server.services, { permissions: ['view_user'], password });
    expectDecision(
      await check(basicAuth(user.username, password), { permissions: ['view_user', 'add_user'] }),
      ['view_user'],
      ['add_user'],
    );
  });

  it('answers 401 without credentials', async () => {
    const res = await call(server, 'POST', '/api/v1/access-check', { json: { permissions: ['view_user'] } });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toContain('Token');
  });

  it('refuses a bad body with a 4xx problem, never a 500', async () => {
    const user = await makeUser(server.services, { permissions: ['view_user'] });
    const { secret } = await makeToken(server.services, user.id);
    const auth = tokenAuth(secret);
    const cases: Array<[string, unknown, number, string]> = [
      ['no permissions', {}, 400, 'guard.invalid_input'],
      ['empty list', { permissions: [] }, 400, 'guard.invalid_input'],
      ['not a codename', { permissions: ['View User'] }, 400, 'guard.invalid_input'],
      ['wrong type', { permissions: 'view_user' }, 400, 'guard.invalid_input'],
      ['unknown field', { permissions: ['view_user'], user: 'alice' }, 400, 'guard.invalid_input'],
      ['api not a string', { permissions: ['view_user'], api: 3 }, 400, 'guard.invalid_input'],
      ['too many', { permissions: Array.from({ length: 501 }, (_, i) => `view_thing${i}`) }, 400, 'guard.invalid_input'],
      ['not JSON', '{"permissions": [', 400, 'request.invalid_json'],
    ];
    for (const [label, body, status, code] of cases) {
      const res = await check(auth, body);
      expect({ label, status: res.status, code: res.json?.code }, res.text).toEqual({ label, status, code });
      expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    }
    const form = await call(server, 'POST', '/api/v1/access-check', {
      auth,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      json: 'permissions=view_user',
    });
    expect(form.status).toBe(415);
  });

  it('is the same decision as GET /me lists [every credential kind agrees]', async () => {
    const password = 'correct horse battery staple';
    const user = await makeUser(server.services, { permissions: ['view_user', 'change_user'], password, username: uniqueName('agree') });
    const { secret } = await makeToken(server.services, user.id, { scope: 'read' });
    for (const auth of [tokenAuth(secret), basicAuth(user.username, password)]) {
      const me = await call(server, 'GET', '/api/v1/me', { auth });
      const asked = ['view_user', 'change_user', 'delete_user'];
      const res = await check(auth, { permissions: asked });
      const held = (me.json?.permissions ?? []) as string[];
      expect(res.json?.granted).toEqual(asked.filter((c) => held.includes(c)));
    }
  });
});

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
} from '../support/admin-http.ts';
import { makeApi } from '../support/fixtures.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import type { RawResponse } from '../support/tokens.ts';

/**
 * The OpenID AuthZEN Authorization API 1.0 (https://openid.net/specs/authorization-api-1_0.html):
 * POST /access/v1/evaluation and /access/v1/evaluations, the caller being the PEP, authenticated
 * as for /api/v1. `action.name` is a codename; a PEP asks about itself freely, about another
 * subject with `view_access`.
 */

let server: TestServer;
let api: string;
const PASSWORD = 'correct horse battery staple';
beforeAll(async () => {
  server = await startTestServer({ env: { ...CHEAP_PASSWORDS } });
  await registerAdminApi(server);
  api = (await makeApi(server.services)).identifier;
  await server.services.permissions.create(systemPrincipal, { codename: 'add_mediasource', api });
  await server.services.permissions.create(systemPrincipal, { codename: 'change_mediasource', api });
});
afterAll(() => server?.close());

const evaluation = (auth: string | undefined, body: unknown, headers: Record<string, string> = {}) =>
  call(server, 'POST', '/access/v1/evaluation', { ...(auth ? { auth } : {}), json: body, headers });
const evaluations = (auth: string | undefined, body: unknown) =>
  call(server, 'POST', '/access/v1/evaluations', { ...(auth ? { auth } : {}), json: body });
const user = (id: string) => ({ type: 'user', id });
const action = (name: string) => ({ name });
const document = { type: 'document', id: '123' };

/** §10.1.2: the status, and the error message as the body. */
function expectError(res: RawResponse, status: number) {
  expect(res.status, res.text).toBe(status);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
  expect(res.text.length).toBeGreaterThan(0);
}

describe('POST /access/v1/evaluation', () => {
  it('decides whether the caller holds the action’s codename [Token]', async () => {
    const alice = await makeUser(server.services, { permissions: ['add_mediasource'] });
    const { secret } = await makeToken(server.services, alice.id);
    const allow = await evaluation(tokenAuth(secret), { subject: user(alice.id), action: action('add_mediasource'), resource: document });
    expect(allow.status, allow.text).toBe(200);
    expect(allow.headers.get('content-type')).toMatch(/^application\/json/);
    expect(allow.json).toEqual({ decision: true });
    const deny = await evaluation(tokenAuth(secret), { subject: user(alice.id), action: action('change_mediasource'), resource: document });
    expect(deny.json).toEqual({ decision: false });
  });

  it('answers for the caller’s credential: a read token is denied what its user may write', async () => {
    const alice = await makeUser(server.services, { permissions: ['view_user', 'add_mediasource'] });
    const { secret } = await makeToken(server.services, alice.id, { scope: 'read' });
    const ask = (name: string) => evaluation(tokenAuth(secret), { subject: user(alice.id), action: action(name), resource: document });
    expect((await ask('view_user')).json).toEqual({ decision: true });
    expect((await ask('add_mediasource')).json).toEqual({ decision: false });
  });

  it('a resource of type api asks about that API’s codenames only', async () => {
    const alice = await makeUser(server.services, { permissions: ['view_user', 'add_mediasource'] });
    const { secret } = await makeToken(server.services, alice.id);
    const ask = (name: string) =>
      evaluation(tokenAuth(secret), { subject: user(alice.id), action: action(name), resource: { type: 'api', id: api } });
    expect((await ask('add_mediasource')).json).toEqual({ decision: true });
    expect((await ask('view_user')).json).toEqual({ decision: false });
  });

  it('answers for an application PEP about itself [Bearer, client credentials]', async () => {
    const client = await makeAdminClient(server, ['add_mediasource']);
    const token = await clientCredentialsToken(server, client);
    const subject = { type: 'application', id: client.clientId };
    expect((await evaluation(bearerAuth(token), { subject, action: action('add_mediasource'), resource: document })).json).toEqual({
      decision: true,
    });
    expect((await evaluation(bearerAuth(token), { subject, action: action('change_mediasource'), resource: document })).json).toEqual({
      decision: false,
    });
  });

  it('answers for a user [Bearer user token, Basic]', async () => {
    const alice = await makeUser(server.services, { permissions: ['change_mediasource'], password: PASSWORD });
    const client = await makeAdminClient(server);
    const token = await signedAccessToken(server, { sub: alice.id, client_id: client.clientId, scope: 'write' });
    for (const auth of [bearerAuth(token), basicAuth(alice.username, PASSWORD)]) {
      const res = await evaluation(auth, { subject: user(alice.id), action: action('change_mediasource'), resource: document });
      expect(res.json, auth.split(' ')[0]).toEqual({ decision: true });
    }
  });

  it('asking about another subject needs view_access: 403 without it', async () => {
    const alice = await makeUser(server.services, { permissions: ['add_mediasource'] });
    const pep = await makeUser(server.services, { permissions: ['add_mediasource'] });
    const { secret } = await makeToken(server.services, pep.id);
    const res = await evaluation(tokenAuth(secret), { subject: user(alice.id), action: action('add_mediasource'), resource: document });
    expectError(res, 403);
    expect(res.text).toContain('view_access');
  });

  it('with view_access a PEP asks about any user or application, answered with their own permissions', async () => {
    const alice = await makeUser(server.services, { permissions: ['add_mediasource'] });
    const bob = await makeUser(server.services, { permissions: ['view_user'] });
    const app = await makeAdminClient(server, ['change_mediasource']);
    const pep = await makeAdminClient(server, ['view_access']);
    const auth = bearerAuth(await clientCredentialsToken(server, pep));
    const ask = async (subject: unknown, name: string) =>
      (await evaluation(auth, { subject, action: action(name), resource: document })).json;
    expect(await ask(user(alice.id), 'add_mediasource')).toEqual({ decision: true });
    expect(await ask(user(bob.id), 'add_mediasource')).toEqual({ decision: false });
    expect(await ask({ type: 'application', id: app.clientId }, 'change_mediasource')).toEqual({ decision: true });
    // Unknown subjects and subject types are denied, with a reason.
    expect(await ask(user('usr_nobody'), 'add_mediasource')).toMatchObject({ decision: false, context: { reason: expect.any(String) } });
    expect(await ask({ type: 'group', id: 'editors' }, 'add_mediasource')).toMatchObject({ decision: false });
  });

  it('ignores unknown fields, properties and context (§10.1.1)', async () => {
    const alice = await makeUser(server.services, { permissions: ['add_mediasource'] });
    const { secret } = await makeToken(server.services, alice.id);
    const res = await evaluation(tokenAuth(secret), {
      subject: { ...user(alice.id), properties: { department: 'Sales', ip_address: '172.217.22.14' } },
      action: { name: 'add_mediasource', properties: { method: 'POST' } },
      resource: { type: 'mediasource', id: 'm-1', properties: { owner: 'alice' } },
      context: { time: '1985-10-26T01:22-07:00' },
      extension: { anything: true },
    });
    expect(res.json).toEqual({ decision: true });
  });

  it('echoes X-Request-ID (§10.1.3)', async () => {
    const alice = await makeUser(server.services);
    const { secret } = await makeToken(server.services, alice.id);
    const id = 'bfe9eb29-ab87-4ca3-be83-a1d5d8305716';
    const res = await evaluation(
      tokenAuth(secret),
      { subject: user(alice.id), action: action('view_user'), resource: document },
      { 'x-request-id': id },
    );
    expect(res.headers.get('x-request-id')).toBe(id);
  });

  it('a malformed request is a 400 with the error message as text', async () => {
    const alice = await makeUser(server.services);
    const { secret } = await makeToken(server.services, alice.id);
    const auth = tokenAuth(secret);
    const good = { subject: user(alice.id), action: action('view_user'), resource: document };
    const cases: Record<string, unknown> = {
      'no subject': { action: good.action, resource: good.resource },
      'no action': { subject: good.subject, resource: good.resource },
      'no resource': { subject: good.subject, action: good.action },
      'subject without id': { ...good, subject: { type: 'user' } },
      'resource without type': { ...good, resource: { id: '1' } },
      'action without name': { ...good, action: {} },
      'id not a string': { ...good, subject: { type: 'user', id: 42 } },
      'properties not an object': { ...good, subject: { ...good.subject, properties: ['x'] } },
      'context not an object': { ...good, context: 'now' },
      'not an object': [good],
      null: null,
      'not JSON': '{"subject":',
    };
    for (const [label, body] of Object.entries(cases)) {
      const res = await evaluation(auth, typeof body === 'string' ? body : JSON.stringify(body));
      expect(res.status, `${label}: ${res.text}`).toBe(400);
      expect(res.headers.get('content-type'), label).toMatch(/^text\/plain/);
    }
    const form = await call(server, 'POST', '/access/v1/evaluation', {
      auth,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      json: 'subject=x',
    });
    expectError(form, 400);
  });

  it('answers 401 with WWW-Authenticate without credentials or with bad ones', async () => {
    const body = { subject: user('usr_x'), action: action('view_user'), resource: document };
    for (const auth of [undefined, 'Token nope', bearerAuth('a.b.c')]) {
      const res = await evaluation(auth, body);
      expectError(res, 401);
      expect(res.headers.get('www-authenticate')).toContain('Bearer');
    }
  });

  it('only POST: another method is 405', async () => {
    const res = await call(server, 'GET', '/access/v1/evaluation');
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toContain('POST');
  });
});

describe('POST /access/v1/evaluations', () => {
  it('answers each evaluation in order, top-level values as defaults that items override (§7.1.1)', async () => {
    const alice = await makeUser(server.services, { permissions: ['add_mediasource', 'view_user'] });
    const { secret } = await makeToken(server.services, alice.id);
    const res = await evaluations(tokenAuth(secret), {
      subject: user(alice.id),
      action: action('add_mediasource'),
      context: { time: '2024-05-31T15:22-07:00' },
      evaluations: [
        { resource: { type: 'document', id: '1' } },
        { resource: { type: 'document', id: '2' }, action: action('change_mediasource') },
        { resource: { type: 'api', id: api }, action: action('view_user') },
        { resource: { type: 'document', id: '4' }, action: action('view_user') },
      ],
    });
    expect(res.status, res.text).toBe(200);
    expect(res.json).toEqual({ evaluations: [{ decision: true }, { decision: false }, { decision: false }, { decision: true }] });
  });

  it('deny_on_first_deny stops at the first deny; permit_on_first_permit at the first permit (§7.1.2.1)', async () => {
    const alice = await makeUser(server.services, { permissions: ['add_mediasource'] });
    const { secret } = await makeToken(server.services, alice.id);
    const items = [{ action: action('add_mediasource') }, { action: action('change_mediasource') }, { action: action('add_mediasource') }];
    const ask = (semantic?: string) =>
      evaluations(tokenAuth(secret), {
        subject: user(alice.id),
        resource: document,
        ...(semantic ? { options: { evaluations_semantic: semantic } } : {}),
        evaluations: items,
      });
    expect((await ask()).json).toEqual({ evaluations: [{ decision: true }, { decision: false }, { decision: true }] });
    expect((await ask('execute_all')).json).toEqual({ evaluations: [{ decision: true }, { decision: false }, { decision: true }] });
    expect((await ask('deny_on_first_deny')).json).toEqual({
      evaluations: [{ decision: true }, { decision: false, context: { code: '200', reason: 'deny_on_first_deny' } }],
    });
    expect((await ask('permit_on_first_permit')).json).toEqual({ evaluations: [{ decision: true }] });
    const unknown = await ask('majority_vote');
    expectError(unknown, 400);
  });

  it('without items (absent or empty) is a single evaluation, answered as one (§7.1)', async () => {
    const alice = await makeUser(server.services, { permissions: ['add_mediasource'] });
    const { secret } = await makeToken(server.services, alice.id);
    const single = { subject: user(alice.id), action: action('add_mediasource'), resource: document };
    expect((await evaluations(tokenAuth(secret), single)).json).toEqual({ decision: true });
    expect((await evaluations(tokenAuth(secret), { ...single, evaluations: [] })).json).toEqual({ decision: true });
    expectError(await evaluations(tokenAuth(secret), { evaluations: [] }), 400);
  });

  it('an item about another subject without view_access is its own deny with the error, not the request’s (§7.2)', async () => {
    const alice = await makeUser(server.services, { permissions: ['add_mediasource'] });
    const bob = await makeUser(server.services, { permissions: ['add_mediasource'] });
    const { secret } = await makeToken(server.services, alice.id);
    const res = await evaluations(tokenAuth(secret), {
      action: action('add_mediasource'),
      resource: document,
      evaluations: [{ subject: user(alice.id) }, { subject: user(bob.id) }],
    });
    expect(res.status, res.text).toBe(200);
    expect(res.json).toEqual({
      evaluations: [
        { decision: true },
        { decision: false, context: { error: { status: 403, message: expect.stringContaining('view_access') } } },
      ],
    });
  });

  it('an item missing a required value after the defaults is a 400 naming it', async () => {
    const alice = await makeUser(server.services);
    const { secret } = await makeToken(server.services, alice.id);
    const res = await evaluations(tokenAuth(secret), {
      subject: user(alice.id),
      resource: document,
      evaluations: [{ action: action('view_user') }, { resource: document }],
    });
    expectError(res, 400);
    expect(res.text).toContain('evaluations[1]');
    expect(res.text).toContain('action');
    const tooMany = await evaluations(tokenAuth(secret), {
      subject: user(alice.id),
      resource: document,
      action: action('view_user'),
      evaluations: Array.from({ length: 501 }, () => ({})),
    });
    expectError(tooMany, 400);
  });
});

describe('GET /.well-known/authzen-configuration', () => {
  it('publishes the PDP metadata, derived from the issuer (§9)', async () => {
    const res = await call(server, 'GET', '/.well-known/authzen-configuration');
    expect(res.status).toBe(200);
    expect(res.json).toEqual({
      policy_decision_point: server.url,
      access_evaluation_endpoint: `${server.url}/access/v1/evaluation`,
      access_evaluations_endpoint: `${server.url}/access/v1/evaluations`,
    });
  });
});

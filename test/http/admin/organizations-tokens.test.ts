import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemPrincipal } from '../../../src/domain/access/principal.ts';
import { type AdminApi, type Caller, makeToken, makeUser, startAdminApi, unique } from '../../support/admin-api.ts';

/**
 * /api/v1/organizations (+ members) and /api/v1/tokens (+ users/{id}/tokens) for every kind of
 * caller: membership edits cannot lift anyone above the editor, an organisation is invisible to
 * outsiders, a token's secret appears once, and a revoked token stops working at once.
 */
interface Page<T> {
  count: number;
  results: T[];
}
interface Token {
  id: string;
  token: string;
  user: string;
  scope: string;
  revoked_at: string | null;
}

describe('/api/v1/organizations', { timeout: 60_000 }, () => {
  let api: AdminApi;
  const as = (user: { id: string }): Caller => ({ user: user.id });

  beforeAll(async () => {
    api = await startAdminApi();
  });
  afterAll(() => api?.close());

  it('its creator administers it; outsiders get 404; members edits follow the no-escalation rule', async () => {
    const founder = await makeUser(api.services, { permissions: ['add_organization', 'view_user'] });
    const created = await api.request<{ id: string; name: string }>(as(founder), 'POST', '/organizations', {
      body: { name: unique('org') },
    });
    expect(created.status).toBe(201);
    const org = created.body.id;
    const members = await api.request<Page<{ user: string; role: string }>>(as(founder), 'GET', `/organizations/${org}/members`);
    expect(members.body.results).toEqual([expect.objectContaining({ user: founder.id, role: 'admin' })]);
    const mine = await api.request<Page<{ id: string }>>(as(founder), 'GET', '/organizations');
    expect(mine.body.results.map((o) => o.id)).toEqual([org]);

    const outsider = await makeUser(api.services);
    expect((await api.request(as(outsider), 'GET', `/organizations/${org}`)).status).toBe(404);
    expect((await api.request(as(outsider), 'GET', `/organizations/${org}/members`)).status).toBe(404);
    expect((await api.request(as(outsider), 'PATCH', `/organizations/${org}`, { body: { name: 'mine now' } })).status).toBe(404);
    expect((await api.request(as(outsider), 'POST', `/organizations/${org}/members`, { body: { user: outsider.id } })).status).toBe(404);
    expect((await api.request<Page<unknown>>(as(outsider), 'GET', '/organizations')).body.count).toBe(0);

    // an admin brings in only users who hold nothing the admin lacks
    const peer = await makeUser(api.services, { permissions: ['view_user'] });
    const root = await makeUser(api.services, { isSuperuser: true });
    const richer = await makeUser(api.services, { permissions: ['delete_user'] });
    const added = await api.request(as(founder), 'POST', `/organizations/${org}/members`, { body: { user: peer.id, role: 'member' } });
    expect(added.status).toBe(201);
    for (const target of [root, richer]) {
      const res = await api.request(as(founder), 'POST', `/organizations/${org}/members`, { body: { user: target.id, role: 'member' } });
      expect(res.status).toBe(403);
      expect(res.body.code).toBe('organization.escalation');
    }
    // a member cannot make themselves admin, nor add anyone
    const self = await api.request(as(peer), 'PATCH', `/organizations/${org}/members/${peer.id}`, { body: { role: 'admin' } });
    expect(self.status).toBe(403);
    expect(self.body.code).toBe('organization.not_admin');
    expect((await api.request(as(peer), 'POST', `/organizations/${org}/members`, { body: { user: outsider.id } })).status).toBe(403);

    // If-Match on a membership; the last admin stays; anyone may leave
    const membership = await api.request(as(founder), 'GET', `/organizations/${org}/members`);
    expect(membership.status).toBe(200);
    const promoted = await api.request(as(founder), 'PATCH', `/organizations/${org}/members/${peer.id}`, {
      body: { role: 'admin' },
      headers: { 'if-match': '"stale"' },
    });
    expect(promoted.status).toBe(412);
    const last = await api.request(as(founder), 'DELETE', `/organizations/${org}/members/${founder.id}`);
    expect(last.status).toBe(409);
    expect(last.body.code).toBe('organization.last_admin');
    expect((await api.request(as(peer), 'DELETE', `/organizations/${org}/members/${peer.id}`)).status).toBe(204);
    expect((await api.request(as(peer), 'GET', `/organizations/${org}`)).status).toBe(404);
  });

  it('the operator creates, renames (If-Match) and deletes; a plain user may not create', async () => {
    const plain = await makeUser(api.services);
    expect((await api.request(as(plain), 'POST', '/organizations', { body: { name: unique('o') } })).status).toBe(403);
    const org = await api.request<{ id: string }>('operator', 'POST', '/organizations', { body: { name: unique('o') } });
    const etag = org.headers.get('etag') as string;
    const renamed = await api.request('operator', 'PATCH', `/organizations/${org.body.id}`, {
      body: { name: unique('renamed') },
      headers: { 'if-match': etag },
    });
    expect(renamed.status).toBe(200);
    expect((await api.request('operator', 'DELETE', `/organizations/${org.body.id}`, { headers: { 'if-match': etag } })).status).toBe(412);
    expect((await api.request('operator', 'DELETE', `/organizations/${org.body.id}`)).status).toBe(204);
    const dup = await api.request('operator', 'POST', '/organizations', { body: { name: '   ' } });
    expect(dup.status).toBe(400);
  });
});

describe('/api/v1/tokens', { timeout: 60_000 }, () => {
  let api: AdminApi;
  const as = (user: { id: string }): Caller => ({ user: user.id });

  beforeAll(async () => {
    api = await startAdminApi();
  });
  afterAll(() => api?.close());

  it('a user mints their own token: the secret is in the create answer only, masked everywhere after', async () => {
    const me = await makeUser(api.services, { permissions: ['view_user'] });
    const created = await api.request<Token>(as(me), 'POST', '/tokens', { body: { user: me.id, scope: 'read', name: 'ci' } });
    expect(created.status).toBe(201);
    const secret = created.body.token;
    expect(secret).toMatch(/^ghat_/);
    for (const path of ['/tokens', `/tokens/${created.body.id}`, `/users/${me.id}/tokens`, '/activity?action=api_token.']) {
      const res = await api.request('operator', 'GET', path);
      expect(res.status, path).toBe(200);
      expect(res.text, path).not.toContain(secret);
      expect(res.text, path).not.toContain(secret.slice(5, 20));
    }
    const shown = await api.request<Token>(as(me), 'GET', `/tokens/${created.body.id}`);
    expect(shown.body.token).toBe('************');
    // it works, as its user narrowed to read
    expect((await api.request({ token: secret }, 'GET', `/users/${me.id}`)).status).toBe(200);
    const mine = await api.request<Page<Token>>(as(me), 'GET', '/tokens');
    expect(mine.body.results.map((t) => t.id)).toEqual([created.body.id]);
  });

  it("another user's token is a 404; minting for another user or beyond what one holds is refused", async () => {
    const me = await makeUser(api.services);
    const other = await makeUser(api.services);
    const { token } = await makeToken(api.services, other.id);
    expect((await api.request(as(me), 'GET', `/tokens/${token.id}`)).status).toBe(404);
    expect((await api.request(as(me), 'POST', `/tokens/${token.id}/revocation`)).status).toBe(404);
    expect((await api.request(as(me), 'DELETE', `/tokens/${token.id}`)).status).toBe(404);
    expect((await api.request<Page<Token>>(as(me), 'GET', `/tokens?user=${other.id}`)).body.count).toBe(0);
    const forOther = await api.request(as(me), 'POST', '/tokens', { body: { user: other.id } });
    expect(forOther.status).toBe(403);
    expect((await api.request(as(me), 'POST', `/users/${other.id}/tokens`, { body: {} })).status).toBe(404);
    const notHeld = await api.request(as(me), 'POST', '/tokens', { body: { user: me.id, permissions: ['delete_user'] } });
    expect(notHeld.status).toBe(400);
    expect(notHeld.body.code).toBe('api_token.permissions_not_held');

    // with add_token, for someone holding more (a superuser): escalation
    const minter = await makeUser(api.services, { permissions: ['add_token', 'view_token'] });
    const root = await makeUser(api.services, { isSuperuser: true });
    const escalation = await api.request(as(minter), 'POST', '/tokens', { body: { user: root.id } });
    expect(escalation.status).toBe(403);
    expect(escalation.body.code).toBe('api_token.escalation');
    // a read token cannot mint anything
    const { secret: read } = await makeToken(api.services, minter.id, { scope: 'read' });
    expect((await api.request({ token: read }, 'POST', '/tokens', { body: { user: minter.id, scope: 'read' } })).status).toBe(403);
    // a token with explicit codenames reaches only what they name
    const { secret: narrowed } = await makeToken(api.services, minter.id, { permissions: ['view_token'] });
    expect((await api.request({ token: narrowed }, 'GET', '/tokens')).status).toBe(200);
    expect((await api.request({ token: narrowed }, 'POST', '/tokens', { body: { user: minter.id } })).status).toBe(403);
  });

  it('revoking stops the token at once and is audited with its origin; deleting removes it', async () => {
    const me = await makeUser(api.services);
    const created = await api.request<Token>(as(me), 'POST', `/users/${me.id}/tokens`, { body: { scope: 'write' } });
    const secret = created.body.token;
    expect((await api.request({ token: secret }, 'GET', `/users/${me.id}`)).status).toBe(200);
    const revoked = await api.request<Token>(as(me), 'POST', `/tokens/${created.body.id}/revocation`, {
      headers: { 'x-request-id': 'revoke-42' },
    });
    expect(revoked.status).toBe(200);
    expect(revoked.body.revoked_at).not.toBeNull();
    expect((await api.request({ token: secret }, 'GET', `/users/${me.id}`)).status).toBe(401);
    expect((await api.request<Page<Token>>(as(me), 'GET', '/tokens')).body.count).toBe(0);
    expect((await api.request<Page<Token>>(as(me), 'GET', '/tokens?include_inactive=true')).body.count).toBe(1);

    const events = await api.request<Page<{ action: string; actor: string; request_id: string; ip: string }>>(
      'operator',
      'GET',
      `/activity?object_type=api_token&object_id=${created.body.id}&order_by=at`,
    );
    expect(events.body.results.map((e) => e.action)).toEqual(['api_token.created', 'api_token.revoked']);
    expect(events.body.results[1]).toMatchObject({
      actor: `user:${me.id}`,
      request_id: 'revoke-42',
      ip: expect.stringContaining('127.0.0.1'),
    });
    expect(events.text).not.toContain(secret);

    expect((await api.request(as(me), 'DELETE', `/tokens/${created.body.id}`)).status).toBe(204);
    expect((await api.request(as(me), 'GET', `/tokens/${created.body.id}`)).status).toBe(404);
  });

  it('the operator mints for any user; a bad scope, lifetime or unknown user is a 4xx', async () => {
    const someone = await makeUser(api.services);
    const made = await api.request<Token>('operator', 'POST', '/tokens', {
      body: { user: someone.id, scope: 'read', expires_in_seconds: 3600 },
    });
    expect(made.status).toBe(201);
    expect((await api.request('operator', 'POST', '/tokens', { body: { user: someone.id, scope: 'admin' } })).status).toBe(400);
    expect((await api.request('operator', 'POST', '/tokens', { body: { user: someone.id, expires_in_seconds: 1 } })).status).toBe(400);
    expect((await api.request('operator', 'POST', '/tokens', { body: { user: 'usr_nobody' } })).status).toBe(404);
    await api.services.users.deactivate(systemPrincipal, someone.id);
    expect((await api.request('operator', 'POST', '/tokens', { body: { user: someone.id } })).status).toBe(400);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AdminApi, type Caller, makeToken, makeUser, startAdminApi, unique } from '../../support/admin-api.ts';

/**
 * /api/v1/users, /roles, /permissions and /users/{id}/roles for every kind of caller: who sees
 * whom, that no answer carries a password hash, and that nobody gains through the API a permission
 * they do not hold (issue 10, "no self-escalation through role or membership edits").
 */
interface Page<T> {
  count: number;
  results: T[];
}
interface Role {
  id: string;
  name: string;
  permissions: string[];
}

describe('/api/v1/users', { timeout: 60_000 }, () => {
  let api: AdminApi;
  const as = (user: { id: string }): Caller => ({ user: user.id });

  beforeAll(async () => {
    api = await startAdminApi();
  });
  afterAll(() => api?.close());

  it('POST /users takes username, email and password and never answers the hash; a duplicate is a 409', async () => {
    const username = unique('alice');
    const created = await api.request<{ id: string; has_password: boolean; email: string }>('operator', 'POST', '/users', {
      body: { username, email: `${username}@Example.test`, password: 'correct horse battery' },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ username, email: `${username}@example.test`, has_password: true, is_superuser: false });
    expect(created.text).not.toMatch(/argon2|password_hash|correct horse/);
    const listed = await api.request('operator', 'GET', `/users?username=${username}`);
    expect(listed.text).not.toMatch(/argon2|correct horse/);
    expect(await api.services.users.verifyPassword(username, 'correct horse battery')).not.toBeNull();
    const dup = await api.request('operator', 'POST', '/users', { body: { username } });
    expect(dup.status).toBe(409);
    expect(dup.body.code).toBe('user.username_taken');
    const short = await api.request('operator', 'POST', '/users', { body: { username: unique('b'), password: 'short' } });
    expect(short.status).toBe(400);
  });

  it('a plain user sees and changes only themselves, cannot make themselves superuser, create or delete users', async () => {
    const me = await makeUser(api.services);
    const other = await makeUser(api.services);
    const list = await api.request<Page<{ id: string }>>(as(me), 'GET', '/users');
    expect(list.body.results.map((u) => u.id)).toEqual([me.id]);
    expect((await api.request(as(me), 'GET', `/users/${other.id}`)).status).toBe(404);
    expect((await api.request(as(me), 'PATCH', `/users/${other.id}`, { body: { email: 'x@example.test' } })).status).toBe(404);
    const own = await api.request(as(me), 'PATCH', `/users/${me.id}`, { body: { email: 'me@example.test' } });
    expect(own.status).toBe(200);
    const up = await api.request(as(me), 'PATCH', `/users/${me.id}`, { body: { is_superuser: true } });
    expect(up.status).toBe(403);
    expect(up.body.code).toBe('user.superuser_required');
    expect((await api.services.users.get(me.id)).isSuperuser).toBe(false);
    expect((await api.request(as(me), 'POST', '/users', { body: { username: unique('x') } })).status).toBe(403);
    expect((await api.request(as(me), 'DELETE', `/users/${me.id}`)).status).toBe(403);
    const renamed = await api.request(as(me), 'PATCH', `/users/${me.id}`, { body: { username: 'root' } });
    expect(renamed.status).toBe(400);

    expect((await api.request(as(me), 'POST', `/users/${me.id}/password`, { body: { password: 'a new passphrase' } })).status).toBe(204);
    expect(await api.services.users.verifyPassword(me.username, 'a new passphrase')).not.toBeNull();
    expect((await api.request(as(me), 'POST', `/users/${other.id}/password`, { body: { password: 'a new passphrase' } })).status).toBe(404);
  });

  it('change_user does not reach a superuser or someone holding more; a read token changes nothing', async () => {
    const manager = await makeUser(api.services, { permissions: ['view_user', 'change_user'] });
    const root = await makeUser(api.services, { isSuperuser: true });
    const richer = await makeUser(api.services, { permissions: ['view_user', 'change_user', 'delete_user'] });
    const poorer = await makeUser(api.services, { permissions: ['view_user'] });
    for (const target of [root, richer]) {
      const res = await api.request(as(manager), 'POST', `/users/${target.id}/password`, { body: { password: 'taken over now' } });
      expect(res.status).toBe(403);
      expect(res.body.code).toBe('user.escalation');
    }
    expect((await api.request(as(manager), 'PATCH', `/users/${poorer.id}`, { body: { is_active: false } })).status).toBe(200);
    const all = await api.request<Page<unknown>>(as(manager), 'GET', '/users?page_size=200');
    expect(all.body.count).toBeGreaterThan(3);

    const { secret } = await makeToken(api.services, manager.id, { scope: 'read' });
    expect((await api.request({ token: secret }, 'GET', `/users/${poorer.id}`)).status).toBe(200);
    expect((await api.request({ token: secret }, 'PATCH', `/users/${poorer.id}`, { body: { is_active: true } })).status).toBe(403);
  });

  it('DELETE /users/{id} needs delete_user and removes the user', async () => {
    const doomed = await makeUser(api.services);
    expect((await api.request('operator', 'DELETE', `/users/${doomed.id}`)).status).toBe(204);
    expect((await api.request('operator', 'GET', `/users/${doomed.id}`)).status).toBe(404);
  });
});

describe('/api/v1/roles and /users/{id}/roles', { timeout: 60_000 }, () => {
  let api: AdminApi;
  const as = (user: { id: string }): Caller => ({ user: user.id });

  beforeAll(async () => {
    api = await startAdminApi();
  });
  afterAll(() => api?.close());

  it('a role editor cannot create, extend, grant or withdraw a role with a permission they lack', async () => {
    const editor = await makeUser(api.services, { permissions: ['view_role', 'add_role', 'change_role', 'change_user', 'view_user'] });
    const escalate = await api.request<{ details: { codenames: string[] } }>(as(editor), 'POST', '/roles', {
      body: { name: unique('admins'), permissions: ['delete_user'] },
    });
    expect(escalate.status).toBe(403);
    expect(escalate.body.details.codenames).toEqual(['delete_user']);

    const made = await api.request<Role>(as(editor), 'POST', '/roles', { body: { name: unique('viewers'), permissions: ['view_user'] } });
    expect(made.status).toBe(201);
    const extend = await api.request(as(editor), 'POST', `/roles/${made.body.id}/permissions`, { body: { permissions: ['delete_user'] } });
    expect(extend.status).toBe(403);
    const replace = await api.request(as(editor), 'PUT', `/roles/${made.body.id}/permissions`, { body: { permissions: ['delete_role'] } });
    expect(replace.status).toBe(403);
    expect((await api.services.roles.get(made.body.id)).permissions).toEqual(['view_user']);

    // a role holding more than the editor: no granting it, not even to themselves
    const big = await api.services.roles.create(
      { userId: null, isSuperuser: true, permissions: new Set(), actor: 'test' },
      { name: unique('big'), permissions: ['delete_user', 'view_user'] },
    );
    const selfGrant = await api.request(as(editor), 'POST', `/users/${editor.id}/roles`, { body: { role: big.id } });
    expect(selfGrant.status).toBe(403);
    expect(selfGrant.body.code).toBe('role.escalation');
    const holders = await api.services.access.effectivePermissions(editor.id);
    expect(holders?.permissions.has('delete_user')).toBe(false);

    // what they hold they may hand on, and take back
    const other = await makeUser(api.services);
    const granted = await api.request<Role>(as(editor), 'POST', `/users/${other.id}/roles`, { body: { role: made.body.id } });
    expect(granted.status).toBe(201);
    const roles = await api.request<Page<Role>>(as(other), 'GET', `/users/${other.id}/roles`);
    expect(roles.body.results.map((r) => r.id)).toEqual([made.body.id]);
    expect((await api.request(as(other), 'GET', `/users/${editor.id}/roles`)).status).toBe(404);
    expect((await api.request(as(editor), 'DELETE', `/users/${other.id}/roles/${made.body.id}`)).status).toBe(204);
    expect((await api.services.roles.listForUser(other.id)).length).toBe(0);
  });

  it('the role resource: list, show, rename with If-Match, its permissions page, remove one, delete', async () => {
    const role = await api.request<Role>('operator', 'POST', '/roles', {
      body: { name: unique('ops'), description: 'operations', permissions: ['view_user', 'view_role', 'view_token'] },
    });
    expect(role.status).toBe(201);
    const path = `/roles/${role.body.id}`;
    const perms = await api.request<Page<{ codename: string }>>('operator', 'GET', `${path}/permissions?page_size=2`);
    expect(perms.body.count).toBe(3);
    expect(perms.body.results.map((p) => p.codename)).toEqual(['view_role', 'view_token']);
    const etag = role.headers.get('etag') as string;
    const renamed = await api.request<Role>('operator', 'PATCH', path, { body: { name: unique('ops2') }, headers: { 'if-match': etag } });
    expect(renamed.status).toBe(200);
    expect((await api.request('operator', 'PATCH', path, { body: { description: 'x' }, headers: { 'if-match': etag } })).status).toBe(412);
    expect((await api.request('operator', 'DELETE', `${path}/permissions/view_token`)).status).toBe(204);
    expect((await api.request<Role>('operator', 'GET', path)).body.permissions).toEqual(['view_role', 'view_user']);
    const unknown = await api.request('operator', 'POST', `${path}/permissions`, { body: { permissions: ['fly_plane'] } });
    expect(unknown.status).toBe(400);
    expect((await api.request('operator', 'POST', `${path}/permissions`, { body: { permissions: ['Not A Codename'] } })).status).toBe(400);
    const list = await api.request<Page<Role>>('operator', 'GET', `/roles?name_prefix=${renamed.body.name}`);
    expect(list.body.results.map((r) => r.id)).toEqual([role.body.id]);
    expect((await api.request('operator', 'DELETE', path)).status).toBe(204);
    const plain = await makeUser(api.services);
    expect((await api.request(as(plain), 'GET', '/roles')).status).toBe(403);
  });
});

describe('/api/v1/permissions', { timeout: 60_000 }, () => {
  let api: AdminApi;

  beforeAll(async () => {
    api = await startAdminApi();
  });
  afterAll(() => api?.close());

  it('lists the built-in codenames, creates one of an API, refuses a bad codename, keeps the built-in ones', async () => {
    const builtIn = await api.request<Page<{ codename: string; id: string; is_built_in: boolean }>>(
      'operator',
      'GET',
      '/permissions?built_in=true&page_size=200',
    );
    expect(builtIn.body.results.map((p) => p.codename)).toEqual(expect.arrayContaining(['view_user', 'add_application', 'view_activity']));
    const codename = `add_${unique('media')}`.toLowerCase();
    const created = await api.request<{ id: string; codename: string; name: string }>('operator', 'POST', '/permissions', {
      body: { codename },
    });
    expect(created.status).toBe(201);
    expect(created.body.name).toMatch(/^Can add /);
    expect((await api.request('operator', 'POST', '/permissions', { body: { codename } })).status).toBe(409);
    expect((await api.request('operator', 'POST', '/permissions', { body: { codename: 'DROP TABLE' } })).status).toBe(400);
    const viewUser = builtIn.body.results.find((p) => p.codename === 'view_user');
    const keep = await api.request('operator', 'DELETE', `/permissions/${viewUser?.id}`);
    expect(keep.status).toBe(409);
    expect(keep.body.code).toBe('permission.built_in');
    expect((await api.request('operator', 'GET', `/permissions?codename_prefix=${codename}`)).body).toMatchObject({ count: 1 });
    expect((await api.request('operator', 'DELETE', `/permissions/${created.body.id}`)).status).toBe(204);
    const someone = await makeUser(api.services);
    expect((await api.request({ user: someone.id }, 'GET', '/permissions')).status).toBe(403);
    expect((await api.request({ user: someone.id }, 'POST', '/permissions', { body: { codename: 'add_thing' } })).status).toBe(403);
  });
});

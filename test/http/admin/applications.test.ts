import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemPrincipal } from '../../../src/domain/access/principal.ts';
import { type AdminApi, type Caller, makeToken, makeUser, startAdminApi, unique } from '../../support/admin-api.ts';
import { basicAuth, makeApi, postForm } from '../../support/fixtures.ts';

/**
 * /api/v1/applications and its nested routes, for every kind of caller (issue 10, "Applications
 * follow the AWX rules"): who sees and manages which application, what stays immutable, and that a
 * secret is shown once. On both databases, over real HTTP.
 */
interface App {
  id: string;
  client_id: string;
  client_secret?: string;
  name: string;
  user: string | null;
  organization: string | null;
  authorization_grant_type: string;
  client_type: string;
  related: Record<string, string | null>;
  summary_fields: { owner: { id: string; username: string } | null; tokens: { count: number; results: { token: string }[] } };
}
interface Page<T> {
  count: number;
  results: T[];
}

describe('/api/v1/applications', { timeout: 60_000 }, () => {
  let api: AdminApi;
  // an organisation with an admin and a member; an outsider; a plain user; a registrar (add_application)
  let orgId: string;
  let admin: { id: string };
  let member: { id: string };
  let outsider: { id: string };
  let plain: { id: string };
  let registrar: { id: string };
  let memberApp: App;
  let outsiderApp: App;
  let plainApp: App;

  const as = (user: { id: string }): Caller => ({ user: user.id });
  const register = async (caller: Caller, body: Record<string, unknown>) =>
    api.request<App & { code?: string }>(caller, 'POST', '/applications', {
      body: { name: unique('app'), authorization_grant_type: 'client_credentials', ...body },
    });

  beforeAll(async () => {
    api = await startAdminApi();
    const s = api.services;
    admin = await makeUser(s, { permissions: ['add_application'] });
    member = await makeUser(s);
    outsider = await makeUser(s);
    plain = await makeUser(s);
    registrar = await makeUser(s, { permissions: ['add_application'] });
    const org = await s.organizations.create(systemPrincipal, { name: unique('org') });
    orgId = org.id;
    await s.organizations.addMember(systemPrincipal, org.id, admin.id, 'admin');
    await s.organizations.addMember(systemPrincipal, org.id, member.id, 'member');
    memberApp = (await register('operator', { user: member.id })).body;
    outsiderApp = (await register('operator', { user: outsider.id })).body;
    plainApp = (await register('operator', { user: plain.id })).body;
  });
  afterAll(() => api?.close());

  const ids = (page: Page<App>) => page.results.map((a) => a.id);

  it('POST requires user and authorization_grant_type, for the operator too, and answers the AWX shape with the secret once', async () => {
    const missing = await api.request<{ details: { issues: { path: string }[] } }>('operator', 'POST', '/applications', {
      body: { name: unique('app') },
    });
    expect(missing.status).toBe(400);
    expect(missing.body.details.issues.map((i) => i.path).sort()).toEqual(['authorization_grant_type', 'user']);

    const resource = await makeApi(api.services);
    const created = await register('operator', {
      user: member.id,
      organization: orgId,
      client_type: 'confidential',
      apis: [{ identifier: resource.identifier }],
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      type: 'application',
      url: `/api/v1/applications/${created.body.id}`,
      user: member.id,
      organization: orgId,
      authorization_grant_type: 'client_credentials',
      client_type: 'confidential',
      related: {
        owner: `/api/v1/users/${member.id}`,
        organization: `/api/v1/organizations/${orgId}`,
        tokens: `/api/v1/applications/${created.body.id}/tokens`,
      },
      summary_fields: { owner: { id: member.id }, tokens: { count: 0, results: [] } },
    });
    const secret = created.body.client_secret as string;
    expect(secret).toMatch(/^ghcs_/);

    // never again: not in the object, the list, a change, nor the activity
    const shown = await api.request('operator', 'GET', `/applications/${created.body.id}`);
    const listed = await api.request('operator', 'GET', `/applications?client_id=${created.body.client_id}`);
    const changed = await api.request('operator', 'PATCH', `/applications/${created.body.id}`, { body: { skip_authorization: true } });
    const activity = await api.request('operator', 'GET', `/applications/${created.body.id}/activity`);
    for (const res of [shown, listed, changed, activity]) {
      expect(res.status).toBe(200);
      expect(res.text).not.toContain(secret);
      expect(res.text).not.toContain(secret.slice(0, 16));
    }
    expect(shown.body).not.toHaveProperty('client_secret');

    // the machine-to-machine client works as before
    const token = await postForm(
      `${api.server.url}/oauth/token`,
      { grant_type: 'client_credentials' },
      { authorization: basicAuth(created.body.client_id, secret) },
    );
    expect(token.status, JSON.stringify(token.body)).toBe(200);
  });

  it('superusers and the operator see every application; the owner, their organisation admin and no one else see one', async () => {
    const superuser = await makeUser(api.services, { isSuperuser: true });
    for (const caller of ['operator', as(superuser)] as Caller[]) {
      const res = await api.request<Page<App>>(caller, 'GET', '/applications?page_size=200');
      expect(ids(res.body)).toEqual(expect.arrayContaining([memberApp.id, outsiderApp.id, plainApp.id]));
    }
    const adminList = await api.request<Page<App>>(as(admin), 'GET', '/applications?page_size=200');
    expect(ids(adminList.body)).toContain(memberApp.id);
    expect(ids(adminList.body)).not.toContain(outsiderApp.id);
    expect(ids(adminList.body)).not.toContain(plainApp.id);

    const plainList = await api.request<Page<App>>(as(plain), 'GET', '/applications?page_size=200');
    expect(ids(plainList.body)).toEqual([plainApp.id]);
    expect(plainList.body.count).toBe(1);

    // another's application is a 404 (as if it did not exist), for reading, changing and deleting
    for (const [method, suffix, body] of [
      ['GET', '', undefined],
      ['PATCH', '', { name: unique('stolen') }],
      ['DELETE', '', undefined],
      ['POST', '/secrets', undefined],
      ['GET', '/tokens', undefined],
      ['POST', '/tokens', { scope: 'read' }],
      ['GET', '/activity', undefined],
    ] as const) {
      const res = await api.request(as(plain), method, `/applications/${outsiderApp.id}${suffix}`, body ? { body } : {});
      expect(res.status, `${method} ${suffix}`).toBe(404);
      expect(res.body.code).toBe('application.not_found');
    }
    // and reads exactly as an id that does not exist
    const missing = await api.request(as(plain), 'GET', '/applications/app_doesnotexist');
    const hidden = await api.request(as(plain), 'GET', `/applications/${outsiderApp.id}`);
    expect({ ...hidden.body, details: undefined }).toStrictEqual({ ...missing.body, details: undefined });
  });

  it('the owner and their organisation admin may change, rotate and delete it; an organisation admin gains nothing outside', async () => {
    const own = await api.request<App>(as(plain), 'PATCH', `/applications/${plainApp.id}`, { body: { name: unique('mine') } });
    expect(own.status).toBe(200);
    const byAdmin = await api.request<App>(as(admin), 'PATCH', `/applications/${memberApp.id}`, { body: { name: unique('renamed') } });
    expect(byAdmin.status).toBe(200);
    const rotated = await api.request<App>(as(admin), 'POST', `/applications/${memberApp.id}/secrets`);
    expect(rotated.status).toBe(201);
    expect(rotated.body.client_secret).toMatch(/^ghcs_/);
    expect((await api.request(as(admin), 'PATCH', `/applications/${outsiderApp.id}`, { body: { name: 'x' } })).status).toBe(404);

    const doomed = (await register('operator', { user: member.id })).body;
    expect((await api.request(as(admin), 'DELETE', `/applications/${doomed.id}`)).status).toBe(204);
    expect((await api.request('operator', 'GET', `/applications/${doomed.id}`)).status).toBe(404);
  });

  it('creating takes add_application: a plain user is refused; a registrar registers for themselves, not for others', async () => {
    const refused = await register(as(plain), { user: plain.id });
    expect(refused.status).toBe(403);
    expect(refused.body.code).toBe('auth.forbidden');

    const mine = await register(as(registrar), { user: registrar.id });
    expect(mine.status).toBe(201);
    expect(mine.body.user).toBe(registrar.id);
    const forOther = await register(as(registrar), { user: outsider.id });
    expect(forOther.status).toBe(403);
    expect(forOther.body.code).toBe('application.owner_not_allowed');
    // an organisation admin registers for their members, into their organisation
    const forMember = await register(as(admin), { user: member.id, organization: orgId });
    expect(forMember.status).toBe(201);
    const elsewhere = await register(as(registrar), { user: registrar.id, organization: orgId });
    expect(elsewhere.status).toBe(403);
    expect(elsewhere.body.code).toBe('application.organization_not_allowed');
    const unknownOwner = await register('operator', { user: 'usr_nobody' });
    expect(unknownOwner.status).toBe(400);
  });

  it('owners and organisation admins cannot grant their applications APIs, the introspect right or skipped consent', async () => {
    const resource = await makeApi(api.services);
    for (const [caller, id] of [
      [as(plain), plainApp.id],
      [as(admin), memberApp.id],
    ] as const) {
      for (const body of [
        { apis: [{ identifier: resource.identifier, scopes: ['write'] }] },
        { introspect: true },
        { skip_authorization: true },
      ]) {
        const res = await api.request(caller, 'PATCH', `/applications/${id}`, { body });
        expect(res.status, JSON.stringify(body)).toBe(403);
        expect(res.body.code).toBe('application.grant_not_allowed');
      }
    }
    const onCreate = await register(as(registrar), { user: registrar.id, apis: [{ identifier: resource.identifier }] });
    expect(onCreate.status).toBe(403);
    expect((await api.services.applications.getById(plainApp.id)).apis).toEqual([]);
    // an API's administrator may
    const apiAdmin = await makeUser(api.services, { permissions: ['view_application', 'change_application', 'change_api'] });
    const granted = await api.request<App & { apis: unknown[] }>(as(apiAdmin), 'PATCH', `/applications/${plainApp.id}`, {
      body: { apis: [{ identifier: resource.identifier, scopes: ['read'] }], skip_authorization: true },
    });
    expect(granted.status).toBe(200);
    expect(granted.body.apis).toHaveLength(1);
  });

  it('client_id, client_secret, user, authorization_grant_type and client_type stay what they were', async () => {
    const before = (await api.request<App>('operator', 'GET', `/applications/${outsiderApp.id}`)).body;
    for (const [field, value] of [
      ['client_id', 'chosen'],
      ['client_secret', 'ghcs_chosen'],
      ['user', plain.id],
      ['authorization_grant_type', 'authorization_code'],
      ['client_type', 'public'],
    ] as const) {
      const res = await api.request<{ details: { issues: { path: string; message: string }[] } }>(
        'operator',
        'PATCH',
        `/applications/${outsiderApp.id}`,
        { body: { [field]: value } },
      );
      expect(res.status, field).toBe(400);
      expect(res.body.details.issues[0]?.path).toBe(field);
    }
    const after = (await api.request<App>('operator', 'GET', `/applications/${outsiderApp.id}`)).body;
    expect(after).toStrictEqual(before);
  });

  it('a read token lists and reads its user’s applications but changes nothing; a codename token does only what it names', async () => {
    const { secret: read } = await makeToken(api.services, plain.id, { scope: 'read' });
    const listed = await api.request<Page<App>>({ token: read }, 'GET', '/applications');
    expect(ids(listed.body)).toEqual([plainApp.id]);
    expect((await api.request({ token: read }, 'PATCH', `/applications/${plainApp.id}`, { body: { name: 'x' } })).status).toBe(403);
    expect((await api.request({ token: read }, 'DELETE', `/applications/${plainApp.id}`)).status).toBe(403);

    const auditor = await makeUser(api.services, { permissions: ['view_application', 'change_application'] });
    const { secret: viewOnly } = await makeToken(api.services, auditor.id, { permissions: ['view_application'] });
    const all = await api.request<Page<App>>({ token: viewOnly }, 'GET', '/applications?page_size=200');
    expect(ids(all.body)).toEqual(expect.arrayContaining([memberApp.id, outsiderApp.id]));
    const change = await api.request({ token: viewOnly }, 'PATCH', `/applications/${outsiderApp.id}`, { body: { name: 'x' } });
    expect(change.status).toBe(403);
    // a token narrowed to something else sees nothing of its user's own applications either
    const owner = await makeUser(api.services, { permissions: ['view_token'] });
    await register('operator', { user: owner.id });
    const { secret: other } = await makeToken(api.services, owner.id, { permissions: ['view_token'] });
    expect((await api.request({ token: other }, 'GET', '/applications')).status).toBe(403);
    expect((await api.request({ user: owner.id }, 'GET', '/applications')).status).toBe(200);
  });

  it('POST /applications/{id}/tokens takes only scope, links the application and acts as the caller; the secret shows once', async () => {
    const extra = await api.request(as(plain), 'POST', `/applications/${plainApp.id}/tokens`, {
      body: { scope: 'read', user: outsider.id },
    });
    expect(extra.status).toBe(400);
    const created = await api.request<{ id: string; token: string; user: string; application: string; scope: string }>(
      as(plain),
      'POST',
      `/applications/${plainApp.id}/tokens`,
      { body: { scope: 'read' } },
    );
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ user: plain.id, application: plainApp.id, scope: 'read' });
    expect(created.body.token).toMatch(/^ghat_/);
    const listed = await api.request<Page<{ id: string; token: string }>>(as(plain), 'GET', `/applications/${plainApp.id}/tokens`);
    expect(listed.body.results.map((t) => t.token)).toEqual(['************']);
    expect(listed.text).not.toContain(created.body.token);
    const shown = await api.request<App>(as(plain), 'GET', `/applications/${plainApp.id}`);
    expect(shown.body.summary_fields.tokens).toMatchObject({ count: 1, results: [{ token: '************' }] });
    // the operator has no user of its own: the token acts as the owner
    const byOperator = await api.request<{ user: string }>('operator', 'POST', `/applications/${outsiderApp.id}/tokens`, { body: {} });
    expect(byOperator.status).toBe(201);
    expect(byOperator.body.user).toBe(outsider.id);
  });

  it('GET /users/{id}/applications lists what the caller reaches of that user', async () => {
    const mine = await api.request<Page<App>>(as(plain), 'GET', `/users/${plain.id}/applications`);
    expect(ids(mine.body)).toEqual([plainApp.id]);
    const theirs = await api.request<Page<App>>(as(plain), 'GET', `/users/${outsider.id}/applications`);
    expect(theirs.body.count).toBe(0);
    const byAdmin = await api.request<Page<App>>(as(admin), 'GET', `/users/${member.id}/applications`);
    expect(ids(byAdmin.body)).toContain(memberApp.id);
  });

  it('every change is in its activity, with the request id and address and never a secret; /activity needs view_activity', async () => {
    const rotated = await api.request<App>('operator', 'POST', `/applications/${outsiderApp.id}/secrets`, {
      headers: { 'x-request-id': 'req-rotate-1' },
    });
    const events = await api.request<Page<{ action: string; request_id: string | null; ip: string | null; actor: string }>>(
      as(outsider),
      'GET',
      `/applications/${outsiderApp.id}/activity`,
    );
    expect(events.status).toBe(200);
    const rotation = events.body.results.find((e) => e.action === 'application.secret_rotated');
    expect(rotation).toMatchObject({ request_id: 'req-rotate-1', actor: 'cli:tester', ip: expect.stringMatching(/127\.0\.0\.1/) });
    expect(events.text).not.toContain(rotated.body.client_secret as string);
    expect(events.body.results.map((e) => e.action)).toContain('application.created');

    expect((await api.request(as(plain), 'GET', '/activity')).status).toBe(403);
    const filtered = await api.request<Page<{ action: string; object_id: string }>>(
      'operator',
      'GET',
      `/activity?object_type=application&object_id=${outsiderApp.id}&action=application.`,
    );
    expect(filtered.body.results.every((e) => e.action.startsWith('application.') && e.object_id === outsiderApp.id)).toBe(true);
    const since = new Date(Date.now() + 60_000).toISOString();
    expect((await api.request<Page<unknown>>('operator', 'GET', `/activity?since=${encodeURIComponent(since)}`)).body.count).toBe(0);
    expect((await api.request('operator', 'GET', '/activity?since=yesterday')).status).toBe(400);
  });

  it('a user created through the API gets a default application without a secret; rotating gives it one', async () => {
    const created = await api.request<{ id: string; username: string }>('operator', 'POST', '/users', {
      body: { username: unique('newbie'), password: 'correct horse battery' },
    });
    const apps = await api.request<Page<App & { secret_hint: string | null }>>({ user: created.body.id }, 'GET', '/applications');
    expect(apps.body.results).toHaveLength(1);
    const app = apps.body.results[0] as App & { secret_hint: string | null };
    expect(app).toMatchObject({ name: `default (${created.body.username})`, user: created.body.id, secret_hint: null });
    const rotated = await api.request<App>({ user: created.body.id }, 'POST', `/applications/${app.id}/secrets`);
    expect(rotated.status).toBe(201);
    const resource = await makeApi(api.services);
    await api.request('operator', 'PATCH', `/applications/${app.id}`, { body: { apis: [{ identifier: resource.identifier }] } });
    const token = await postForm(
      `${api.server.url}/oauth/token`,
      { grant_type: 'client_credentials' },
      { authorization: basicAuth(app.client_id, rotated.body.client_secret as string) },
    );
    expect(token.status, JSON.stringify(token.body)).toBe(200);
  });

  it('the applications of an API are still granted through apis, as the CLI does', async () => {
    const resource = await makeApi(api.services);
    const created = await register('operator', { user: plain.id, apis: [{ identifier: resource.identifier, scopes: ['read'] }] });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ apis: [{ identifier: resource.identifier, scopes: ['read'], introspect: false }] });
  });
});

describe('DEFAULT_APPLICATION_FOR_NEW_USERS=false', { timeout: 60_000 }, () => {
  it('new users start without an application', async () => {
    const api = await startAdminApi({ env: { DEFAULT_APPLICATION_FOR_NEW_USERS: 'false' } });
    try {
      const created = await api.request<{ id: string }>('operator', 'POST', '/users', { body: { username: unique('bare') } });
      const apps = await api.request<Page<App>>({ user: created.body.id }, 'GET', '/applications');
      expect(apps.body.count).toBe(0);
    } finally {
      await api.close();
    }
  });
});

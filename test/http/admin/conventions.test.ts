import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_PAGE_SIZE } from '../../../src/lib/pagination.ts';
import { type AdminApi, makeToken, makeUser, startAdminApi, unique } from '../../support/admin-api.ts';

/**
 * The conventions every admin route keeps (issue 10, "Conventions"), over real HTTP on both
 * databases: authentication, problem+json with a stable type per code, pagination bounds, strict
 * input (unknown fields and parameters, wrong types, malformed ids, bad JSON), ETag / If-Match /
 * If-None-Match, and the OpenAPI document covering every route.
 */
describe('admin API conventions', { timeout: 60_000 }, () => {
  let api: AdminApi;

  beforeAll(async () => {
    api = await startAdminApi();
  });
  afterAll(() => api?.close());

  const sample = (path: string) => path.replace(/:codename/g, 'view_user').replace(/:[A-Za-z]+/g, 'no-such-id');

  it('every route but the document and its page answers 401 to an anonymous caller, before reading the body', async () => {
    for (const route of api.routes) {
      const res = await api.request('anonymous', route.method.toUpperCase(), sample(route.path), {
        ...(route.body ? { body: {} } : {}),
      });
      if (route.public) expect(res.status, route.path).toBe(200);
      else {
        expect(res.status, `${route.method} ${route.path}`).toBe(401);
        expect(res.body).toMatchObject({ code: 'auth.unauthenticated', type: 'https://gatehouse.dev/problems/auth.unauthenticated' });
      }
    }
  });

  it('GET /openapi.json is an OpenAPI 3.1 document naming every route with its statuses, without authentication', async () => {
    const res = await api.request<{ openapi: string; paths: Record<string, Record<string, { responses: Record<string, unknown> }>> }>(
      'anonymous',
      'GET',
      '/openapi.json',
    );
    expect(res.status).toBe(200);
    expect(res.body.openapi).toBe('3.1.0');
    for (const route of api.routes) {
      const path = route.path.replace(/:([A-Za-z_]\w*)/g, '{$1}');
      const operation = res.body.paths[path]?.[route.method];
      expect(operation, `${route.method} ${path}`).toBeDefined();
      expect(
        Object.keys(operation?.responses ?? {})
          .map(Number)
          .sort(),
      ).toEqual([...route.status].sort());
    }
    const count = Object.values(res.body.paths).reduce((n, item) => n + Object.keys(item).length, 0);
    expect(count).toBe(api.routes.length);
    // structurally sound: unique operation ids, every $ref resolves, every success with a body has its schema
    const operations = Object.values(res.body.paths).flatMap((item) => Object.values(item)) as Array<{
      operationId: string;
      responses: Record<string, { content?: Record<string, { schema?: unknown }> }>;
    }>;
    expect(new Set(operations.map((o) => o.operationId)).size).toBe(operations.length);
    for (const o of operations)
      for (const r of Object.values(o.responses)) for (const m of Object.values(r.content ?? {})) expect(m.schema).toBeDefined();
    const text = JSON.stringify(res.body);
    for (const [, ref] of text.matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g)) {
      expect(
        (res.body as unknown as { components: { schemas: Record<string, unknown> } }).components.schemas[ref as string],
        ref,
      ).toBeDefined();
    }
  });

  it('GET /docs is a page listing every operation, with no script and the pages’ security headers', async () => {
    const res = await fetch(`${api.url}/api/v1/docs`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
    const html = await res.text();
    expect(html).not.toMatch(/<script/i);
    expect(html).toContain('<h1>Gatehouse admin API</h1>');
    for (const route of api.routes) {
      const path = route.path.replace(/:([A-Za-z_]\w*)/g, '{$1}');
      expect(html, path).toContain(`${route.method.toUpperCase()} ${path}`);
    }
  });

  it('lists page: count, next and previous; page_size above the maximum, 0, or not a number is a 400 problem', async () => {
    const prefix = unique('pg');
    for (let i = 0; i < 5; i++) await makeUser(api.services, { username: `${prefix}-${i}` });
    const first = await api.request<{ count: number; next: string | null; previous: string | null; results: { username: string }[] }>(
      'operator',
      'GET',
      `/users?username_prefix=${prefix}&page_size=2`,
    );
    expect(first.status).toBe(200);
    expect(first.body.count).toBe(5);
    expect(first.body.results.map((u) => u.username)).toEqual([`${prefix}-0`, `${prefix}-1`]);
    expect(first.body.previous).toBeNull();
    expect(first.body.next).toBe(`/api/v1/users?username_prefix=${prefix}&page_size=2&page=2`);
    const last = await api.request<{ next: string | null; previous: string | null; results: unknown[] }>(
      'operator',
      'GET',
      `/users?username_prefix=${prefix}&page_size=2&page=3`,
    );
    expect(last.body.results).toHaveLength(1);
    expect(last.body.next).toBeNull();
    expect(last.body.previous).toContain('page=2');
    const reversed = await api.request<{ results: { username: string }[] }>(
      'operator',
      'GET',
      `/users?username_prefix=${prefix}&order_by=-username&page_size=1`,
    );
    expect(reversed.body.results[0]?.username).toBe(`${prefix}-4`);

    for (const bad of [
      `page_size=${MAX_PAGE_SIZE + 1}`,
      'page_size=0',
      'page_size=abc',
      'page=0',
      'page=-1',
      'page_size=1e9',
      'order_by=password',
    ]) {
      const res = await api.request('operator', 'GET', `/users?${bad}`);
      expect(res.status, bad).toBe(400);
      expect(res.body.code, bad).toBe('guard.invalid_input');
    }
  });

  it('an unknown query parameter, a repeated one, an unknown body field or a wrong type is a 400 naming the field', async () => {
    const unknownParam = await api.request('operator', 'GET', '/applications?owner=x');
    expect(unknownParam.status).toBe(400);
    expect(JSON.stringify(unknownParam.body)).toContain('owner');
    expect((await api.request('operator', 'GET', '/users?username=a&username=b')).status).toBe(400);

    const unknownField = await api.request('operator', 'POST', '/users', { body: { username: unique('u'), is_admin: true } });
    expect(unknownField.status).toBe(400);
    expect(JSON.stringify(unknownField.body)).toContain('is_admin');

    const wrongType = await api.request<{ details: { issues: { path: string }[] } }>('operator', 'POST', '/users', {
      body: { username: 42, password: ['x'] },
    });
    expect(wrongType.status).toBe(400);
    expect([...new Set(wrongType.body.details.issues.map((i) => i.path))].sort()).toEqual(['password', 'username']);

    const notJson = await api.request('operator', 'POST', '/users', {
      raw: '{"username":',
      headers: { 'content-type': 'application/json' },
    });
    expect(notJson.status).toBe(400);
    expect(notJson.body.code).toBe('request.invalid_json');
    const form = await api.request('operator', 'POST', '/users', {
      raw: 'username=x',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(form.status).toBe(415);
    const array = await api.request('operator', 'POST', '/roles', { body: ['not', 'an', 'object'] });
    expect(array.status).toBe(400);
  });

  it('a method a path does not serve is a 405 problem with Allow; an unknown path a 404 problem', async () => {
    const res = await api.request('operator', 'PUT', '/users', { body: {} });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toContain('POST');
    expect(res.body.code).toBe('route.method_not_allowed');
    const missing = await api.request('operator', 'GET', '/nothing-here');
    expect(missing.status).toBe(404);
    expect(missing.body.code).toBe('route.not_found');
  });

  it('a malformed or absurd id is a 4xx problem, never a 500', async () => {
    for (const id of ['%00', '%E2%80%AE', 'a'.repeat(300), '%20', "'%20OR%201=1--", '%2F']) {
      for (const path of [
        `/users/${id}`,
        `/applications/${id}`,
        `/tokens/${id}`,
        `/roles/${id}/permissions`,
        `/organizations/${id}/members`,
      ]) {
        const res = await api.request('operator', 'GET', path);
        expect([400, 404], `${path} → ${res.status}`).toContain(res.status);
      }
    }
  });

  it('an object carries an ETag: If-None-Match gives 304, a stale If-Match gives 412 and changes nothing', async () => {
    const created = await api.request<{ id: string; email: string | null }>('operator', 'POST', '/users', {
      body: { username: unique('etag') },
    });
    expect(created.status).toBe(201);
    const path = `/users/${created.body.id}`;
    const read = await api.request('operator', 'GET', path);
    const etag = read.headers.get('etag') as string;
    expect(etag).toMatch(/^"/);
    expect(created.headers.get('etag')).toBe(etag);

    const unchanged = await api.request('operator', 'GET', path, { headers: { 'if-none-match': etag } });
    expect(unchanged.status).toBe(304);

    const first = await api.request('operator', 'PATCH', path, { body: { email: 'first@example.test' }, headers: { 'if-match': etag } });
    expect(first.status).toBe(200);
    expect(first.headers.get('etag')).not.toBe(etag);
    const stale = await api.request('operator', 'PATCH', path, { body: { email: 'second@example.test' }, headers: { 'if-match': etag } });
    expect(stale.status).toBe(412);
    expect(stale.body.code).toBe('request.precondition_failed');
    expect((await api.services.users.get(created.body.id)).email).toBe('first@example.test');

    const staleDelete = await api.request('operator', 'DELETE', path, { headers: { 'if-match': etag } });
    expect(staleDelete.status).toBe(412);
    expect(await api.services.users.findById(created.body.id)).not.toBeNull();
    const fresh = (await api.request('operator', 'GET', path)).headers.get('etag') as string;
    expect((await api.request('operator', 'DELETE', path, { headers: { 'if-match': fresh } })).status).toBe(204);
    // without If-Match a write is unconditional (no 428)
    const other = await api.request<{ id: string }>('operator', 'POST', '/users', { body: { username: unique('nomatch') } });
    expect((await api.request('operator', 'PATCH', `/users/${other.body.id}`, { body: { is_active: false } })).status).toBe(200);
  });

  it('a read-scope token may read but every unsafe method is a 403, whatever the route', async () => {
    const admin = await makeUser(api.services, { isSuperuser: true });
    const { secret } = await makeToken(api.services, admin.id, { scope: 'read' });
    expect((await api.request({ token: secret }, 'GET', '/users')).status).toBe(200);
    const res = await api.request({ token: secret }, 'POST', '/users', { body: { username: unique('ro') } });
    expect(res.status).toBe(403);
    expect(res.body.code).toBe('auth.read_only_credential');
    expect((await api.request({ token: secret }, 'POST', '/organizations', { body: { name: unique('o') } })).status).toBe(403);
  });
});

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'vitest';
import type { Services } from '../../src/container.ts';
import { operatorPrincipal, type Principal, systemPrincipal } from '../../src/domain/access/principal.ts';
import { adminRoutes } from '../../src/http/admin/admin-api.ts';
import { createAdminApp } from '../../src/http/admin/admin-app.ts';
import type { AnyRoute } from '../../src/http/admin/route.ts';
import { ProblemWire } from '../../src/http/admin/wire.ts';
import { problemType } from '../../src/http/problem.ts';
import { createLogger } from '../../src/lib/logger.ts';
import { startTestServer, type TestServer, type TestServerOptions } from './server.ts';

/**
 * The admin API over real HTTP on 127.0.0.1, as the public /api/v1 mount serves it: the admin app
 * with an `authenticate` that turns a test header into the principal of a user
 * (`access.principalFor`), an `Authorization: Token` into the token's principal
 * (`apiTokens.authenticate`), or the local operator. Every answer is checked against the route's
 * own declaration (status declared, body matching the response schema with nothing extra, errors
 * as problem+json with their type URI): a test that gets an undeclared answer fails.
 */
export type Caller = 'anonymous' | 'operator' | { user: string } | { token: string };

export interface AdminResponse<T = Record<string, unknown>> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

export interface RequestOptions {
  body?: unknown;
  /** sent as is (not JSON-encoded) */
  raw?: string;
  headers?: Record<string, string>;
}

let counter = 0;
export const unique = (prefix = 'x') => `${prefix}${Date.now().toString(36)}${(counter++).toString(36)}`;

function routePattern(route: AnyRoute): RegExp {
  const source = route.path.replace(/:[A-Za-z_]\w*/g, '[^/]+').replace(/\//g, '\\/');
  return new RegExp(`^\\/api\\/v1${source}$`);
}

/** Checks one answer against the declaration of the route that served it (`path`: the full path, /api/v1…). */
export function checkAgainstDeclaration(routes: readonly AnyRoute[], method: string, path: string, res: AdminResponse<unknown>) {
  const bare = path.split('?')[0] as string;
  const route = routes.find((r) => r.method === method.toLowerCase() && routePattern(r).test(bare));
  const where = `${method} ${path} → ${res.status} ${res.text.slice(0, 300)}`;
  expect(res.status, where).toBeLessThan(500);
  if (res.status === 304) return;
  if (res.status >= 400) {
    expect(res.headers.get('content-type'), where).toMatch(/^application\/problem\+json/);
    const problem = ProblemWire.parse(res.body);
    expect(problem.type, where).toBe(problemType(problem.code));
    expect(problem.status, where).toBe(res.status);
    if (route && ![401, 405, 413, 415].includes(res.status)) expect(route.status, where).toContain(res.status);
    return;
  }
  expect(route, `no route declares ${method} ${bare}`).toBeDefined();
  const declared = route as AnyRoute;
  expect(declared.status, where).toContain(res.status);
  if (res.status === 204) {
    expect(res.text, where).toBe('');
    return;
  }
  if (declared.response) {
    expect(res.headers.get('content-type'), where).toMatch(/^application\/json/);
    const parsed = declared.response.parse(res.body);
    // the schema strips what it does not name: equal means nothing undeclared was sent
    expect(JSON.parse(JSON.stringify(parsed)), where).toStrictEqual(res.body);
    if (!declared.list) expect(res.headers.get('etag'), where).toMatch(/^"[\w-]+"$/);
  }
}

export interface AdminApi {
  server: TestServer;
  services: Services;
  /** the admin app's base URL (its paths start with /api/v1) */
  url: string;
  routes: AnyRoute[];
  request<T = Record<string, unknown>>(caller: Caller, method: string, path: string, options?: RequestOptions): Promise<AdminResponse<T>>;
  close(): Promise<void>;
}

export async function startAdminApi(options: TestServerOptions = {}): Promise<AdminApi> {
  const server = await startTestServer(options);
  const services = server.services;
  const app = createAdminApp({
    services,
    log: createLogger({ level: 'silent' }),
    issuer: server.url,
    async authenticate(ctx): Promise<Principal | undefined> {
      const as = ctx.get('x-test-as');
      if (as === 'operator') return operatorPrincipal('tester');
      if (as.startsWith('user:')) return (await services.access.principalFor(as.slice(5))) ?? undefined;
      const token = /^Token (.+)$/.exec(ctx.get('authorization'))?.[1];
      if (token) return (await services.apiTokens.authenticate(token, { ip: ctx.ip }))?.principal;
      return undefined;
    },
  });
  const http: Server = createServer(app.callback());
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  const routes = adminRoutes(services);

  async function request<T>(caller: Caller, method: string, path: string, options: RequestOptions = {}): Promise<AdminResponse<T>> {
    const headers: Record<string, string> = { accept: 'application/json', ...options.headers };
    if (caller === 'operator') headers['x-test-as'] = 'operator';
    else if (caller !== 'anonymous' && 'user' in caller) headers['x-test-as'] = `user:${caller.user}`;
    else if (caller !== 'anonymous') headers.authorization = `Token ${caller.token}`;
    let payload: string | undefined = options.raw;
    if (options.body !== undefined) payload = JSON.stringify(options.body);
    if (payload !== undefined) headers['content-type'] ??= 'application/json';
    const res = await fetch(`${url}/api/v1${path}`, { method, headers, body: payload });
    const text = await res.text();
    let body: unknown = text;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {}
    const answer = { status: res.status, headers: res.headers, body: body as T, text };
    // as the server saw it (fetch resolves dot segments)
    checkAgainstDeclaration(routes, method, new URL(`${url}/api/v1${path}`).pathname, answer);
    return answer;
  }

  return {
    server,
    services,
    url,
    routes,
    request,
    async close() {
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
      await server.close();
    },
  };
}

/** A user made through the services; with `permissions`, a role holding them is created and granted. */
export async function makeUser(
  services: Services,
  options: { permissions?: string[]; isSuperuser?: boolean; password?: string; username?: string } = {},
) {
  const user = await services.users.create(systemPrincipal, {
    username: options.username ?? unique('user'),
    ...(options.password ? { password: options.password } : {}),
    ...(options.isSuperuser ? { isSuperuser: true } : {}),
  });
  if (options.permissions?.length) {
    await services.permissions.ensure(systemPrincipal, options.permissions);
    const role = await services.roles.create(systemPrincipal, { name: unique('role'), permissions: options.permissions });
    await services.roles.assign(systemPrincipal, role.id, user.id);
  }
  return user;
}

/** A token secret for `userId`, minted by the system (as a superuser would). */
export async function makeToken(
  services: Services,
  userId: string,
  options: { scope?: 'read' | 'write'; permissions?: string[]; applicationId?: string } = {},
) {
  const { token, secret } = await services.apiTokens.create(systemPrincipal, { userId, ...options });
  return { token, secret };
}

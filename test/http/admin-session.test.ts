import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { systemPrincipal } from '../../src/domain/access/principal.ts';
import { CHEAP_PASSWORDS, uniqueName } from '../support/admin-http.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { browse, type CookieJar, formAction, hiddenField, makePerson, makeWebClient, signIn } from '../support/sign-in.ts';
import { countStatements } from '../support/statements.ts';

/**
 * The sign-in page's browser session as a credential of the admin API (issue 11; README "The admin
 * API over HTTP"): a person signed in through the login page is, on /api/v1, that person with their
 * permissions. Unsafe methods need the X-CSRF-Token that GET /me gives and a same-origin browser;
 * a logged-out, expired or deactivated session is no credential (401). Reading a session writes
 * nothing to the database.
 */
interface Me {
  actor: string;
  user: { id: string; username: string } | null;
  is_superuser: boolean;
  permissions: string[];
  credential: { type: string; csrf_token?: string; expires_at?: string | null };
}

describe('the browser session on /api/v1', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ env: CHEAP_PASSWORDS });
  });
  afterAll(() => server?.close());

  /** A person signed in through the login page; `superuser` makes them one first. */
  async function signedIn(options: { superuser?: boolean } = {}) {
    const person = await makePerson(server.services);
    if (options.superuser) await server.services.users.setSuperuser(systemPrincipal, person.user.id, true);
    const client = await makeWebClient(server.services, { skipConsent: true });
    const { jar } = await signIn(server.url, { clientId: client.clientId, redirectUri: client.redirectUri }, person);
    expect(jar.has('_session')).toBe(true);
    return { person, jar };
  }

  async function api(jar: CookieJar | null, method: string, path: string, headers: Record<string, string> = {}, body?: unknown) {
    const cookie = jar?.header(path);
    const res = await fetch(`${server.url}${path}`, {
      method,
      headers: {
        accept: 'application/json',
        ...(cookie ? { cookie } : {}),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...headers,
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, json: text ? (JSON.parse(text) as Record<string, unknown>) : undefined };
  }

  it('GET /me answers as the signed-in person, with their permissions and a CSRF token', async () => {
    const { person, jar } = await signedIn();
    const me = await api(jar, 'GET', '/api/v1/me');
    expect(me.status).toBe(200);
    const body = me.json as unknown as Me;
    expect(body.actor).toBe(`user:${person.user.id}`);
    expect(body.user).toMatchObject({ id: person.user.id, username: person.username });
    expect(body.is_superuser).toBe(false);
    expect(body.credential.type).toBe('session');
    expect(body.credential.csrf_token).toMatch(/^[\w-]{43}$/);
    expect(Date.parse(body.credential.expires_at as string)).toBeGreaterThan(Date.now());
    expect(me.headers.get('cache-control')).toBe('no-store');
    // Their permissions, no more: another user's record is out of reach (404), the list is theirs.
    const users = await api(jar, 'GET', '/api/v1/users');
    expect(users.status).toBe(200);
    expect((users.json as { results: Array<{ id: string }> }).results.map((u) => u.id)).toEqual([person.user.id]);
    const other = await makePerson(server.services);
    expect((await api(jar, 'GET', `/api/v1/users/${other.user.id}`)).status).toBe(404);
  });

  it('unsafe methods need the X-CSRF-Token from GET /me, and a same-origin browser', async () => {
    const { jar } = await signedIn({ superuser: true });
    const me = (await api(jar, 'GET', '/api/v1/me')).json as unknown as Me;
    expect(me.is_superuser).toBe(true);
    const csrf = me.credential.csrf_token as string;
    const role = () => ({ name: uniqueName('role'), permissions: [] });

    const refusals: Array<Record<string, string>> = [
      {},
      { 'x-csrf-token': 'not-the-token' },
      { 'x-csrf-token': `${csrf.slice(0, -1)}${csrf.endsWith('A') ? 'B' : 'A'}` },
      { 'x-csrf-token': csrf, origin: 'https://evil.example.test' },
      { 'x-csrf-token': csrf, 'sec-fetch-site': 'cross-site' },
      { 'x-csrf-token': csrf, 'sec-fetch-site': 'same-site' },
    ];
    for (const headers of refusals) {
      const refused = await api(jar, 'POST', '/api/v1/roles', headers, role());
      expect(refused.status, JSON.stringify(headers)).toBe(403);
      expect(refused.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(refused.json?.code).toBe('auth.csrf_failed');
    }
    expect((await api(jar, 'DELETE', '/api/v1/roles/role_nothing', {})).json?.code).toBe('auth.csrf_failed');

    // The token, from this origin (as a page's fetch sends it) or with no fetch metadata (a script).
    const fromPage = await api(
      jar,
      'POST',
      '/api/v1/roles',
      { 'x-csrf-token': csrf, origin: server.url, 'sec-fetch-site': 'same-origin' },
      role(),
    );
    expect(fromPage.status).toBe(201);
    expect((await api(jar, 'POST', '/api/v1/roles', { 'x-csrf-token': csrf }, role())).status).toBe(201);

    // Another person's session has another token: theirs does not open this one.
    const someoneElse = await signedIn({ superuser: true });
    const theirs = ((await api(someoneElse.jar, 'GET', '/api/v1/me')).json as unknown as Me).credential.csrf_token as string;
    expect(theirs).not.toBe(csrf);
    expect((await api(jar, 'POST', '/api/v1/roles', { 'x-csrf-token': theirs }, role())).status).toBe(403);
  });

  it('an Authorization header wins over the cookie', async () => {
    const { jar } = await signedIn();
    const wrong = await api(jar, 'GET', '/api/v1/me', {
      authorization: `Basic ${Buffer.from('nobody:wrong password').toString('base64')}`,
    });
    expect(wrong.status).toBe(401);
    expect(wrong.json?.code).toBe('auth.invalid_credentials');
  });

  it('after logout the session is refused: 401 problem+json, the cookie a stranger (public routes still serve)', async () => {
    const { jar } = await signedIn();
    const before = jar.clone();
    const page = await browse(server.url, jar, '/oauth/logout');
    expect(page.status).toBe(200);
    const done = await browse(server.url, jar, formAction(page.body) as string, {
      xsrf: hiddenField(page.body, 'xsrf') as string,
      logout: 'yes',
    });
    expect(done.status).toBeLessThan(400);
    expect(jar.has('_session')).toBe(false);
    // The old cookie, replayed:
    const replayed = await api(before, 'GET', '/api/v1/me');
    expect(replayed.status).toBe(401);
    expect(replayed.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(replayed.headers.get('www-authenticate')).toContain('Basic');
    expect((await api(before, 'GET', '/api/v1/openapi.json')).status).toBe(200);
  });

  it("a deactivated person's session is refused at once", async () => {
    const { person, jar } = await signedIn();
    expect((await api(jar, 'GET', '/api/v1/me')).status).toBe(200);
    await server.services.users.deactivate(systemPrincipal, person.user.id);
    expect((await api(jar, 'GET', '/api/v1/me')).status).toBe(401);
  });

  it('an expired session is refused', async () => {
    const { person, jar } = await signedIn();
    expect((await api(jar, 'GET', '/api/v1/me')).status).toBe(200);
    // Only Date moves (timers keep running): past SESSION_TTL_SECONDS (14 days by default).
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + 15 * 86400 * 1000 });
    try {
      expect((await api(jar, 'GET', '/api/v1/me')).status).toBe(401);
      // The session's age alone refused it: the person's password still opens the API then.
      const basic = `Basic ${Buffer.from(`${person.username}:${person.password}`).toString('base64')}`;
      expect((await api(null, 'GET', '/api/v1/me', { authorization: basic })).status).toBe(200);
    } finally {
      vi.useRealTimers();
    }
  });

  it('reading a session writes nothing: no cookie costs no statement, a stranger cookie no write', async () => {
    const counter = countStatements();
    try {
      counter.reset();
      expect((await api(null, 'GET', '/api/v1/me')).status).toBe(401);
      expect((await api(null, 'POST', '/api/v1/roles', {}, { name: 'x' })).status).toBe(401);
      expect(counter.count).toBe(0);
    } finally {
      counter.restore();
    }
    const rows = async () => (await server.sql<{ n: number }>('SELECT count(*)::int AS n FROM oidc_artifacts'))[0]?.n;
    const { jar } = await signedIn();
    const stale = jar.clone();
    await browse(server.url, jar, '/oauth/logout').then((page) =>
      browse(server.url, jar, formAction(page.body) as string, { xsrf: hiddenField(page.body, 'xsrf') as string, logout: 'yes' }),
    );
    const before = await rows();
    for (let i = 0; i < 3; i++) expect((await api(stale, 'GET', '/api/v1/me')).status).toBe(401);
    const forged = { header: () => '_session=made-up-value; _session.sig=made-up-signature' } as unknown as CookieJar;
    expect((await api(forged, 'GET', '/api/v1/me')).status).toBe(401);
    expect(await rows()).toBe(before);
  });
});

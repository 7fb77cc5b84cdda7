import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  approveOnDevicePage,
  authorizeDevice,
  browseFrom,
  enterCode,
  enterCodeFrom,
  handOver,
  makeDeviceClient,
  openConfirm,
  pollToken,
} from '../../support/device.ts';
import { makeApi } from '../../support/fixtures.ts';
import { useTwoInstances } from '../../support/instances.ts';
import { sendRaw } from '../../support/raw-http.ts';
import { startTestServer, type TestServer } from '../../support/server.ts';
import { browse, CookieJar, formAction, hiddenField, makePerson } from '../../support/sign-in.ts';
import { TEST_DB } from '../../support/test-database.ts';

/**
 * The verification page of the device flow (RFC 8628 §3.3): code entry (case- and
 * dash-insensitive, §6.1), arrival through verification_uri_complete, the confirm page, CSRF on
 * every form, no stored state for a visitor who has not typed a code that works, and the
 * throttle on user-code guessing per client IP (§5.1).
 */
const LIMIT = 3;
const ENV = { TRUST_PROXY: 'true', DEVICE_USER_CODE_MAX_FAILURES_PER_IP: String(LIMIT), PASSWORD_BLOCK_SECONDS: '60' };

let ipCounter = 0;
/** An address of its own for each test (TEST-NET-3), so their counts do not mix. */
const freshIp = () => `203.0.113.${++ipCounter}`;

describe('device verification page', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ env: ENV });
  });
  afterAll(() => server?.close());

  const countArtifacts = async () => (await server.sql<{ n: number }>('SELECT count(*)::int AS n FROM oidc_artifacts'))[0]?.n ?? 0;
  const pending = async (userCode: string) => {
    const page = await browse(server.url, new CookieJar(), `/device?user_code=${encodeURIComponent(userCode)}`);
    return page.status === 200 && page.body.includes('name="xsrf"');
  };

  it('shows the code-entry page, with a labelled field and a CSRF field, and stores nothing', async () => {
    const before = await countArtifacts();
    const jar = new CookieJar();
    // Other spellings (/device/, /DEVICE) are unknown paths, as for every route (protocol-surface.test.ts).
    for (const path of ['/device', '/device?x=1']) {
      const page = await browse(server.url, jar, path);
      expect(page.status, path).toBe(200);
      expect(page.headers.get('content-type')).toMatch(/^text\/html/);
      expect(page.body).toContain('<label for="user-code">Code</label>');
      expect(page.body).toContain('name="user_code"');
      expect(hiddenField(page.body, 'csrf')).toMatch(/^[\w-]{43}$/);
      expect(page.headers.get('cache-control')).toBe('no-store');
      expect(page.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    }
    for (const path of ['/device/', '/DEVICE', '/Device?x=1']) expect((await browse(server.url, jar, path)).status, path).toBe(404);
    expect(jar.has('_session')).toBe(false);
    expect(jar.has('_device_entry')).toBe(true);
    expect(await countArtifacts()).toBe(before);
  });

  for (const [label, shape] of [
    ['lower case with the dash', (c: string) => c.toLowerCase()],
    ['lower case without the dash', (c: string) => c.toLowerCase().replace('-', '')],
    ['upper case without the dash', (c: string) => c.replace('-', '')],
    ['with spaces around and inside', (c: string) => `  ${c.slice(0, 4)} ${c.slice(5)}  `],
  ] as const) {
    it(`accepts the code typed ${label}`, async () => {
      const client = await makeDeviceClient(server.services);
      const auth = await authorizeDevice(server.url, client);
      const jar = new CookieJar();
      const entered = await enterCode(server.url, jar, shape(auth.user_code));
      expect(entered.status, entered.body.slice(0, 300)).toBe(303);
      expect(entered.location).toBe(`/device?user_code=${auth.user_code}`);
      const confirm = await handOver(server.url, jar, await browse(server.url, jar, entered.location as string));
      expect(confirm.status).toBe(200);
      expect(confirm.body).toContain(auth.user_code);
    });
  }

  it('arrives through verification_uri_complete at the confirm page, which names the client and what it asks for in words', async () => {
    const api = await makeApi(server.services, { name: 'Photo Library', scopes: ['read', 'write'] });
    const client = await makeDeviceClient(server.services, {
      name: 'Living-room TV',
      apis: [{ identifier: api.identifier, scopes: ['read'] }],
    });
    const auth = await authorizeDevice(server.url, client, { scope: 'openid profile email read', resource: api.identifier });
    const jar = new CookieJar();
    const handing = await browse(
      server.url,
      jar,
      new URL(auth.verification_uri_complete).pathname + new URL(auth.verification_uri_complete).search,
    );
    // oidc-provider's hand-over: an auto-submitting form with its xsrf secret, allowed by the CSP's hash
    expect(handing.status).toBe(200);
    expect(handing.headers.get('content-security-policy')).toMatch(/script-src 'self' 'sha256-/);
    const confirm = await handOver(server.url, jar, handing);
    expect(confirm.status).toBe(200);
    expect(confirm.body).toContain('Living-room TV');
    expect(confirm.body).toContain(auth.user_code);
    expect(confirm.body).toContain('Photo Library');
    expect(confirm.body).toMatch(/email address/i);
    expect(confirm.body).toContain('name="abort"');
    expect(hiddenField(confirm.body, 'xsrf')).toBeTruthy();
  });

  it('says what is wrong with a wrong, expired-looking or empty code, writing nothing and keeping the code typed', async () => {
    const before = await countArtifacts();
    const jar = new CookieJar();
    const ip = freshIp();
    const wrong = await enterCodeFrom(server.url, jar, ip, 'bcdf-ghjk');
    expect(wrong.status).toBe(400);
    expect(wrong.body).toContain('That code is not right');
    expect(wrong.body).toContain('value="bcdf-ghjk"');
    expect(wrong.body).toContain('aria-invalid="true"');
    const empty = await enterCodeFrom(server.url, jar, ip, '');
    expect(empty.status).toBe(400);
    expect(empty.body).toContain('Enter the code shown on your device');
    const viaLink = await browseFrom(server.url, jar, ip, '/device?user_code=ZZZZ-ZZZZ');
    expect(viaLink.status).toBe(400);
    expect(viaLink.body).toContain('That code is not right');
    expect(jar.has('_session')).toBe(false);
    expect(await countArtifacts()).toBe(before);
  });

  it('says a code was already used once it was approved or denied', async () => {
    const client = await makeDeviceClient(server.services);
    const person = await makePerson(server.services);
    const auth = await authorizeDevice(server.url, client);
    await approveOnDevicePage(server.url, auth.user_code, person, { deny: true });
    const again = await enterCode(server.url, new CookieJar(), auth.user_code);
    expect(again.status).toBe(400);
    expect(again.body).toContain('already been used');
  });

  it('shows the unknown-application page when the client was removed after asking for the code', async () => {
    const client = await makeDeviceClient(server.services);
    const auth = await authorizeDevice(server.url, client);
    await server.services.applications.remove(client.clientId, 'test');
    const jar = new CookieJar();
    const entered = await enterCode(server.url, jar, auth.user_code);
    expect(entered.status).toBe(303);
    const page = await handOver(server.url, jar, await browse(server.url, jar, entered.location as string));
    expect(page.status).toBe(400);
    expect(page.body).toContain('Unknown application');
    expect(page.body).not.toContain('name="confirm"');
  });

  it('refuses an entry form without its CSRF token, or from another browser, looking nothing up', async () => {
    const client = await makeDeviceClient(server.services);
    const auth = await authorizeDevice(server.url, client);
    const jar = new CookieJar();
    await browse(server.url, jar, '/device');
    const missing = await browse(server.url, jar, '/device', { user_code: auth.user_code });
    expect(missing.status).toBe(403);
    expect(missing.location).toBeNull();
    expect(missing.body).toContain('Something went wrong. Enter the code again.');
    // A token from another browser's page does not fit this browser's cookie.
    const other = new CookieJar();
    const token = hiddenField((await browse(server.url, other, '/device')).body, 'csrf') as string;
    const foreign = await browse(server.url, jar, '/device', { csrf: token, user_code: auth.user_code });
    expect(foreign.status).toBe(403);
    // Without any cookie (a cross-site form post carries none: SameSite=Lax).
    const bare = await sendRaw(server.url, {
      method: 'POST',
      path: '/device',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ csrf: token, user_code: auth.user_code }).toString(),
    });
    expect(bare.status).toBe(403);
    expect(await pending(auth.user_code)).toBe(true);
  });

  it("refuses the confirm form without the library's xsrf secret: the request stays pending", async () => {
    const client = await makeDeviceClient(server.services);
    const auth = await authorizeDevice(server.url, client);
    const { jar, confirm } = await openConfirm(server.url, auth.user_code);
    const action = formAction(confirm.body) as string;
    const noXsrf = await browse(server.url, jar, action, { user_code: auth.user_code, confirm: 'yes' });
    expect(noXsrf.status).toBe(403);
    const wrongXsrf = await browse(server.url, jar, action, { xsrf: 'not-the-secret', user_code: auth.user_code, confirm: 'yes' });
    expect(wrongXsrf.status).toBe(400);
    expect(wrongXsrf.body).toContain('Enter the code again');
    // Another browser (no session) cannot confirm with a secret it copied either.
    const stolen = await browse(server.url, new CookieJar(), action, {
      xsrf: hiddenField(confirm.body, 'xsrf') as string,
      user_code: auth.user_code,
      confirm: 'yes',
    });
    expect(stolen.status).toBe(403);
    expect(await pending(auth.user_code)).toBe(true);
    expect((await pollToken(server.url, client, auth.device_code)).body.error).toBe('authorization_pending');
  });

  it('answers the resume step and the confirm form of a browser without a stored session with a page, storing nothing', async () => {
    const client = await makeDeviceClient(server.services);
    const auth = await authorizeDevice(server.url, client);
    const before = await countArtifacts();
    const forged = { cookie: '_session=abc; _session.sig=def' };
    for (const req of [
      { method: 'GET', path: '/device/some-uid' },
      { method: 'GET', path: '/device/some-uid', headers: forged },
      {
        method: 'POST',
        path: '/device',
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...forged },
        body: new URLSearchParams({ xsrf: 'x', user_code: auth.user_code, confirm: 'yes' }).toString(),
      },
    ]) {
      const res = await sendRaw(server.url, { ...req, headers: { accept: 'text/html', ...req.headers } });
      expect(res.status, `${req.method} ${req.path}`).toBeLessThan(500);
      expect(res.status, `${req.method} ${req.path}`).toBeGreaterThanOrEqual(400);
      expect(res.headers['content-type'], req.path).toMatch(/^text\/html/);
      expect([res.headers['set-cookie'] ?? []].flat().some((c) => c.startsWith('_session='))).toBe(false);
    }
    expect(await countArtifacts()).toBe(before);
    expect(await pending(auth.user_code)).toBe(true);
  });

  it('blocks an address after too many wrong codes: a page saying so, an audit line per attempt, even the right code refused', async () => {
    const client = await makeDeviceClient(server.services);
    const auth = await authorizeDevice(server.url, client);
    const ip = freshIp();
    const jar = new CookieJar();
    const statuses: number[] = [];
    for (let i = 0; i < LIMIT + 1; i++) statuses.push((await enterCodeFrom(server.url, jar, ip, `WRNG-${i}XYZ`)).status);
    expect(statuses).toEqual([400, 400, 400, 429]);

    const blocked = await enterCodeFrom(server.url, jar, ip, auth.user_code);
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(blocked.body).toContain('Too many attempts');
    expect(blocked.body).toContain('href="/device"');
    const viaLink = await browseFrom(server.url, jar, ip, auth.verification_uri_complete);
    expect(viaLink.status).toBe(429);

    const refused = server.logs.records().filter((r) => r.audit === 'device.user_code_blocked' && r.ip === ip);
    expect(refused.length).toBe(3);
    expect(
      server.logs.records().filter((r) => r.msg === 'device user-code entry blocked: too many wrong codes' && r.ip === ip),
    ).toHaveLength(1);
    expect(server.logs.text).not.toContain(auth.user_code);

    // Another address is not held back, and the code still works there.
    const elsewhere = await enterCodeFrom(server.url, new CookieJar(), freshIp(), auth.user_code);
    expect(elsewhere.status).toBe(303);
  });
});

describe('device verification page: no throttle when the limit is 0', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ env: { ...ENV, DEVICE_USER_CODE_MAX_FAILURES_PER_IP: '0' } });
  });
  afterAll(() => server?.close());

  it('answers every wrong code with the entry page', async () => {
    const ip = freshIp();
    const statuses: number[] = [];
    for (let i = 0; i < LIMIT + 3; i++) statuses.push((await enterCodeFrom(server.url, new CookieJar(), ip, `WRNG-${i}XYZ`)).status);
    expect(new Set(statuses)).toEqual(new Set([400]));
  });
});

describe.runIf(TEST_DB === 'postgres')('device user-code throttle: two instances on one PostgreSQL database', () => {
  const instances = useTwoInstances(ENV);

  it('share one count per address and one block', async () => {
    const { a, b } = instances;
    const ip = freshIp();
    const statuses: number[] = [];
    for (let i = 0; i < LIMIT + 1; i++) {
      statuses.push((await enterCodeFrom((i % 2 ? b : a).url, new CookieJar(), ip, `WRNG-${i}XYZ`)).status);
    }
    expect(statuses).toEqual([400, 400, 400, 429]);
    expect((await enterCodeFrom(a.url, new CookieJar(), ip, 'BCDF-GHJK')).status).toBe(429);
    expect((await enterCodeFrom(b.url, new CookieJar(), ip, 'BCDF-GHJK')).status).toBe(429);
  });

  it('share the polling pace: a poll on the other instance right after one is slow_down', async () => {
    const { a, b } = instances;
    const client = await makeDeviceClient(a.services);
    const auth = await authorizeDevice(a.url, client);
    expect((await pollToken(a.url, client, auth.device_code)).body.error).toBe('authorization_pending');
    expect((await pollToken(b.url, client, auth.device_code)).body.error).toBe('slow_down');
  });
});

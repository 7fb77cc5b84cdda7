import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basicAuth, CHEAP_PASSWORDS, call, makeUser, uniqueName } from '../support/admin-http.ts';
import { useTwoInstances } from '../support/instances.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { TEST_DB } from '../support/test-database.ts';
import type { RawResponse } from '../support/tokens.ts';

/**
 * HTTP Basic on the admin API is throttled like the sign-in page will be (DESIGN.md §5): failures
 * per presented username and per client IP, slowed past half the limit, then blocked with 429 and
 * `Retry-After`; a blocked and an unknown account read the same; each blocked attempt writes an
 * audit line; a block refuses even the right password, except from an address the account signed
 * in from before, so an attacker cannot lock its owner out. Small limits here: 3 failures per
 * account, 6 per IP.
 */

const PER_ACCOUNT = 3;
const PER_IP = 6;
const BLOCK_SECONDS = 30;
const LIMITS = {
  ...CHEAP_PASSWORDS,
  TRUST_PROXY: 'true', // lets a test pick its client IP with X-Forwarded-For
  PASSWORD_MAX_FAILURES_PER_ACCOUNT: String(PER_ACCOUNT),
  PASSWORD_MAX_FAILURES_PER_IP: String(PER_IP),
  PASSWORD_BLOCK_SECONDS: String(BLOCK_SECONDS),
  PASSWORD_MAX_BLOCK_SECONDS: '60',
};
const PASSWORD = 'correct horse battery staple';
const BLOCK_STARTED = 'password sign-in blocked: too many failures';
const REFUSED = 'password sign-in refused: blocked';

let ipCounter = randomBytes(2).readUInt16BE() * 64;
function freshIp(): string {
  const n = ipCounter++;
  return `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
}

function signIn(server: TestServer, username: string, password: string, ip: string): Promise<RawResponse> {
  return call(server, 'GET', '/api/v1/me', { auth: basicAuth(username, password), headers: { 'x-forwarded-for': ip } });
}

function expectBlocked(res: RawResponse) {
  expect(res.status, res.text).toBe(429);
  expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(res.json?.code).toBe('auth.too_many_failures');
  const retryAfter = Number(res.headers.get('retry-after'));
  expect(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= BLOCK_SECONDS, `Retry-After: ${retryAfter}`).toBe(true);
  return retryAfter;
}

describe('password throttle (HTTP Basic)', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ env: LIMITS });
  });
  afterAll(() => server?.close());

  it('answers 401 up to the per-account limit, then 429 with Retry-After, refusing even the right password', async () => {
    const user = await makeUser(server.services, { password: PASSWORD });
    const statuses: number[] = [];
    for (let i = 0; i < PER_ACCOUNT + 1; i++) statuses.push((await signIn(server, user.username, `wrong-${i}`, freshIp())).status);
    expect(statuses).toEqual([401, 401, 401, 429]);
    // The block holds the account: the right password from a new address is refused too.
    expectBlocked(await signIn(server, user.username, PASSWORD, freshIp()));
    // Other accounts are not held by it.
    const other = await makeUser(server.services, { password: PASSWORD });
    expect((await signIn(server, other.username, PASSWORD, freshIp())).status).toBe(200);
  });

  it('a blocked account reads exactly as a blocked unknown one', async () => {
    const user = await makeUser(server.services, { password: PASSWORD });
    const unknown = uniqueName('nobody');
    const answers: Record<string, RawResponse[]> = { known: [], unknown: [] };
    for (let i = 0; i < PER_ACCOUNT + 2; i++) {
      answers.known?.push(await signIn(server, user.username, `wrong-${i}`, freshIp()));
      answers.unknown?.push(await signIn(server, unknown, `wrong-${i}`, freshIp()));
    }
    const shape = (list: RawResponse[] = []) =>
      list.map((r) => ({ status: r.status, body: r.json, retryAfter: r.headers.get('retry-after') }));
    expect(shape(answers.known)).toEqual(shape(answers.unknown));
    expect(shape(answers.known).map((a) => a.status)).toEqual([401, 401, 401, 429, 429]);
  });

  it('slows the failures past half the limit before it blocks', async () => {
    const user = await makeUser(server.services, { password: PASSWORD });
    const elapsed: number[] = [];
    for (let i = 0; i < PER_ACCOUNT; i++) {
      const started = performance.now();
      expect((await signIn(server, user.username, `wrong-${i}`, freshIp())).status).toBe(401);
      elapsed.push(performance.now() - started);
    }
    // failures 1 and 2 are at most half of 3; the third waits 250 ms more
    expect(elapsed[2]).toBeGreaterThanOrEqual(250);
    expect(elapsed[0]).toBeLessThan(250);
  });

  it('writes an audit line for each blocked attempt and logs the block once, never a password', async () => {
    const user = await makeUser(server.services, { password: PASSWORD });
    const passwords = Array.from({ length: PER_ACCOUNT + 3 }, (_, i) => `guess-${randomBytes(6).toString('hex')}-${i}`);
    for (const password of passwords) await signIn(server, user.username, password, freshIp());
    const mine = (msg: string) => server.logs.records().filter((r) => r.msg === msg && r.username === user.username);
    expect(mine(BLOCK_STARTED)).toHaveLength(1);
    expect(mine(BLOCK_STARTED)[0]).toMatchObject({ limit: 'account', maxFailures: PER_ACCOUNT, blockSeconds: BLOCK_SECONDS });
    const refused = mine(REFUSED);
    expect(refused).toHaveLength(2); // the attempts after the one that started the block
    expect(refused[0]).toMatchObject({ audit: 'auth.password_blocked', path: '/api/v1/me' });
    for (const password of passwords) expect(server.logs.text).not.toContain(password);
  });

  it('does not lock the owner out: an address the account signed in from before is not held by its block', async () => {
    const user = await makeUser(server.services, { password: PASSWORD });
    const home = freshIp();
    expect((await signIn(server, user.username, PASSWORD, home)).status).toBe(200);
    // Someone elsewhere fails on purpose until the account is blocked…
    for (let i = 0; i < PER_ACCOUNT + 1; i++) await signIn(server, user.username, `wrong-${i}`, freshIp());
    expectBlocked(await signIn(server, user.username, PASSWORD, freshIp()));
    // …and the owner still signs in from home.
    expect((await signIn(server, user.username, PASSWORD, home)).status).toBe(200);
    // Guessing from that same address is still limited, per account and address.
    const statuses: number[] = [];
    for (let i = 0; i < PER_ACCOUNT + 1; i++) statuses.push((await signIn(server, user.username, `wrong-${i}`, home)).status);
    expect(statuses).toEqual([401, 401, 401, 429]);
    expectBlocked(await signIn(server, user.username, PASSWORD, home));
  });

  it('blocks an address that tries many usernames, for every account, and only that address', async () => {
    const ip = freshIp();
    for (let i = 0; i < PER_IP; i++) expect((await signIn(server, uniqueName('spray'), 'password1', ip)).status).toBe(401);
    expect((await signIn(server, uniqueName('spray'), 'password1', ip)).status).toBe(429);
    const user = await makeUser(server.services, { password: PASSWORD });
    expectBlocked(await signIn(server, user.username, PASSWORD, ip));
    expect((await signIn(server, user.username, PASSWORD, freshIp())).status).toBe(200);
  });

  it('tokens are never held by a password block', async () => {
    const user = await makeUser(server.services, { password: PASSWORD, permissions: ['view_user'] });
    const { secret } = await server.services.apiTokens.create(
      { userId: null, isSuperuser: true, permissions: new Set(), actor: 'test' },
      { userId: user.id },
    );
    const ip = freshIp();
    for (let i = 0; i < PER_ACCOUNT + 1; i++) await signIn(server, user.username, `wrong-${i}`, ip);
    expectBlocked(await signIn(server, user.username, PASSWORD, ip));
    const res = await call(server, 'GET', '/api/v1/me', { auth: `Token ${secret}`, headers: { 'x-forwarded-for': ip } });
    expect(res.status, res.text).toBe(200);
  });
});

describe('password throttle: blocks end', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ env: { ...LIMITS, PASSWORD_BLOCK_SECONDS: '1', PASSWORD_MAX_BLOCK_SECONDS: '2' } });
  });
  afterAll(() => server?.close());

  it('the right password works again once the block is over', async () => {
    const user = await makeUser(server.services, { password: PASSWORD });
    for (let i = 0; i < PER_ACCOUNT + 1; i++) await signIn(server, user.username, `wrong-${i}`, freshIp());
    expect((await signIn(server, user.username, PASSWORD, freshIp())).status).toBe(429);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect((await signIn(server, user.username, PASSWORD, freshIp())).status).toBe(200);
  });
});

describe.runIf(TEST_DB === 'postgres')('password throttle: two instances on one PostgreSQL database', () => {
  const instances = useTwoInstances(LIMITS);

  it('share one count per account and one block: the other instance refuses the right password', async () => {
    const { a, b } = instances;
    const user = await makeUser(a.services, { password: PASSWORD });
    const statuses: number[] = [];
    for (let i = 0; i < PER_ACCOUNT + 1; i++) {
      statuses.push((await signIn(i % 2 ? b : a, user.username, `wrong-${i}`, freshIp())).status);
    }
    expect(statuses).toEqual([401, 401, 401, 429]);
    // Each instance refuses the right password now, even one that counted no failure of its own last.
    expectBlocked(await signIn(a, user.username, PASSWORD, freshIp()));
    expectBlocked(await signIn(b, user.username, PASSWORD, freshIp()));
  });
});

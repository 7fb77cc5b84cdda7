import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemPrincipal } from '../../../src/domain/access/principal.ts';
import { startTestServer, type TestServer } from '../../support/server.ts';
import { authorizeUrl, browse, follow, makePerson, makeWebClient, openLogin, signIn } from '../../support/sign-in.ts';

/**
 * The login page's protection (README "Security model"): failed sign-ins are slowed, then blocked
 * for a while, per account and per address, with the password throttle HTTP Basic uses
 * (http/password-throttle.ts); a blocked account reads exactly as a wrong password or an unknown
 * account; each blocked attempt writes an audit line; a deactivated person cannot sign in and their
 * browser session stops counting.
 */
const INVALID = 'The username or password is not right.';

describe('sign-in protection', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({
      env: { PASSWORD_MAX_FAILURES_PER_ACCOUNT: '4', PASSWORD_MAX_FAILURES_PER_IP: '1000', PASSWORD_BLOCK_SECONDS: '60' },
    });
  });
  afterAll(() => server?.close());

  it('blocks an account after its failures: the right password is refused exactly as a wrong one', async () => {
    const client = await makeWebClient(server.services);
    const person = await makePerson(server.services);
    const request = { clientId: client.clientId, redirectUri: client.redirectUri };
    const login = await openLogin(server.url, request);
    for (let i = 0; i < 5; i++) {
      const failed = await login.submit(person.username, 'wrong password');
      expect(failed.status).toBe(400);
      expect(failed.body).toContain(INVALID);
    }
    const blocked = await login.submit(person.username, person.password);
    expect(blocked.status).toBe(400);
    expect(blocked.body).toContain(INVALID);
    // An unknown account and a blocked one: the same page, word for word but the request ids.
    const unknown = await login.submit('nobody-at-all', 'whatever password');
    const strip = (html: string) => html.replace(/<code>[^<]*<\/code>/g, '').replace(/(id="username"[^>]*?)value="[^"]*"/, '$1');
    expect(strip(unknown.body)).toBe(strip(blocked.body));
    const audit = server.logs.records().filter((r) => r.audit === 'auth.password_blocked' && r.username === person.username);
    expect(audit.length).toBeGreaterThanOrEqual(1);
    expect(JSON.stringify(audit)).not.toContain(person.password);
  });

  it('slows failures past half of the limit before it blocks', async () => {
    const client = await makeWebClient(server.services);
    const person = await makePerson(server.services);
    const login = await openLogin(server.url, { clientId: client.clientId, redirectUri: client.redirectUri });
    const times: number[] = [];
    for (let i = 0; i < 4; i++) {
      const started = performance.now();
      await login.submit(person.username, 'wrong password');
      times.push(performance.now() - started);
    }
    // Failures 3 and 4 (past half of 4) wait 250 and 500 ms more than the first two.
    expect(times[3] as number).toBeGreaterThan((times[0] as number) + 400);
  });

  it('a deactivated person cannot sign in, and their browser session stops counting', async () => {
    const client = await makeWebClient(server.services);
    const person = await makePerson(server.services);
    const request = { clientId: client.clientId, redirectUri: client.redirectUri };
    const signed = await signIn(server.url, request, person);
    await server.services.users.deactivate(systemPrincipal, person.user.id);
    // The same browser: asked to sign in again, not sent back with a code.
    const again = await follow(server.url, signed.jar, await browse(server.url, signed.jar, authorizeUrl(request)));
    expect(again.status).toBe(200);
    expect(again.body).toContain('name="password"');
    const login = await openLogin(server.url, request);
    const refused = await login.submit(person.username, person.password);
    expect(refused.body).toContain(INVALID);
  });
});

describe('sign-in protection per address', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ env: { PASSWORD_MAX_FAILURES_PER_IP: '3', PASSWORD_BLOCK_SECONDS: '60' } });
  });
  afterAll(() => server?.close());

  it('blocks an address after its failures, whatever the usernames, and says so', async () => {
    const client = await makeWebClient(server.services);
    const person = await makePerson(server.services);
    const login = await openLogin(server.url, { clientId: client.clientId, redirectUri: client.redirectUri });
    for (const name of ['a1', 'a2', 'a3']) expect((await login.submit(name, 'wrong password')).status).toBe(400);
    const blocked = await login.submit('a4', 'wrong password');
    expect(blocked.status).toBe(429);
    expect(blocked.body).toContain('Too many sign-in attempts from your network');
    expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(0);
    // Even a person with the right password, from this address, until the block ends.
    const refused = await login.submit(person.username, person.password);
    expect(refused.status).toBe(429);
    expect(server.logs.records().some((r) => r.audit === 'auth.password_blocked' && r.limit === 'ip')).toBe(true);
  });
});

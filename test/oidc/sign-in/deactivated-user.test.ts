import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHEAP_PASSWORDS, makeToken } from '../../support/admin-http.ts';
import { runCli } from '../../support/cli.ts';
import { basicAuth, makeApi, makeClient, postForm } from '../../support/fixtures.ts';
import { startTestServer, type TestServer } from '../../support/server.ts';
import { exchangeCode, makePerson, makeWebClient, pkce, signIn } from '../../support/sign-in.ts';

/**
 * "A deactivated user cannot sign in and their sessions end" (issue 11, item 1), everything their
 * sign-in made, when the operator deactivates them as operators do (`gatehouse users deactivate`):
 * refresh tokens are refused (`invalid_grant`), access tokens — JWT and opaque — introspect
 * inactive to their client and to the API (DESIGN.md §5), userinfo answers 401, API tokens and the
 * browser session stop opening the admin API. The login page's refusal and the browser session at
 * the authorization endpoint are in login-protection.test.ts.
 */
describe('a deactivated person', { timeout: 120_000 }, () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ env: CHEAP_PASSWORDS });
  });
  afterAll(() => server?.close());

  it('loses every token and session their sign-in made, at once', async () => {
    const api = await makeApi(server.services);
    const client = await makeWebClient(server.services, { apis: [{ identifier: api.identifier }] });
    const rs = await makeClient(server.services, { apis: [{ identifier: api.identifier, introspect: true }] });
    const person = await makePerson(server.services);
    const asClient = { authorization: basicAuth(client.clientId, client.clientSecret as string) };
    const asApi = { authorization: basicAuth(rs.clientId, rs.clientSecret) };

    // One sign-in for the API (a JWT access token), one for userinfo (an opaque one), both with refresh tokens.
    const tokensFor = async (extra: { resource?: string; scope: string }) => {
      const { verifier, challenge } = pkce();
      const signed = await signIn(
        server.url,
        { clientId: client.clientId, redirectUri: client.redirectUri, codeChallenge: challenge, ...extra },
        person,
      );
      const tokens = await exchangeCode(server.url, client, signed.callback, verifier);
      expect(tokens.status, JSON.stringify(tokens.body)).toBe(200);
      return { access: tokens.body.access_token as string, refresh: tokens.body.refresh_token as string, jar: signed.jar };
    };
    const forApi = await tokensFor({ resource: api.identifier, scope: 'openid read' });
    const forUserinfo = await tokensFor({ scope: 'openid profile' });
    expect(forApi.access.split('.')).toHaveLength(3);
    expect(forUserinfo.access.split('.')).toHaveLength(1);
    const { secret: apiToken } = await makeToken(server.services, person.user.id);

    const introspect = async (token: string, as: Record<string, string>) =>
      (await postForm(`${server.url}/oauth/introspect`, { token }, as)).body.active;
    const userinfo = async () =>
      (await fetch(`${server.url}/oauth/userinfo`, { headers: { authorization: `Bearer ${forUserinfo.access}` } })).status;
    const adminApi = async (headers: Record<string, string>) => (await fetch(`${server.url}/api/v1/me`, { headers })).status;
    const session = { cookie: forApi.jar.header('/api/v1/me') };

    // Before: all alive.
    expect(await introspect(forApi.access, asClient)).toBe(true);
    expect(await introspect(forApi.access, asApi)).toBe(true);
    expect(await introspect(forUserinfo.access, asClient)).toBe(true);
    expect(await introspect(forApi.refresh, asClient)).toBe(true);
    expect(await userinfo()).toBe(200);
    expect(await adminApi({ authorization: `Token ${apiToken}` })).toBe(200);
    expect(await adminApi(session)).toBe(200);

    const deactivated = await runCli(['users', 'deactivate', '--username', person.username], server.env);
    expect(deactivated.code, deactivated.stderr).toBe(0);

    // After: nothing opens anything.
    expect(await introspect(forApi.access, asClient)).toBe(false);
    expect(await introspect(forApi.access, asApi)).toBe(false);
    expect(await introspect(forUserinfo.access, asClient)).toBe(false);
    expect(await introspect(forApi.refresh, asClient)).toBe(false);
    expect(await userinfo()).toBe(401);
    expect(await adminApi({ authorization: `Token ${apiToken}` })).toBe(401);
    expect(await adminApi(session)).toBe(401);
    for (const refreshToken of [forApi.refresh, forUserinfo.refresh]) {
      const refreshed = await postForm(`${server.url}/oauth/token`, { grant_type: 'refresh_token', refresh_token: refreshToken }, asClient);
      expect(refreshed.status).toBe(400);
      expect(refreshed.body.error).toBe('invalid_grant');
    }
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemPrincipal } from '../../../src/domain/access/principal.ts';
import { CHEAP_PASSWORDS, makeToken } from '../../support/admin-http.ts';
import { runCli } from '../../support/cli.ts';
import { basicAuth, makeApi, makeClient, postForm } from '../../support/fixtures.ts';
import { startTestServer, type TestServer } from '../../support/server.ts';
import { authorizeUrl, browse, exchangeCode, follow, makePerson, makeWebClient, pkce, signIn } from '../../support/sign-in.ts';

/**
 * "A deactivated user cannot sign in and their sessions end" (issue 11, item 1): everything their
 * sign-ins made ends when the operator deactivates them as operators do (`gatehouse users
 * deactivate`, the admin API's PATCH): refresh tokens are refused (`invalid_grant`), access tokens —
 * JWT and opaque — introspect inactive to their client and to the API (DESIGN.md §5), userinfo
 * answers 401, API tokens and the browser session stop opening the admin API. Deactivating is a
 * cut-off: activating the person again brings back none of the sessions and tokens of before (their
 * API tokens, which an administrator made, do come back). The login page's refusal is in
 * login-protection.test.ts.
 */
describe('a deactivated person', { timeout: 120_000 }, () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ env: CHEAP_PASSWORDS });
  });
  afterAll(() => server?.close());

  /** A person signed in twice (a JWT for an API, an opaque token for userinfo), with an API token; and how each fares. */
  async function signedInEverywhere() {
    const api = await makeApi(server.services);
    const client = await makeWebClient(server.services, { apis: [{ identifier: api.identifier }] });
    const rs = await makeClient(server.services, { apis: [{ identifier: api.identifier, introspect: true }] });
    const person = await makePerson(server.services);
    const asClient = { authorization: basicAuth(client.clientId, client.clientSecret as string) };
    const asApi = { authorization: basicAuth(rs.clientId, rs.clientSecret) };
    const request = { clientId: client.clientId, redirectUri: client.redirectUri };

    const tokensFor = async (extra: { resource?: string; scope: string }) => {
      const { verifier, challenge } = pkce();
      const signed = await signIn(server.url, { ...request, codeChallenge: challenge, ...extra }, person);
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
    const adminApi = async (headers: Record<string, string>) => (await fetch(`${server.url}/api/v1/me`, { headers })).status;

    /** How each thing the sign-ins made fares now (refreshing last: a refresh rotates the token). */
    async function state() {
      const refreshed = await postForm(
        `${server.url}/oauth/token`,
        { grant_type: 'refresh_token', refresh_token: forUserinfo.refresh },
        asClient,
      );
      if (refreshed.status === 200) forUserinfo.refresh = refreshed.body.refresh_token as string;
      const again = await follow(server.url, forApi.jar, await browse(server.url, forApi.jar, authorizeUrl(request)));
      return {
        jwtToClient: await introspect(forApi.access, asClient),
        jwtToApi: await introspect(forApi.access, asApi),
        opaqueToClient: await introspect(forUserinfo.access, asClient),
        refreshIntrospected: await introspect(forApi.refresh, asClient),
        userinfo: (await fetch(`${server.url}/oauth/userinfo`, { headers: { authorization: `Bearer ${forUserinfo.access}` } })).status,
        apiToken: await adminApi({ authorization: `Token ${apiToken}` }),
        adminSession: await adminApi({ cookie: forApi.jar.header('/api/v1/me') }),
        refresh: refreshed.status === 200 ? 'ok' : refreshed.body.error,
        // signed in still: sent back to the client; not: the login page
        browser: again.url.startsWith(client.redirectUri) ? 'signed in' : again.body.includes('name="password"') ? 'login' : again.status,
      };
    }
    return { person, request, state };
  }

  const ALIVE = {
    jwtToClient: true,
    jwtToApi: true,
    opaqueToClient: true,
    refreshIntrospected: true,
    userinfo: 200,
    apiToken: 200,
    adminSession: 200,
    refresh: 'ok',
    browser: 'signed in',
  };
  const ENDED = {
    jwtToClient: false,
    jwtToApi: false,
    opaqueToClient: false,
    refreshIntrospected: false,
    userinfo: 401,
    apiToken: 401,
    adminSession: 401,
    refresh: 'invalid_grant',
    browser: 'login',
  };

  it('loses every token and session their sign-ins made, at once', async () => {
    const { person, state } = await signedInEverywhere();
    expect(await state()).toEqual(ALIVE);
    const deactivated = await runCli(['users', 'deactivate', '--username', person.username], server.env);
    expect(deactivated.code, deactivated.stderr).toBe(0);
    expect(await state()).toEqual(ENDED);
  });

  it('activated again, gets none of them back: they sign in anew', async () => {
    const { person, request, state } = await signedInEverywhere();
    await server.services.users.change(systemPrincipal, person.user.id, { isActive: false });
    await server.services.users.change(systemPrincipal, person.user.id, { isActive: true });
    // Their API tokens were made by an administrator, not by a sign-in: those work again.
    expect(await state()).toEqual({ ...ENDED, apiToken: 200 });

    // A sign-in after the cut-off (made in a later second: times are whole seconds) counts.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const fresh = await signIn(server.url, request, person);
    expect(fresh.callback.searchParams.get('code')).toBeTruthy();
    expect((await fetch(`${server.url}/api/v1/me`, { headers: { cookie: fresh.jar.header('/api/v1/me') } })).status).toBe(200);
  });
});

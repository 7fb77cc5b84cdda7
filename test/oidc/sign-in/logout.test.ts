import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../support/server.ts';
import {
  authorizeUrl,
  browse,
  CookieJar,
  exchangeCode,
  follow,
  formAction,
  hiddenField,
  makePerson,
  makeWebClient,
  pkce,
  signIn,
} from '../../support/sign-in.ts';

/**
 * RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0): the confirmation page, the
 * redirect to a registered `post_logout_redirect_uri` only, the signed-out page that always offers
 * a way on, and a session that is really over afterwards.
 */
describe('RP-initiated logout', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server?.close());

  const POST_LOGOUT = 'https://app.example.test/signed-out';

  async function signedIn() {
    const client = await makeWebClient(server.services, { postLogoutRedirectUri: POST_LOGOUT });
    const person = await makePerson(server.services);
    const { verifier, challenge } = pkce();
    const signed = await signIn(
      server.url,
      { clientId: client.clientId, redirectUri: client.redirectUri, codeChallenge: challenge },
      person,
    );
    const tokens = await exchangeCode(server.url, client, signed.callback, verifier);
    expect(tokens.status).toBe(200);
    return { client, person, jar: signed.jar, idToken: tokens.body.id_token as string, tokens: tokens.body };
  }

  it('asks, then signs the person out and returns to the registered post_logout_redirect_uri with state', async () => {
    const { client, person, jar, idToken } = await signedIn();
    const params = new URLSearchParams({ id_token_hint: idToken, post_logout_redirect_uri: POST_LOGOUT, state: 'bye' });
    const page = await browse(server.url, jar, `/oauth/logout?${params}`);
    expect(page.status).toBe(200);
    expect(page.body).toContain('Sign out');
    expect(page.body).toContain(`You are signed in as ${person.username}`);
    // The confirmation's answer redirects to the client: the page's CSP must allow it.
    expect(page.headers.get('content-security-policy')).toContain("form-action 'self' https://app.example.test");
    const done = await browse(server.url, jar, formAction(page.body) as string, {
      xsrf: hiddenField(page.body, 'xsrf') as string,
      logout: 'yes',
    });
    expect(done.status).toBe(303);
    expect(done.location).toBe(`${POST_LOGOUT}?state=bye`);
    expect(jar.has('_session')).toBe(false);
    // Signed out for real: the next sign-in asks for the password again.
    const again = await follow(
      server.url,
      jar,
      await browse(server.url, jar, authorizeUrl({ clientId: client.clientId, redirectUri: client.redirectUri })),
    );
    expect(again.body).toContain('name="password"');
  });

  it('never redirects to an unregistered post_logout_redirect_uri: an error page instead', async () => {
    const { jar, idToken } = await signedIn();
    for (const uri of ['https://evil.example.test/', `${POST_LOGOUT}/x`]) {
      const params = new URLSearchParams({ id_token_hint: idToken, post_logout_redirect_uri: uri });
      const page = await browse(server.url, jar, `/oauth/logout?${params}`);
      expect(page.status).toBe(400);
      expect(page.location).toBeNull();
      expect(page.body).toContain('Something went wrong');
      expect(page.body).toContain('post_logout_redirect_uri');
    }
  });

  it('without a redirect, ends on the signed-out page, which says what to do next', async () => {
    const { client, jar } = await signedIn();
    const page = await browse(server.url, jar, `/oauth/logout?client_id=${client.clientId}`);
    const done = await browse(server.url, jar, formAction(page.body) as string, {
      xsrf: hiddenField(page.body, 'xsrf') as string,
      logout: 'yes',
    });
    expect(done.status).toBe(303);
    const signedOut = await follow(server.url, jar, done);
    expect(signedOut.status).toBe(200);
    expect(signedOut.body).toContain('You are signed out');
    expect(signedOut.body).toContain('You can close this window now.');
  });

  it('"No, stay signed in" signs out of that application only, with a way back to it', async () => {
    const { client, jar } = await signedIn();
    const page = await browse(server.url, jar, `/oauth/logout?client_id=${client.clientId}`);
    const done = await browse(server.url, jar, formAction(page.body) as string, { xsrf: hiddenField(page.body, 'xsrf') as string });
    const signedOut = await follow(server.url, jar, done);
    expect(signedOut.body).toContain('href="https://app.example.test/"');
    expect(jar.has('_session')).toBe(true);
  });

  it('the signed-out page without a client says what to do next (never a dead end)', async () => {
    const page = await browse(server.url, new CookieJar(), '/oauth/logout/success');
    expect(page.status).toBe(200);
    expect(page.body).toContain('You can close this window now.');
  });

  it('ends the grants of the session: refresh tokens issued during it stop working', async () => {
    const { client, jar, tokens } = await signedIn();
    const page = await browse(server.url, jar, `/oauth/logout?client_id=${client.clientId}`);
    await browse(server.url, jar, formAction(page.body) as string, { xsrf: hiddenField(page.body, 'xsrf') as string, logout: 'yes' });
    const refreshed = await fetch(`${server.url}/oauth/token`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${client.clientId}:${client.clientSecret}`).toString('base64')}`,
      },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token as string }).toString(),
    });
    expect(refreshed.status).toBe(400);
  });

  describe('with nobody signed in (nothing to end, so nothing is stored)', () => {
    const countRows = async () => (await server.sql<{ n: number }>('SELECT count(*)::int AS n FROM oidc_artifacts'))[0]?.n;

    it('goes straight back to a registered post_logout_redirect_uri with state (§3), and writes no row', async () => {
      const client = await makeWebClient(server.services, { postLogoutRedirectUri: POST_LOGOUT });
      const before = await countRows();
      const query = new URLSearchParams({ client_id: client.clientId, post_logout_redirect_uri: POST_LOGOUT, state: 's t&1' });
      const answer = await browse(server.url, new CookieJar(), `/oauth/logout?${query}`);
      expect(answer.status).toBe(303);
      expect(answer.location).toBe(`${POST_LOGOUT}?state=s+t%261`);
      expect(answer.headers.get('set-cookie')).toBeNull();
      expect(answer.headers.get('cache-control')).toBe('no-store');
      // the same by POST (§2: the OP supports both)
      const posted = await browse(server.url, new CookieJar(), '/oauth/logout', Object.fromEntries(query));
      expect(posted.status).toBe(303);
      expect(posted.location).toBe(`${POST_LOGOUT}?state=s+t%261`);
      // and by HEAD, which the router answers as GET
      const head = await fetch(`${server.url}/oauth/logout?${query}`, { method: 'HEAD', redirect: 'manual' });
      expect(head.status).toBe(303);
      expect(await countRows()).toBe(before);
    });

    it('accepts the client named by a valid id_token_hint, and refuses one that does not match client_id', async () => {
      const { client, idToken, jar } = await signedIn();
      // Signed out first: the hint outlives the session.
      const page = await browse(server.url, jar, `/oauth/logout?client_id=${client.clientId}`);
      await browse(server.url, jar, formAction(page.body) as string, { xsrf: hiddenField(page.body, 'xsrf') as string, logout: 'yes' });

      const hinted = new URLSearchParams({ id_token_hint: idToken, post_logout_redirect_uri: POST_LOGOUT });
      const answer = await browse(server.url, new CookieJar(), `/oauth/logout?${hinted}`);
      expect(answer.status).toBe(303);
      expect(answer.location).toBe(POST_LOGOUT);

      const other = await makeWebClient(server.services, { postLogoutRedirectUri: POST_LOGOUT });
      hinted.set('client_id', other.clientId);
      const mismatch = await browse(server.url, new CookieJar(), `/oauth/logout?${hinted}`);
      expect(mismatch.status).toBe(400);
      expect(mismatch.body).toContain('<html');
      expect(mismatch.location).toBeNull();

      const forged = `${idToken.slice(0, idToken.lastIndexOf('.'))}.${'A'.repeat(86)}`;
      const bad = await browse(server.url, new CookieJar(), `/oauth/logout?${new URLSearchParams({ id_token_hint: forged })}`);
      expect(bad.status).toBe(400);
      expect(bad.location).toBeNull();
    });

    it('answers an unregistered post_logout_redirect_uri, an unknown client and a repeated parameter with the error page, never a redirect', async () => {
      const client = await makeWebClient(server.services, { postLogoutRedirectUri: POST_LOGOUT });
      const before = await countRows();
      for (const query of [
        `client_id=${client.clientId}&post_logout_redirect_uri=${encodeURIComponent('https://evil.example/')}`,
        'client_id=nobody',
        `client_id=${client.clientId}&client_id=${client.clientId}`,
        'client_id=%00',
      ]) {
        const answer = await browse(server.url, new CookieJar(), `/oauth/logout?${query}`);
        expect(answer.status, query).toBe(400);
        expect(answer.headers.get('content-type'), query).toMatch(/^text\/html/);
        expect(answer.location, query).toBeNull();
      }
      expect(await countRows()).toBe(before);
    });

    it('without a registered redirect, ends on the signed-out page; a forged session cookie changes nothing', async () => {
      const before = await countRows();
      const jar = new CookieJar();
      jar.take(
        new Response(null, {
          headers: [
            ['set-cookie', '_session=forged; path=/'],
            ['set-cookie', '_session.sig=forged; path=/'],
          ],
        }),
      );
      const answer = await browse(server.url, jar, '/oauth/logout');
      expect(answer.status).toBe(303);
      expect(answer.location).toBe(`${server.url}/oauth/logout/success`);
      const page = await browse(server.url, jar, answer.location as string);
      expect(page.status).toBe(200);
      expect(page.body).toContain('<html');
      expect(await countRows()).toBe(before);
    });
  });
});

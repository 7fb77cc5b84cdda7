import { createRemoteJWKSet, jwtVerify } from 'jose';
import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basicAuth, makeApi, makeClient, postForm } from '../../support/fixtures.ts';
import { startTestServer, type TestServer } from '../../support/server.ts';
import {
  authorizeUrl,
  browse,
  CookieJar,
  follow,
  formAction,
  hiddenField,
  makePerson,
  makeWebClient,
  pkce,
  signIn,
} from '../../support/sign-in.ts';

/**
 * The authorization code flow with PKCE (OIDC Core §3.1, RFC 6749 §4.1, RFC 7636, RFC 9700 §2.1)
 * over real HTTP: the browser's side scripted (support/sign-in.ts), openid-client as the relying
 * party where it can be (code exchange, ID token validation, userinfo). The browser suites
 * (test/e2e/flows) walk the same pages in Chromium.
 */
describe('authorization code flow with PKCE', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server?.close());

  const discover = (clientId: string, secret: string | null) =>
    oidc.discovery(new URL(server.url), clientId, undefined, secret ? oidc.ClientSecretBasic(secret) : oidc.None(), {
      execute: [oidc.allowInsecureRequests],
    });

  /** Signs in through the pages and exchanges the code with openid-client, as an application would. */
  async function fullFlow(client: { clientId: string; clientSecret: string | null; redirectUri: string }, scope: string, extra = {}) {
    const person = await makePerson(server.services, { email: `${Date.now()}@example.test` });
    const { verifier, challenge } = pkce();
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    const config = await discover(client.clientId, client.clientSecret);
    const signed = await signIn(
      server.url,
      { clientId: client.clientId, redirectUri: client.redirectUri, scope, state, nonce, codeChallenge: challenge, extra },
      person,
    );
    const tokens = await oidc.authorizationCodeGrant(config, signed.callback, {
      pkceCodeVerifier: verifier,
      expectedState: state,
      expectedNonce: nonce,
    });
    return { person, config, tokens, signed, verifier };
  }

  it('signs a person in to a confidential client: ID token with sub, auth_time, nonce, profile and email', async () => {
    const client = await makeWebClient(server.services);
    const { person, tokens, signed, config } = await fullFlow(client, 'openid profile email');
    expect(signed.saw).toEqual(['login', 'consent']);
    // RFC 9207: the authorization response names the issuer.
    expect(signed.callback.searchParams.get('iss')).toBe(server.url);
    const claims = tokens.claims();
    expect(claims).toMatchObject({
      iss: server.url,
      sub: person.user.id,
      aud: client.clientId,
      preferred_username: person.username,
      email: person.user.email,
      email_verified: false,
    });
    expect(typeof claims?.auth_time).toBe('number');
    expect(Math.abs((claims?.auth_time as number) - Date.now() / 1000)).toBeLessThan(60);
    // openid and no resource: an access token for userinfo (OIDC Core §5.3).
    const info = await oidc.fetchUserInfo(config, tokens.access_token, person.user.id);
    expect(info).toMatchObject({ sub: person.user.id, preferred_username: person.username, email: person.user.email });
    expect(tokens.refresh_token).toBeTruthy();
  });

  it('signs a person in to a public client (no secret, PKCE only)', async () => {
    const client = await makeWebClient(server.services, { public: true });
    const { person, tokens } = await fullFlow({ ...client, clientSecret: null }, 'openid profile');
    expect(tokens.claims()?.sub).toBe(person.user.id);
  });

  it.each([
    ['public', true],
    ['confidential', false],
  ])('refuses an authorization request without PKCE [%s client] (RFC 9700 §2.1.1)', async (_kind, isPublic) => {
    const client = await makeWebClient(server.services, { public: isPublic });
    const jar = new CookieJar();
    const hop = await browse(
      server.url,
      jar,
      authorizeUrl({ clientId: client.clientId, redirectUri: client.redirectUri, codeChallenge: null }),
    );
    expect(hop.status).toBe(303);
    const back = new URL(hop.location as string);
    expect(back.origin + back.pathname).toBe(client.redirectUri);
    expect(back.searchParams.get('error')).toBe('invalid_request');
    expect(back.searchParams.get('error_description')).toMatch(/PKCE|code_challenge/);
  });

  it('refuses a code with the wrong code_verifier (RFC 7636 §4.6)', async () => {
    const client = await makeWebClient(server.services);
    const person = await makePerson(server.services);
    const { challenge } = pkce();
    const signed = await signIn(
      server.url,
      { clientId: client.clientId, redirectUri: client.redirectUri, codeChallenge: challenge },
      person,
    );
    const res = await postForm(
      `${server.url}/oauth/token`,
      {
        grant_type: 'authorization_code',
        code: signed.callback.searchParams.get('code') as string,
        redirect_uri: client.redirectUri,
        code_verifier: pkce().verifier,
      },
      { authorization: basicAuth(client.clientId, client.clientSecret as string) },
    );
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('invalid_grant');
  });

  it("issues an API's access token as an RFC 9068 JWT carrying the person's roles and permissions there", async () => {
    const api = await makeApi(server.services, { scopes: ['photos:read', 'photos:write'] });
    const client = await makeWebClient(server.services, { apis: [{ identifier: api.identifier }] });
    const { person, tokens, config } = await fullFlow(client, 'openid photos:read', { resource: api.identifier });
    const jwks = createRemoteJWKSet(new URL(config.serverMetadata().jwks_uri as string));
    const { payload } = await jwtVerify(tokens.access_token, jwks, { issuer: server.url, audience: api.identifier, typ: 'at+jwt' });
    expect(payload).toMatchObject({ sub: person.user.id, client_id: client.clientId, scope: 'photos:read', roles: [], permissions: [] });
    expect(typeof payload.grant_id).toBe('string');
  });

  it('remembers consent per person and client: a new browser signs in without the consent page', async () => {
    const client = await makeWebClient(server.services);
    const person = await makePerson(server.services);
    const request = { clientId: client.clientId, redirectUri: client.redirectUri, scope: 'openid profile' };
    expect((await signIn(server.url, request, person)).saw).toEqual(['login', 'consent']);
    // Another browser (a new cookie jar): a login, no consent.
    expect((await signIn(server.url, request, person)).saw).toEqual(['login']);
    // Asking for more than was granted asks again, for the rest only.
    const more = await signIn(server.url, { ...request, scope: 'openid profile email' }, person);
    expect(more.saw).toEqual(['login', 'consent']);
  });

  it('keeps a browser signed in: a second authorization needs no page at all', async () => {
    const client = await makeWebClient(server.services);
    const person = await makePerson(server.services);
    const request = { clientId: client.clientId, redirectUri: client.redirectUri };
    const first = await signIn(server.url, request, person);
    const again = await signIn(server.url, request, person, { jar: first.jar });
    expect(again.saw).toEqual([]);
    expect(again.callback.searchParams.get('code')).toBeTruthy();
  });

  it('skips the consent page for a first-party client (skip_authorization)', async () => {
    const client = await makeWebClient(server.services, { skipConsent: true });
    const person = await makePerson(server.services);
    const signed = await signIn(
      server.url,
      { clientId: client.clientId, redirectUri: client.redirectUri, scope: 'openid profile' },
      person,
    );
    expect(signed.saw).toEqual(['login']);
    expect(signed.callback.searchParams.get('code')).toBeTruthy();
  });

  it('answers an unregistered redirect_uri with an error page, never a redirect (RFC 6749 §4.1.2.1)', async () => {
    const client = await makeWebClient(server.services);
    for (const redirectUri of [
      'https://evil.example.test/cb',
      `${client.redirectUri}/`,
      `${client.redirectUri}?x=1`,
      'https://APP.example.test/cb',
    ]) {
      const hop = await browse(server.url, new CookieJar(), authorizeUrl({ clientId: client.clientId, redirectUri }));
      expect(hop.status, redirectUri).toBe(400);
      expect(hop.location).toBeNull();
      expect(hop.headers.get('content-type')).toMatch(/^text\/html/);
      expect(hop.body).toContain('<h1>Something went wrong</h1>');
      expect(hop.body).toContain('redirect_uri');
      expect(hop.body).not.toContain('evil.example.test');
    }
  });

  it('answers an unknown client with the unknown-application page', async () => {
    const hop = await browse(server.url, new CookieJar(), authorizeUrl({ clientId: 'nobody', redirectUri: 'https://app.example.test/cb' }));
    expect(hop.status).toBe(400);
    expect(hop.body).toContain('Unknown application');
    expect(hop.body).toMatch(/<title>Error: Unknown application/);
  });

  it('refuses a client registered for machines only at the authorization endpoint', async () => {
    const { clientId } = await makeClient(server.services);
    const hop = await browse(server.url, new CookieJar(), authorizeUrl({ clientId, redirectUri: 'https://app.example.test/cb' }));
    expect(hop.status).toBe(400);
    expect(hop.location).toBeNull();
  });

  it('replaying a code fails with invalid_grant and ends what it issued (RFC 6749 §4.1.2)', async () => {
    const api = await makeApi(server.services);
    const client = await makeWebClient(server.services, { apis: [{ identifier: api.identifier }] });
    const rs = await makeClient(server.services, { apis: [{ identifier: api.identifier, introspect: true }] });
    const person = await makePerson(server.services);
    const { verifier, challenge } = pkce();
    const signed = await signIn(
      server.url,
      {
        clientId: client.clientId,
        redirectUri: client.redirectUri,
        codeChallenge: challenge,
        resource: api.identifier,
        scope: 'openid read',
      },
      person,
    );
    const form = {
      grant_type: 'authorization_code',
      code: signed.callback.searchParams.get('code') as string,
      redirect_uri: client.redirectUri,
      code_verifier: verifier,
    };
    const auth = { authorization: basicAuth(client.clientId, client.clientSecret as string) };
    const first = await postForm(`${server.url}/oauth/token`, form, auth);
    expect(first.status).toBe(200);
    const introspect = (token: string) =>
      postForm(`${server.url}/oauth/introspect`, { token }, { authorization: basicAuth(rs.clientId, rs.clientSecret) });
    expect((await introspect(first.body.access_token as string)).body.active).toBe(true);

    const replay = await postForm(`${server.url}/oauth/token`, form, auth);
    expect(replay.status).toBe(400);
    expect(replay.body.error).toBe('invalid_grant');
    // The JWT issued with the first use is refused now (its grant is denylisted)…
    expect((await introspect(first.body.access_token as string)).body.active).toBe(false);
    // …and so is the refresh token.
    const refreshed = await postForm(
      `${server.url}/oauth/token`,
      { grant_type: 'refresh_token', refresh_token: first.body.refresh_token as string },
      auth,
    );
    expect(refreshed.body.error).toBe('invalid_grant');
  });

  it('two uses of one code at the same moment: exactly one gets tokens', async () => {
    const client = await makeWebClient(server.services);
    const person = await makePerson(server.services);
    const { verifier, challenge } = pkce();
    const signed = await signIn(
      server.url,
      { clientId: client.clientId, redirectUri: client.redirectUri, codeChallenge: challenge },
      person,
    );
    const form = {
      grant_type: 'authorization_code',
      code: signed.callback.searchParams.get('code') as string,
      redirect_uri: client.redirectUri,
      code_verifier: verifier,
    };
    const auth = { authorization: basicAuth(client.clientId, client.clientSecret as string) };
    const answers = await Promise.all([1, 2, 3].map(() => postForm(`${server.url}/oauth/token`, form, auth)));
    expect(answers.map((a) => a.status).sort()).toEqual([200, 400, 400]);
  });

  it('denying consent shows "access denied" with the way back, which tells the client access_denied', async () => {
    const client = await makeWebClient(server.services);
    const person = await makePerson(server.services);
    const state = 'deny-state';
    const jar = new CookieJar();
    let hop = await follow(
      server.url,
      jar,
      await browse(server.url, jar, authorizeUrl({ clientId: client.clientId, redirectUri: client.redirectUri, state })),
    );
    hop = await follow(
      server.url,
      jar,
      await browse(server.url, jar, formAction(hop.body) as string, {
        csrf: hiddenField(hop.body, 'csrf') as string,
        username: person.username,
        password: person.password,
      }),
    );
    const denied = await browse(server.url, jar, formAction(hop.body) as string, {
      csrf: hiddenField(hop.body, 'csrf') as string,
      decision: 'deny',
    });
    expect(denied.status).toBe(403);
    expect(denied.body).toContain('Access denied');
    const back = /<a class="button button-secondary" href="([^"]+)"/.exec(denied.body)?.[1]?.replace(/&amp;/g, '&');
    expect(back).toMatch(/\/oauth\/authorize\//);
    const answer = await follow(server.url, jar, await browse(server.url, jar, back as string));
    const callback = new URL(answer.url);
    expect(callback.searchParams.get('error')).toBe('access_denied');
    expect(callback.searchParams.get('state')).toBe(state);
  });

  it('a form without its CSRF token is refused with a page, and signs nobody in', async () => {
    const client = await makeWebClient(server.services);
    const person = await makePerson(server.services);
    const jar = new CookieJar();
    const hop = await follow(
      server.url,
      jar,
      await browse(server.url, jar, authorizeUrl({ clientId: client.clientId, redirectUri: client.redirectUri })),
    );
    const action = formAction(hop.body) as string;
    for (const csrf of ['', 'forged', hiddenField(hop.body, 'csrf')?.slice(1) ?? '']) {
      const res = await browse(server.url, jar, action, { csrf, username: person.username, password: person.password });
      expect(res.status).toBe(400);
      expect(res.headers.get('content-type')).toMatch(/^text\/html/);
      expect(res.body).toContain('Something went wrong');
    }
    expect(jar.has('_session')).toBe(false);
  });

  it('an interaction that is gone (cookie lost, finished, expired) is the "start again" page', async () => {
    const client = await makeWebClient(server.services);
    const jar = new CookieJar();
    const hop = await follow(
      server.url,
      jar,
      await browse(server.url, jar, authorizeUrl({ clientId: client.clientId, redirectUri: client.redirectUri })),
    );
    const action = formAction(hop.body) as string;
    // Another browser (no _interaction cookie) posting this form:
    const res = await browse(server.url, new CookieJar(), action, {
      csrf: hiddenField(hop.body, 'csrf') as string,
      username: 'x',
      password: 'y',
    });
    expect(res.status).toBe(400);
    expect(res.body).toContain('This sign-in has expired');
    expect(res.body).toContain('href="https://app.example.test/"');
  });
});

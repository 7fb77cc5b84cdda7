import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basicAuth, makeApi, makeClient, postForm } from '../../support/fixtures.ts';
import { startTestServer, type TestServer } from '../../support/server.ts';
import { makePerson, makeWebClient, pkce, signIn } from '../../support/sign-in.ts';

/**
 * Refresh tokens (RFC 6749 §6) with rotation and reuse detection (RFC 9700 §4.14.2): every use
 * returns a new refresh token; a used one presented again ends the grant — its refresh and access
 * tokens, JWT access tokens included through the grant denylist; two uses at the same moment
 * cannot both succeed (the store consumes atomically).
 */
describe('refresh tokens: rotation and reuse detection', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server?.close());

  /** A person signed in to a client granted an API with JWT access tokens, and a resource server to introspect them. */
  async function signedIn(scope = 'openid read') {
    const api = await makeApi(server.services);
    const client = await makeWebClient(server.services, { apis: [{ identifier: api.identifier }] });
    const rs = await makeClient(server.services, { apis: [{ identifier: api.identifier, introspect: true }] });
    const person = await makePerson(server.services);
    const { verifier, challenge } = pkce();
    const signed = await signIn(
      server.url,
      { clientId: client.clientId, redirectUri: client.redirectUri, codeChallenge: challenge, resource: api.identifier, scope },
      person,
    );
    const auth = { authorization: basicAuth(client.clientId, client.clientSecret as string) };
    const tokens = await postForm(
      `${server.url}/oauth/token`,
      {
        grant_type: 'authorization_code',
        code: signed.callback.searchParams.get('code') as string,
        redirect_uri: client.redirectUri,
        code_verifier: verifier,
      },
      auth,
    );
    expect(tokens.status).toBe(200);
    const refresh = (refreshToken: string) =>
      postForm(`${server.url}/oauth/token`, { grant_type: 'refresh_token', refresh_token: refreshToken }, auth);
    const introspect = async (token: string) =>
      (await postForm(`${server.url}/oauth/introspect`, { token }, { authorization: basicAuth(rs.clientId, rs.clientSecret) })).body.active;
    return { api, client, tokens: tokens.body as Record<string, string>, refresh, introspect };
  }

  it('returns a new refresh token with each use, and a new JWT access token for the API', async () => {
    const { tokens, refresh, introspect, api } = await signedIn();
    const first = await refresh(tokens.refresh_token as string);
    expect(first.status).toBe(200);
    expect(first.body.refresh_token).toBeTruthy();
    expect(first.body.refresh_token).not.toBe(tokens.refresh_token);
    expect(first.body.access_token).not.toBe(tokens.access_token);
    expect(first.body.scope).toBe('read');
    expect(await introspect(first.body.access_token as string)).toBe(true);
    const payload = JSON.parse(Buffer.from((first.body.access_token as string).split('.')[1] as string, 'base64url').toString());
    expect(payload.aud).toBe(api.identifier);
    const second = await refresh(first.body.refresh_token as string);
    expect(second.status).toBe(200);
    expect(second.body.refresh_token).not.toBe(first.body.refresh_token);
  });

  it('a used refresh token presented again fails and ends the grant: every refresh and access token of it', async () => {
    const { tokens, refresh, introspect } = await signedIn();
    const rotated = await refresh(tokens.refresh_token as string);
    expect(rotated.status).toBe(200);
    expect(await introspect(rotated.body.access_token as string)).toBe(true);

    const reused = await refresh(tokens.refresh_token as string);
    expect(reused.status).toBe(400);
    expect(reused.body.error).toBe('invalid_grant');

    // The thief's or the client's, whichever came second: everything of the grant is over.
    expect((await refresh(rotated.body.refresh_token as string)).body.error).toBe('invalid_grant');
    expect(await introspect(rotated.body.access_token as string)).toBe(false);
    expect(await introspect(tokens.access_token as string)).toBe(false);
  });

  it('two uses of one refresh token at the same moment: exactly one succeeds, and the grant ends', async () => {
    const { tokens, refresh, introspect } = await signedIn();
    const answers = await Promise.all([1, 2, 3, 4].map(() => refresh(tokens.refresh_token as string)));
    const won = answers.filter((a) => a.status === 200);
    expect(won).toHaveLength(1);
    for (const lost of answers.filter((a) => a.status !== 200)) expect(lost.body.error).toBe('invalid_grant');
    // The losers' reuse ended the grant: the winner's tokens are refused too.
    const winner = won[0]?.body as Record<string, string>;
    expect((await refresh(winner.refresh_token as string)).body.error).toBe('invalid_grant');
    expect(await introspect(winner.access_token as string)).toBe(false);
  });

  it('revoking a refresh token (RFC 7009 §2.1) ends the JWT access tokens of its grant too', async () => {
    const { tokens, client, introspect } = await signedIn();
    expect(await introspect(tokens.access_token as string)).toBe(true);
    const revoked = await postForm(
      `${server.url}/oauth/revoke`,
      { token: tokens.refresh_token as string, token_type_hint: 'refresh_token' },
      { authorization: basicAuth(client.clientId, client.clientSecret as string) },
    );
    expect(revoked.status).toBe(200);
    expect(await introspect(tokens.access_token as string)).toBe(false);
  });

  it('issues no refresh token to a client not registered for the refresh_token grant', async () => {
    const client = await makeWebClient(server.services, { refreshTokens: false });
    const person = await makePerson(server.services);
    const { verifier, challenge } = pkce();
    const signed = await signIn(
      server.url,
      { clientId: client.clientId, redirectUri: client.redirectUri, codeChallenge: challenge, scope: 'openid offline_access' },
      person,
    );
    const tokens = await postForm(
      `${server.url}/oauth/token`,
      {
        grant_type: 'authorization_code',
        code: signed.callback.searchParams.get('code') as string,
        redirect_uri: client.redirectUri,
        code_verifier: verifier,
      },
      { authorization: basicAuth(client.clientId, client.clientSecret as string) },
    );
    expect(tokens.status).toBe(200);
    expect(tokens.body.refresh_token).toBeUndefined();
  });

  it("refuses the refresh tokens of a person who was deactivated (their sign-in's tokens end)", async () => {
    const api = await makeApi(server.services);
    const client = await makeWebClient(server.services, { apis: [{ identifier: api.identifier }] });
    const person = await makePerson(server.services);
    const { verifier, challenge } = pkce();
    const signed = await signIn(
      server.url,
      { clientId: client.clientId, redirectUri: client.redirectUri, codeChallenge: challenge },
      person,
    );
    const auth = { authorization: basicAuth(client.clientId, client.clientSecret as string) };
    const tokens = await postForm(
      `${server.url}/oauth/token`,
      {
        grant_type: 'authorization_code',
        code: signed.callback.searchParams.get('code') as string,
        redirect_uri: client.redirectUri,
        code_verifier: verifier,
      },
      auth,
    );
    const { systemPrincipal } = await import('../../../src/domain/access/principal.ts');
    await server.services.users.deactivate(systemPrincipal, person.user.id);
    const refreshed = await postForm(
      `${server.url}/oauth/token`,
      { grant_type: 'refresh_token', refresh_token: tokens.body.refresh_token as string },
      auth,
    );
    expect(refreshed.status).toBe(400);
    expect(refreshed.body.error).toBe('invalid_grant');
    const info = await fetch(`${server.url}/oauth/userinfo`, { headers: { authorization: `Bearer ${tokens.body.access_token}` } });
    expect(info.status).toBe(401);
  });
});

import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  approveOnDevicePage,
  authorizeDevice,
  DEVICE_GRANT,
  devicePost,
  makeDeviceClient,
  openConfirm,
  pollToken,
} from '../../support/device.ts';
import { makeApi, makeClient } from '../../support/fixtures.ts';
import { sendRaw } from '../../support/raw-http.ts';
import { startTestServer, type TestServer } from '../../support/server.ts';
import { browse, follow, formAction, hiddenField, makePerson } from '../../support/sign-in.ts';

/**
 * The device authorization grant (RFC 8628) end to end over HTTP: discovery, the device
 * authorization request and its errors (§3.1–3.2), polling (§3.4–3.5: authorization_pending,
 * slow_down, access_denied, expired_token, then tokens), with a person at the verification page.
 */
describe('device authorization grant (RFC 8628)', () => {
  let server: TestServer;
  let shortLived: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ env: { DEVICE_POLL_INTERVAL_SECONDS: '2' } });
    shortLived = await startTestServer({ env: { DEVICE_CODE_TTL_SECONDS: '1' } });
  });
  afterAll(async () => {
    await server?.close();
    await shortLived?.close();
  });

  describe('discovery (RFC 8628 §4)', () => {
    for (const path of ['/.well-known/openid-configuration', '/.well-known/oauth-authorization-server']) {
      it(`advertises the device authorization endpoint and the grant [${path}]`, async () => {
        const doc = (await (await fetch(`${server.url}${path}`)).json()) as Record<string, unknown>;
        expect(doc.device_authorization_endpoint).toBe(`${server.url}/oauth/device/code`);
        expect(doc.grant_types_supported).toContain(DEVICE_GRANT);
      });
    }
  });

  describe('device authorization request (§3.1–3.2)', () => {
    it('answers a public client with the codes, the verification URIs under the issuer, expires_in and interval', async () => {
      const client = await makeDeviceClient(server.services);
      const res = await devicePost(server.url, '/oauth/device/code', client, { scope: 'openid' });
      expect(res.status, res.text).toBe(200);
      expect(res.headers.get('cache-control')).toBe('no-store');
      const body = res.body as Record<string, string | number>;
      expect(body.device_code).toMatch(/^[\w-]{20,}$/);
      expect(body.user_code).toMatch(/^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/);
      expect(body.verification_uri).toBe(`${server.url}/device`);
      expect(body.verification_uri_complete).toBe(`${server.url}/device?user_code=${body.user_code}`);
      expect(body.expires_in).toBe(600);
      expect(body.interval).toBe(2);
    });

    it('publishes the verification URIs under the issuer whatever the Host header says', async () => {
      const client = await makeDeviceClient(server.services);
      const res = await sendRaw(server.url, {
        method: 'POST',
        path: '/oauth/device/code',
        headers: {
          host: 'attacker.example',
          'x-forwarded-host': 'attacker.example',
          'x-forwarded-proto': 'https',
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: new URLSearchParams({ client_id: client.clientId, scope: 'openid' }).toString(),
      });
      expect(res.status, res.body).toBe(200);
      const body = JSON.parse(res.body) as Record<string, string>;
      expect(body.verification_uri).toBe(`${server.url}/device`);
      expect(body.verification_uri_complete?.startsWith(`${server.url}/device?user_code=`)).toBe(true);
    });

    it('authenticates a confidential client (Basic) and refuses a wrong secret with invalid_client', async () => {
      const client = await makeDeviceClient(server.services, { public: false });
      expect(client.clientSecret).toBeTruthy();
      expect((await devicePost(server.url, '/oauth/device/code', client, { scope: 'openid' })).status).toBe(200);
      const wrong = await devicePost(server.url, '/oauth/device/code', { ...client, clientSecret: 'nope' }, { scope: 'openid' });
      expect(wrong.status).toBe(401);
      expect(wrong.body.error).toBe('invalid_client');
    });

    it('refuses an unknown client with invalid_client', async () => {
      const res = await devicePost(
        server.url,
        '/oauth/device/code',
        { clientId: 'no-such-client', clientSecret: null },
        { scope: 'openid' },
      );
      expect(res.status).toBe(401);
      expect(res.body.error).toBe('invalid_client');
    });

    it('refuses a client not registered for the device grant with unauthorized_client', async () => {
      const machine = await makeClient(server.services);
      const res = await devicePost(server.url, '/oauth/device/code', machine, { scope: 'openid' });
      expect(res.status).toBe(400);
      expect(res.body).toEqual({ error: 'unauthorized_client', error_description: expect.any(String) });
      expect(res.headers.get('cache-control')).toBe('no-store');
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    });

    it('refuses a malformed scope with invalid_scope, and ignores one it does not know (RFC 6749 §3.3)', async () => {
      const client = await makeDeviceClient(server.services);
      for (const scope of ['openid "quoted"', 'openid back\\slash']) {
        const res = await devicePost(server.url, '/oauth/device/code', client, { scope });
        expect(res.status, scope).toBe(400);
        expect(res.body.error, scope).toBe('invalid_scope');
      }
      const person = await makePerson(server.services);
      const auth = await authorizeDevice(server.url, client, { scope: 'openid launch-missiles' });
      await approveOnDevicePage(server.url, auth.user_code, person);
      const tokens = await pollToken(server.url, client, auth.device_code);
      expect(tokens.status, tokens.text).toBe(200);
      expect(tokens.body.scope).toBe('openid');
    });

    it('refuses an API the client was not granted with invalid_target', async () => {
      const api = await makeApi(server.services);
      const client = await makeDeviceClient(server.services);
      const res = await devicePost(server.url, '/oauth/device/code', client, { scope: 'openid read', resource: api.identifier });
      expect(res.status).toBe(400);
      expect(res.body.error).toBe('invalid_target');
    });
  });

  describe('polling (§3.4–3.5)', () => {
    it('answers authorization_pending, slow_down when polled sooner than interval, then tokens once approved', async () => {
      const api = await makeApi(server.services, { scopes: ['read', 'write'] });
      const client = await makeDeviceClient(server.services, { apis: [{ identifier: api.identifier, scopes: ['read'] }] });
      const person = await makePerson(server.services, { email: 'tv-owner@example.test' });
      const auth = await authorizeDevice(server.url, client, {
        scope: 'openid profile email offline_access read',
        resource: api.identifier,
      });

      const pending = await pollToken(server.url, client, auth.device_code);
      expect(pending.status, pending.text).toBe(400);
      expect(pending.body).toEqual({ error: 'authorization_pending', error_description: expect.any(String) });
      expect(pending.headers.get('cache-control')).toBe('no-store');
      const tooSoon = await pollToken(server.url, client, auth.device_code);
      expect(tooSoon.status).toBe(400);
      expect(tooSoon.body).toEqual({ error: 'slow_down', error_description: expect.any(String) });

      const done = await approveOnDevicePage(server.url, auth.user_code, person);
      expect(done.saw).toEqual(['confirm', 'login']);
      expect(done.page.status).toBe(200);
      expect(done.page.body).toContain('Device connected');

      // Approved: the tokens come at once, whatever the pace.
      const tokens = await pollToken(server.url, client, auth.device_code);
      expect(tokens.status, tokens.text).toBe(200);
      const idToken = decodeJwt(tokens.body.id_token as string);
      expect(idToken).toMatchObject({ sub: person.user.id, aud: client.clientId, email: 'tv-owner@example.test' });
      expect(idToken.auth_time).toBeTypeOf('number');
      const accessToken = decodeJwt(tokens.body.access_token as string);
      expect(accessToken).toMatchObject({ aud: api.identifier, sub: person.user.id, client_id: client.clientId, scope: 'read' });
      expect(tokens.body.refresh_token).toBeTypeOf('string');

      // The refresh token works (rotation: a new one with every use).
      const refresh = (token: string) =>
        devicePost(server.url, '/oauth/token', client, { grant_type: 'refresh_token', refresh_token: token });
      const refreshed = await refresh(tokens.body.refresh_token as string);
      expect(refreshed.status, refreshed.text).toBe(200);
      expect(refreshed.body.refresh_token).not.toBe(tokens.body.refresh_token);

      // The device code is spent: presented again it fails and, like a replayed authorization
      // code, ends what it issued.
      const again = await pollToken(server.url, client, auth.device_code);
      expect(again.status).toBe(400);
      expect(again.body.error).toBe('invalid_grant');
      expect((await refresh(refreshed.body.refresh_token as string)).body.error).toBe('invalid_grant');
    });

    it('gives a confidential client an ID token and no refresh token when it is not registered for them', async () => {
      const client = await makeDeviceClient(server.services, { public: false, refreshTokens: false });
      const person = await makePerson(server.services);
      const auth = await authorizeDevice(server.url, client, { scope: 'openid' });
      await approveOnDevicePage(server.url, auth.user_code, person);
      const tokens = await pollToken(server.url, client, auth.device_code);
      expect(tokens.status, tokens.text).toBe(200);
      expect(decodeJwt(tokens.body.id_token as string).sub).toBe(person.user.id);
      expect(tokens.body.refresh_token).toBeUndefined();
      // Polling with another client's credentials finds nothing of its own.
      const other = await makeDeviceClient(server.services, { public: false });
      expect((await pollToken(server.url, other, auth.device_code)).body.error).toBe('invalid_grant');
    });

    it('answers access_denied when the person denies on the confirm page', async () => {
      const client = await makeDeviceClient(server.services);
      const person = await makePerson(server.services);
      const auth = await authorizeDevice(server.url, client);
      const denied = await approveOnDevicePage(server.url, auth.user_code, person, { deny: true });
      expect(denied.page.status).toBe(200);
      expect(denied.page.body).toContain('Request denied');
      const res = await pollToken(server.url, client, auth.device_code);
      expect(res.status).toBe(400);
      expect(res.body).toEqual({ error: 'access_denied', error_description: expect.any(String) });
    });

    it('answers access_denied when the person cancels at the sign-in page', async () => {
      const client = await makeDeviceClient(server.services);
      const person = await makePerson(server.services);
      const auth = await authorizeDevice(server.url, client);
      const cancelled = await approveOnDevicePage(server.url, auth.user_code, person, { denyAtLogin: true });
      expect(cancelled.saw).toEqual(['confirm', 'login']);
      expect(cancelled.page.body).toContain('Request denied');
      expect((await pollToken(server.url, client, auth.device_code)).body.error).toBe('access_denied');
    });

    it('answers expired_token once the device code expired, and the page says the code expired', async () => {
      const client = await makeDeviceClient(shortLived.services);
      const auth = await authorizeDevice(shortLived.url, client);
      expect(auth.expires_in).toBe(1);
      await new Promise((resolve) => setTimeout(resolve, 1500));
      const res = await pollToken(shortLived.url, client, auth.device_code);
      expect(res.status, res.text).toBe(400);
      expect(res.body).toEqual({ error: 'expired_token', error_description: expect.any(String) });
      const person = await makePerson(shortLived.services);
      await expect(approveOnDevicePage(shortLived.url, auth.user_code, person)).rejects.toThrow(/code not accepted \(400\)/);
    });

    it('offers to start again at the code-entry page when the sign-in of a device request expired', async () => {
      const slow = await startTestServer({ env: { INTERACTION_TTL_SECONDS: '1' } });
      try {
        const client = await makeDeviceClient(slow.services);
        const person = await makePerson(slow.services);
        const auth = await authorizeDevice(slow.url, client);
        const { jar, confirm } = await openConfirm(slow.url, auth.user_code);
        const login = await follow(
          slow.url,
          jar,
          await browse(slow.url, jar, formAction(confirm.body) as string, {
            xsrf: hiddenField(confirm.body, 'xsrf') as string,
            user_code: auth.user_code,
            confirm: 'yes',
          }),
        );
        expect(login.body).toContain('name="password"');
        await new Promise((resolve) => setTimeout(resolve, 1500));
        const expired = await browse(slow.url, jar, formAction(login.body) as string, {
          csrf: hiddenField(login.body, 'csrf') as string,
          username: person.username,
          password: person.password,
        });
        expect(expired.status).toBe(400);
        expect(expired.body).toContain('This sign-in has expired');
        expect(expired.body).toContain('href="/device"');
      } finally {
        await slow.close();
      }
    });

    it('refuses the grant to a client not registered for it with unauthorized_client', async () => {
      const machine = await makeClient(server.services);
      const res = await pollToken(server.url, machine, 'whatever');
      expect(res.status).toBe(400);
      expect(res.body.error).toBe('unauthorized_client');
    });

    it('answers invalid_grant for an unknown device code, and invalid_request without one', async () => {
      const client = await makeDeviceClient(server.services);
      const unknown = await pollToken(server.url, client, 'not-a-device-code');
      expect(unknown.status).toBe(400);
      expect(unknown.body.error).toBe('invalid_grant');
      const missing = await devicePost(server.url, '/oauth/token', client, { grant_type: DEVICE_GRANT });
      expect(missing.status).toBe(400);
      expect(missing.body.error).toBe('invalid_request');
    });
  });
});

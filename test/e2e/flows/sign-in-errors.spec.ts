import * as oidc from 'openid-client';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../support/process.ts';
import { startTestServer, type TestServer } from '../../support/server.ts';
import { makePerson } from '../../support/sign-in.ts';
import { useBrowser } from '../support/browser.ts';
import {
  APP_HOME,
  arrivedAt,
  authorizationRequest,
  discover,
  expectGoodPage,
  heading,
  makeApp,
  navigates,
  screenshot,
  serveAppHome,
  useApp,
} from '../support/relying-party.ts';

/**
 * Every way a sign-in goes wrong, as the person sees it in Chromium: a wrong password and the
 * lockout after it (which reads exactly as a wrong password), a form whose CSRF token does not
 * match, an unknown client, an unregistered redirect_uri (a page, never a redirect), Deny on the
 * consent page (the application hears access_denied), and a sign-in that expired or was already
 * finished (the "start again" page). Each error page passes axe-core and works at 360 px.
 */
const browser = useBrowser();
const app = useApp();
let server: TestServer;
const MAX_FAILURES = 3;
beforeAll(async () => {
  server = await startTestServer({
    env: {
      PASSWORD_MAX_FAILURES_PER_ACCOUNT: String(MAX_FAILURES),
      PASSWORD_MAX_FAILURES_PER_IP: '1000',
      PASSWORD_BLOCK_SECONDS: '60',
    },
  });
});
afterAll(() => server?.close());

const INVALID = 'The username or password is not right. Check them and try again.';

async function submitLogin(page: Page, username: string, password: string) {
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await navigates(page, () => page.getByRole('button', { name: 'Sign in' }).click());
}

/** Opens a new sign-in for `client` in a new browser and returns the page at the login form. */
async function atLogin(target: TestServer, client: { clientId: string; clientSecret: string | null }, scope = 'openid') {
  const config = await discover(target.url, client.clientId, client.clientSecret);
  const started = await authorizationRequest(config, app, { scope });
  const page = await browser.newPage();
  const response = await page.goto(started.url.href);
  expect(response?.status()).toBe(200);
  expect(await heading(page)).toBe('Sign in');
  return { page, config, started };
}

/** The page's main text without the per-request reference. */
const mainText = async (page: Page) => (await page.locator('main').innerText()).replace(/quote this reference: \S+/, '');

describe('sign-in errors in the browser', { timeout: 90_000 }, () => {
  it('locks an account after its failures, and says so exactly as for a wrong password', async () => {
    const client = await makeApp(server.services, app, { name: 'Acme Photos' });
    const person = await makePerson(server.services, { username: 'alice' });
    const { page } = await atLogin(server, client);

    await submitLogin(page, 'alice', 'not the password');
    expect(await heading(page)).toBe('Sign in');
    expect(await page.locator('#password-error').innerText()).toContain(INVALID);
    // The message is tied to the field: a screen reader reads it with the password box.
    expect(await page.getByLabel('Password').getAttribute('aria-describedby')).toContain('password-error');
    expect(await page.getByLabel('Username').inputValue()).toBe('alice');
    await expectGoodPage(page);
    await screenshot(page, 'login-error');

    for (let i = 1; i < MAX_FAILURES + 1; i++) await submitLogin(page, 'alice', `wrong ${i}`);
    // Blocked now: the right password gets the wrong-password answer, word for word.
    await submitLogin(page, 'alice', person.password);
    const blocked = await mainText(page);
    expect(blocked).toContain(INVALID);
    expect(page.url()).toMatch(/\/interaction\/[^/]+\/login/);
    await submitLogin(page, 'nobody-at-all', 'some password');
    expect(await mainText(page)).toBe(blocked);
    await expectGoodPage(page);
  });

  it('refuses a login form whose CSRF token does not match, with a page, signing nobody in', async () => {
    const client = await makeApp(server.services, app);
    const person = await makePerson(server.services);
    const { page } = await atLogin(server, client);
    await page.locator('input[name="csrf"]').evaluateAll((inputs: HTMLInputElement[]) => {
      for (const input of inputs) input.value = 'forged';
    });
    await submitLogin(page, person.username, person.password);
    expect(await heading(page)).toBe('Something went wrong');
    expect(await mainText(page)).toContain('the form is not valid any more: go back and send it again');
    await expectGoodPage(page);
    expect((await page.context().cookies()).map((c) => c.name)).not.toContain('_session');
  });

  it('answers an unknown client with the "unknown application" page', async () => {
    const page = await browser.newPage();
    const params = new URLSearchParams({
      client_id: 'no-such-client',
      response_type: 'code',
      redirect_uri: app.callback,
      scope: 'openid',
      code_challenge: oidc.randomPKCECodeVerifier(),
      code_challenge_method: 'S256',
    });
    const response = await page.goto(`${server.url}/oauth/authorize?${params}`);
    expect(response?.status()).toBe(400);
    expect(await heading(page)).toBe('Unknown application');
    await expectGoodPage(page);
  });

  it('answers an unregistered redirect_uri with a page, never a redirect', async () => {
    const client = await makeApp(server.services, app);
    const config = await discover(server.url, client.clientId, client.clientSecret);
    const visitsBefore = app.visits.length;
    for (const redirectUri of ['https://evil.example.test/callback', `${app.callback}/other`]) {
      const started = await authorizationRequest(config, app, { extra: { redirect_uri: redirectUri } });
      const page = await browser.newPage();
      const response = await page.goto(started.url.href);
      expect(response?.status(), redirectUri).toBe(400);
      expect(page.url().startsWith(`${server.url}/oauth/authorize?`)).toBe(true);
      expect(await heading(page)).toBe('Something went wrong');
      expect(await mainText(page)).toContain('redirect_uri');
      await expectGoodPage(page);
    }
    expect(app.visits.length).toBe(visitsBefore);
  });

  it('Deny on the consent page: "access denied", and its way back tells the application access_denied', async () => {
    const client = await makeApp(server.services, app);
    const person = await makePerson(server.services);
    const { page, config, started } = await atLogin(server, client, 'openid profile');
    await submitLogin(page, person.username, person.password);
    expect(await heading(page)).toMatch(/to use your account\?$/);
    await navigates(page, () => page.getByRole('button', { name: 'Deny' }).click());
    expect(await heading(page)).toBe('Access denied');
    expect(await mainText(page)).toContain(`${client.application.name} was not given access to your account.`);
    await expectGoodPage(page);

    await page.getByRole('link', { name: `Return to ${client.application.name}` }).click();
    const callback = await arrivedAt(page, app);
    expect(callback.searchParams.get('error')).toBe('access_denied');
    const refused = await oidc
      .authorizationCodeGrant(config, callback, { pkceCodeVerifier: started.verifier, expectedState: started.state })
      .then(
        () => null,
        (err: unknown) => err,
      );
    expect(refused).toBeInstanceOf(oidc.AuthorizationResponseError);
    expect((refused as oidc.AuthorizationResponseError).error).toBe('access_denied');
  });

  it('a finished sign-in cannot be used again: Back (or reloading the page) leads to "start again"', async () => {
    const client = await makeApp(server.services, app, { skipConsent: true });
    const person = await makePerson(server.services);
    const { page } = await atLogin(server, client);
    await submitLogin(page, person.username, person.password);
    await arrivedAt(page, app);
    await page.goBack();
    // Chromium may show the form again from its history; sending it meets the finished interaction.
    if ((await heading(page)) === 'Sign in') await submitLogin(page, person.username, person.password);
    expect(await heading(page)).toBe('This sign-in has expired');
    // Back (or a reload) asks for the page again by its address alone: that address must be
    // enough to offer the way back to the application.
    expect(await page.getByRole('link', { name: 'Start again' }).getAttribute('href')).toBe(APP_HOME);
    await expectGoodPage(page);
  });
});

describe('an expired sign-in in the browser', { timeout: 90_000 }, () => {
  let shortLived: TestServer;
  beforeAll(async () => {
    shortLived = await startTestServer({ env: { INTERACTION_TTL_SECONDS: '3' } });
  });
  afterAll(() => shortLived?.close());

  it('is the "start again" page, whose link goes back to the application', async () => {
    const client = await makeApp(shortLived.services, app, { name: 'Acme Photos' });
    const person = await makePerson(shortLived.services);
    const { page } = await atLogin(shortLived, client);
    const home = await serveAppHome(page);
    // The browser drops the _interaction cookie when its max-age (the interaction's lifetime) ends.
    await waitFor(async () => !(await page.context().cookies()).some((c) => c.name === '_interaction'), 'the sign-in to expire');
    await submitLogin(page, person.username, person.password);
    expect(await heading(page)).toBe('This sign-in has expired');
    await expectGoodPage(page);
    await screenshot(page, 'error-expired');
    await navigates(page, () => page.getByRole('link', { name: 'Start again' }).click());
    expect(home.map((u) => u.href)).toEqual([APP_HOME]);
  });
});

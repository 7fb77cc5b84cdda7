import * as oidc from 'openid-client';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../support/server.ts';
import { makePerson } from '../../support/sign-in.ts';
import { useBrowser } from '../support/browser.ts';
import { expectKeyboardPass } from '../support/keyboard.ts';
import {
  arrivedAt,
  authorizationRequest,
  discover,
  expectGoodPage,
  heading,
  makeApp,
  navigates,
  redeemCode,
  screenshot,
  useApp,
} from '../support/relying-party.ts';

/**
 * The authorization code flow with PKCE as a person and an application live it (issue 11, "Done
 * means"): headless Chromium is the person, openid-client the application. The browser is sent to
 * the authorization URL the application built, signs in on the login page, answers the consent
 * page, and lands back at the application with a code, which the application redeems. Every page
 * on the way is checked with axe-core and at 360 px. The protocol details (code replay, refresh
 * reuse and races, every refusal) are tested over HTTP in test/oidc/sign-in/.
 */
const browser = useBrowser();
const app = useApp();
let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server?.close());

/** Types the person's credentials and presses the button, as a person with a mouse would. */
async function logIn(page: Page, person: { username: string; password: string }) {
  expect(await heading(page)).toBe('Sign in');
  await page.getByLabel('Username').fill(person.username);
  await page.getByLabel('Password').fill(person.password);
  await navigates(page, () => page.getByRole('button', { name: 'Sign in' }).click());
}

async function allow(page: Page) {
  await page.getByRole('button', { name: 'Allow' }).click();
}

/** Opens the authorization URL and waits for the page it leads to on this server. */
async function openAuthorization(page: Page, url: URL) {
  const response = await page.goto(url.href);
  expect(response?.status()).toBe(200);
}

describe('code flow with PKCE in the browser', { timeout: 90_000 }, () => {
  it('signs a person in to a confidential client: login, consent, code, tokens with the ID token claims', async () => {
    const client = await makeApp(server.services, app, { name: 'Acme Photos' });
    const person = await makePerson(server.services, { username: 'alice', email: 'alice@example.test' });
    const config = await discover(server.url, client.clientId, client.clientSecret);
    const started = await authorizationRequest(config, app, { scope: 'openid profile email' });

    const page = await browser.newPage();
    await openAuthorization(page, started.url);
    expect(page.url()).toMatch(new RegExp(`^${server.url}/interaction/[^/?]+\\?client_id=${client.clientId}$`));
    expect(await page.locator('p.lead').innerText()).toBe('to continue to Acme Photos');
    await expectGoodPage(page);
    await screenshot(page, 'login');
    await logIn(page, person);

    expect(await heading(page)).toBe('Allow Acme Photos to use your account?');
    expect(await page.getByText('Signed in as alice.').isVisible()).toBe(true);
    await expectGoodPage(page);
    await screenshot(page, 'consent');
    await allow(page);

    const callback = await arrivedAt(page, app);
    expect(callback.searchParams.get('iss')).toBe(server.url);
    const tokens = await redeemCode(config, callback, started);
    const claims = tokens.claims();
    expect(claims).toMatchObject({
      iss: server.url,
      aud: client.clientId,
      sub: person.user.id,
      nonce: started.nonce,
      preferred_username: 'alice',
      email: 'alice@example.test',
    });
    expect(Math.abs((claims?.auth_time as number) - Date.now() / 1000)).toBeLessThan(60);
    const info = await oidc.fetchUserInfo(config, tokens.access_token, person.user.id);
    expect(info).toMatchObject({ sub: person.user.id, preferred_username: 'alice', email: 'alice@example.test' });
  });

  it('signs a person in to a public client: no secret, PKCE S256 only', async () => {
    const client = await makeApp(server.services, app, { public: true });
    expect(client.clientSecret).toBeNull();
    const person = await makePerson(server.services);
    const config = await discover(server.url, client.clientId, null);
    const started = await authorizationRequest(config, app, { scope: 'openid profile' });

    const page = await browser.newPage();
    await openAuthorization(page, started.url);
    await logIn(page, person);
    await expectGoodPage(page);
    await allow(page);
    const tokens = await redeemCode(config, await arrivedAt(page, app), started);
    expect(tokens.claims()).toMatchObject({ sub: person.user.id, aud: client.clientId, preferred_username: person.username });
  });

  it('remembers consent: the next sign-in, in another browser, asks for the password only', async () => {
    const client = await makeApp(server.services, app);
    const person = await makePerson(server.services);
    const config = await discover(server.url, client.clientId, client.clientSecret);

    const first = await browser.newPage();
    const one = await authorizationRequest(config, app, { scope: 'openid profile' });
    await openAuthorization(first, one.url);
    await logIn(first, person);
    await allow(first);
    await redeemCode(config, await arrivedAt(first, app), one);

    // The same browser: signed in and consented, straight back with a code.
    const again = await authorizationRequest(config, app, { scope: 'openid profile' });
    await first.goto(again.url.href);
    await redeemCode(config, await arrivedAt(first, app), again);
    expect(app.visits.slice(-2).map((u) => u.searchParams.get('state'))).toEqual([one.state, again.state]);

    // Another browser: the login page, then straight back (no consent page).
    const second = await browser.newPage();
    const two = await authorizationRequest(config, app, { scope: 'openid profile' });
    await openAuthorization(second, two.url);
    await logIn(second, person);
    expect(second.url().startsWith(`${app.callback}?`)).toBe(true);
    const tokens = await redeemCode(config, await arrivedAt(second, app), two);
    expect(tokens.claims()?.sub).toBe(person.user.id);
  });

  it('skips the consent page for a first-party client (--skip-consent)', async () => {
    const client = await makeApp(server.services, app, { skipConsent: true });
    const person = await makePerson(server.services);
    const config = await discover(server.url, client.clientId, client.clientSecret);
    const started = await authorizationRequest(config, app, { scope: 'openid profile email' });

    const page = await browser.newPage();
    await openAuthorization(page, started.url);
    await logIn(page, person);
    expect(page.url().startsWith(`${app.callback}?`)).toBe(true);
    const tokens = await redeemCode(config, await arrivedAt(page, app), started);
    expect(tokens.claims()?.sub).toBe(person.user.id);
  });

  it('can be done with the keyboard alone: Tab in reading order, Enter submits', async () => {
    const client = await makeApp(server.services, app);
    const person = await makePerson(server.services);
    const config = await discover(server.url, client.clientId, client.clientSecret);
    const started = await authorizationRequest(config, app);

    const page = await browser.newPage();
    await openAuthorization(page, started.url);
    const loginStops = await expectKeyboardPass(page);
    expect(loginStops.map((s) => s.name)).toEqual(['Username', 'Password', 'Sign in', 'Cancel']);

    // From a fresh load: Tab to the username, type, Tab, type, Enter.
    await page.reload();
    const focused = () => page.evaluate(() => document.activeElement?.id || document.activeElement?.textContent || '');
    await page.keyboard.press('Tab');
    expect(await focused()).toBe('username');
    await page.keyboard.type(person.username);
    await page.keyboard.press('Tab');
    expect(await focused()).toBe('password');
    await page.keyboard.type(person.password);
    await navigates(page, () => page.keyboard.press('Enter'));
    expect(await heading(page)).toMatch(/to use your account\?$/);

    const consentStops = await expectKeyboardPass(page);
    expect(consentStops.map((s) => s.name).slice(-2)).toEqual(['Allow', 'Deny']);
    await page.reload();
    for (let i = 0; i < consentStops.length && (await focused()).trim() !== 'Allow'; i++) await page.keyboard.press('Tab');
    expect((await focused()).trim()).toBe('Allow');
    await page.keyboard.press('Enter');
    const tokens = await redeemCode(config, await arrivedAt(page, app), started);
    expect(tokens.claims()?.sub).toBe(person.user.id);
  });

  it('a sign-in begun in the browser refreshes: a new refresh token, a new access token that works', async () => {
    const client = await makeApp(server.services, app);
    const person = await makePerson(server.services);
    const config = await discover(server.url, client.clientId, client.clientSecret);
    const started = await authorizationRequest(config, app, { scope: 'openid profile offline_access', extra: { prompt: 'consent' } });

    const page = await browser.newPage();
    await openAuthorization(page, started.url);
    await logIn(page, person);
    await allow(page);
    const tokens = await redeemCode(config, await arrivedAt(page, app), started);
    expect(tokens.refresh_token).toBeTruthy();

    const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token as string);
    expect(refreshed.refresh_token).toBeTruthy();
    expect(refreshed.refresh_token).not.toBe(tokens.refresh_token);
    expect(refreshed.access_token).not.toBe(tokens.access_token);
    expect(refreshed.claims()?.sub).toBe(person.user.id);
    const info = await oidc.fetchUserInfo(config, refreshed.access_token, person.user.id);
    expect(info.sub).toBe(person.user.id);
  });
});

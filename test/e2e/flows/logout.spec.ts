import * as oidc from 'openid-client';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Services } from '../../../src/container.ts';
import { startTestServer, type TestServer } from '../../support/server.ts';
import { makePerson } from '../../support/sign-in.ts';
import { expectNoCspViolations, useBrowser } from '../support/browser.ts';
import {
  APP_HOME,
  arrivedAt,
  authorizationRequest,
  discover,
  expectGoodPage,
  heading,
  makeApp,
  navigates,
  redeemCode,
  screenshot,
  serveAppHome,
  useApp,
} from '../support/relying-party.ts';

/**
 * RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0) in Chromium: the application
 * (openid-client) sends the signed-in browser to the end-session URL; the person confirms; the
 * browser goes back to the registered post_logout_redirect_uri, or, when none was given, to the
 * signed-out page, which always offers a way on. The session is really over afterwards.
 */
const browser = useBrowser();
const app = useApp();
let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server?.close());

/** A person signed in to a first-party client in a new browser; the application holds their ID token. */
async function signedIn(services: Services, options: { name?: string; username?: string; postLogout?: boolean } = {}) {
  const client = await makeApp(services, app, { skipConsent: true, ...options });
  const person = await makePerson(services, options.username ? { username: options.username } : {});
  const config = await discover(server.url, client.clientId, client.clientSecret);
  const started = await authorizationRequest(config, app);
  const page = await browser.newPage();
  await page.goto(started.url.href);
  await page.getByLabel('Username').fill(person.username);
  await page.getByLabel('Password').fill(person.password);
  await navigates(page, () => page.getByRole('button', { name: 'Sign in' }).click());
  const tokens = await redeemCode(config, await arrivedAt(page, app), started);
  return { client, person, config, page, idToken: tokens.id_token as string };
}

/** A new authorization request in the same browser lands on the login page: nobody is signed in. */
async function expectSignedOut(page: Page, config: oidc.Configuration) {
  await page.goto((await authorizationRequest(config, app)).url.href);
  expect(await heading(page)).toBe('Sign in');
}

describe('logout in the browser', { timeout: 90_000 }, () => {
  it('without a redirect: confirm, then the signed-out page, which says what to do next', async () => {
    const { page, config } = await signedIn(server.services, { name: 'Acme Photos', username: 'alice', postLogout: false });
    const response = await page.goto(oidc.buildEndSessionUrl(config).href);
    expect(response?.status()).toBe(200);
    expect(await heading(page)).toBe('Sign out');
    expect(await page.locator('main').innerText()).toContain('You are signed in as alice. Acme Photos asks to sign you out.');
    await expectGoodPage(page);
    await screenshot(page, 'logout-confirm');

    await navigates(page, () => page.getByRole('button', { name: 'Yes, sign me out' }).click());
    expect(await heading(page)).toBe('You are signed out');
    expect(await page.locator('main').innerText()).toContain('You can close this window now.');
    await expectGoodPage(page);
    await screenshot(page, 'logged-out');
    await expectSignedOut(page, config);
  });

  it('"No, stay signed in" leaves that application only, with a link back to it', async () => {
    const { page, config, client } = await signedIn(server.services, { postLogout: false });
    const home = await serveAppHome(page);
    await page.goto(oidc.buildEndSessionUrl(config).href);
    await navigates(page, () => page.getByRole('button', { name: 'No, stay signed in' }).click());
    expect(await heading(page)).toBe('You are signed out');
    expect(await page.locator('main').innerText()).toContain(`You have signed out of ${client.application.name}.`);
    await expectGoodPage(page);
    await navigates(page, () => page.getByRole('link', { name: `Return to ${client.application.name}` }).click());
    expect(home.map((u) => u.href)).toEqual([APP_HOME]);
  });

  it('with a registered post_logout_redirect_uri: confirm, then back at the application with its state', async () => {
    const { page, config, idToken } = await signedIn(server.services);
    const endSession = oidc.buildEndSessionUrl(config, {
      id_token_hint: idToken,
      post_logout_redirect_uri: app.signedOut,
      state: 'see-you',
    });
    await page.goto(endSession.href);
    expect(await heading(page)).toBe('Sign out');
    await expectGoodPage(page);
    await page.getByRole('button', { name: 'Yes, sign me out' }).click();
    const back = await arrivedAt(page, app, '/signed-out');
    expect(back.searchParams.get('state')).toBe('see-you');
    await expectSignedOut(page, config);
  });

  it('with nobody signed in, goes straight back to the application, storing nothing', async () => {
    const client = await makeApp(server.services, app);
    const config = await discover(server.url, client.clientId, client.clientSecret);
    const rows = async () => (await server.sql<{ n: number }>('SELECT count(*)::int AS n FROM oidc_artifacts'))[0]?.n;
    const before = await rows();
    const page = await browser.newPage();
    // Nothing to end: Gatehouse answers with the redirect the library's confirmation would have given.
    await page.goto(oidc.buildEndSessionUrl(config, { post_logout_redirect_uri: app.signedOut, state: 'bye' }).href);
    await arrivedAt(page, app, '/signed-out');
    expect(new URL(page.url()).searchParams.get('state')).toBe('bye');
    await expectNoCspViolations(page);
    expect(await rows()).toBe(before);
  });
});

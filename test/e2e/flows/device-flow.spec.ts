import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import * as oidc from 'openid-client';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeDeviceClient } from '../../support/device.ts';
import { makeApi } from '../../support/fixtures.ts';
import { ROOT, startTestServer, type TestServer } from '../../support/server.ts';
import { makePerson } from '../../support/sign-in.ts';
import { expectNoAxeViolations } from '../support/axe.ts';
import { expectNoCspViolations, expectNoDialogs, useBrowser } from '../support/browser.ts';
import { expectKeyboardPass } from '../support/keyboard.ts';
import { expectUsableAt360 } from '../support/usability.ts';

/**
 * The device authorization grant (RFC 8628) with a real device and a real browser: openid-client
 * is the device (it asks for a code and polls the token endpoint as a TV or CLI would) while
 * Chromium is the person's phone at the verification page: code entry, confirm, sign-in, done; or
 * deny. Every device page is checked with axe-core and at 360 px, and none breaks its CSP.
 *
 * UPDATE_SCREENSHOTS=1 also writes docs/screenshots/device-flow-<page>.png for the README.
 */
const browser = useBrowser();
const LIMIT = 2;

describe('device flow in the browser', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({
      env: {
        // openid-client waits `interval` before each poll: keep the suite quick
        DEVICE_POLL_INTERVAL_SECONDS: '1',
        DEVICE_USER_CODE_MAX_FAILURES_PER_IP: String(LIMIT),
        // each test picks its own client IP (X-Forwarded-For), so one test's wrong codes block no other
        TRUST_PROXY: 'true',
        PRODUCT_NAME: 'Gatehouse',
      },
    });
  });
  afterAll(() => server?.close());

  let ipCounter = 0;
  async function phone(): Promise<Page> {
    const page = await browser.newPage({ viewport: { width: 1024, height: 768 } });
    await page.setExtraHTTPHeaders({ 'x-forwarded-for': `198.51.100.${++ipCounter}` });
    return page;
  }

  async function device(
    name: string,
    scope: string,
    extra: Record<string, string> = {},
    apis: Array<{ identifier: string; scopes: string[] }> = [],
  ) {
    const client = await makeDeviceClient(server.services, { name, apis });
    const config = await oidc.discovery(new URL(server.url), client.clientId, undefined, oidc.None(), {
      execute: [oidc.allowInsecureRequests],
    });
    const authorization = await oidc.initiateDeviceAuthorization(config, { scope, ...extra });
    // The device polls from now on, as it would while showing the code on its screen.
    const polling = oidc.pollDeviceAuthorizationGrant(config, authorization);
    polling.catch(() => {}); // awaited by the test; this keeps an early rejection from going unhandled
    return { client, config, authorization, polling };
  }

  /** The checks every device page gets (returning its keyboard stops), and its screenshot when asked for. */
  async function checkPage(page: Page, name: string) {
    // First, while focus is still at the top of the freshly loaded page.
    const stops = await expectKeyboardPass(page);
    await expectNoAxeViolations(page);
    await expectUsableAt360(page);
    await expectNoCspViolations(page);
    expectNoDialogs(page);
    if (process.env.UPDATE_SCREENSHOTS === '1') {
      const dir = join(ROOT, 'docs', 'screenshots');
      mkdirSync(dir, { recursive: true });
      const before = page.viewportSize();
      await page.setViewportSize({ width: 640, height: 480 });
      await page.screenshot({ path: join(dir, `device-flow-${name}.png`), fullPage: true });
      if (before) await page.setViewportSize(before);
    }
    return stops;
  }

  it('a person enters the code, confirms, signs in, and the polling device gets its tokens', { timeout: 90_000 }, async () => {
    const api = await makeApi(server.services, { name: 'Photo Library', scopes: ['photos:read', 'photos:write'] });
    const person = await makePerson(server.services, { email: 'alice@example.test' });
    const { authorization, polling } = await device(
      'Living-room TV',
      'openid profile email offline_access photos:read',
      { resource: api.identifier },
      [{ identifier: api.identifier, scopes: ['photos:read'] }],
    );
    const page = await phone();

    await page.goto(authorization.verification_uri);
    await expect.poll(() => page.title()).toMatch(/Connect a device/);
    const entryStops = await checkPage(page, 'entry');
    expect(entryStops[0]?.element).toBe('input#user-code');
    // Typed as a person might: lower case, without the dash.
    await page.getByLabel('Code').fill(authorization.user_code.toLowerCase().replace('-', ''));
    await page.getByRole('button', { name: 'Continue' }).click();

    // The confirm page: who asks, for what, and the code to compare with the device's screen.
    await page.getByRole('button', { name: 'Allow' }).waitFor();
    const confirm = await page.textContent('main');
    expect(confirm).toContain('Living-room TV');
    expect(confirm).toContain(authorization.user_code);
    expect(confirm).toContain('Photo Library');
    expect((await checkPage(page, 'confirm')).map((s) => s.name)).toEqual(expect.arrayContaining(['Allow', 'Deny']));
    await page.getByRole('button', { name: 'Allow' }).click();

    // Signing in: the sign-in page of the code flow.
    await page.getByLabel('Username').fill(person.username);
    await page.getByLabel('Password').fill(person.password);
    await page.getByRole('button', { name: 'Sign in' }).click();

    await page.getByRole('heading', { name: 'Device connected' }).waitFor();
    expect(await page.textContent('main')).toContain('Living-room TV');
    await checkPage(page, 'done');

    const tokens = await polling;
    expect(tokens.claims()).toMatchObject({ sub: person.user.id, email: 'alice@example.test', preferred_username: person.username });
    expect(tokens.refresh_token).toBeTypeOf('string');
    const accessToken = JSON.parse(Buffer.from((tokens.access_token.split('.')[1] as string) ?? '', 'base64url').toString()) as Record<
      string,
      unknown
    >;
    expect(accessToken).toMatchObject({ aud: api.identifier, sub: person.user.id, scope: 'photos:read' });
  });

  it('a person arriving through verification_uri_complete denies, and the device hears access_denied', { timeout: 60_000 }, async () => {
    const { authorization, polling } = await device('Kitchen TV', 'openid profile');
    const page = await phone();
    await page.goto(authorization.verification_uri_complete as string);
    await page.getByRole('button', { name: 'Deny' }).waitFor();
    // By keyboard alone: Tab to Deny, then Enter.
    await page.getByRole('button', { name: 'Allow' }).focus();
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.textContent?.trim())).toBe('Deny');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Request denied' }).waitFor();
    await checkPage(page, 'denied');
    await expect(polling).rejects.toMatchObject({ error: 'access_denied' });
  });

  it('a wrong code, a lost sign-in and a blocked address each get a page that says what to do', { timeout: 60_000 }, async () => {
    const page = await phone();
    await page.goto(`${server.url}/device`);
    await page.getByLabel('Code').fill('bcdf-ghjk');
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByText('That code is not right').first().waitFor();
    // The message is tied to the field it concerns.
    expect(await page.getByLabel('Code').getAttribute('aria-invalid')).toBe('true');
    await checkPage(page, 'code-invalid');

    await page.goto(`${server.url}/device/some-old-sign-in`);
    await page.getByRole('heading', { name: 'This sign-in has expired' }).waitFor();
    await checkPage(page, 'expired');

    // With the wrong code above, LIMIT more go over the limit.
    for (let i = 0; i < LIMIT; i++) {
      await page.goto(`${server.url}/device`);
      await page.getByLabel('Code').fill(`WRNG-${i}XYZ`);
      await page.getByRole('button', { name: 'Continue' }).click();
      await page.waitForLoadState();
    }
    await page.getByRole('heading', { name: 'Too many attempts' }).waitFor();
    await checkPage(page, 'blocked');
  });
});

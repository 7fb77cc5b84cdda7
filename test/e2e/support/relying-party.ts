import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import * as oidc from 'openid-client';
import type { Page } from 'playwright-core';
import { expect } from 'vitest';
import type { Services } from '../../../src/container.ts';
import { expectNoAxeViolations } from './axe.ts';
import { consoleErrors, expectNoCspViolations, expectNoDialogs } from './browser.ts';
import { useServer } from './http.ts';
import { expectUsableAt360 } from './usability.ts';

/**
 * The application side of a browser sign-in: openid-client (npm) as the relying party, exactly as
 * a customer's web app would use it, and the application's own pages in the browser.
 *
 * The application's redirect URIs are a tiny HTTP server on loopback (useApp): the browser really
 * is sent there with the code (RFC 6749 §4.1.2), and the test reads the redirect back from what it
 * received. Its registration also names a made-up https address first (`APP_HOME`), which the pages
 * show as the application's home ("About Acme Photos: photos.example.test", "Return to…"), so the
 * screenshots carry no loopback port; a browser that follows such a link is answered inside its
 * own context (serveAppHome), never by the network.
 */
export const APP_HOME = 'https://photos.example.test/';
const APP_HOME_CALLBACK = `${APP_HOME}callback`;

export interface App {
  /** the redirect URI the sign-ins use (set once the file's server listens) */
  readonly callback: string;
  /** the registered post_logout_redirect_uri */
  readonly signedOut: string;
  /** every URL the browser loaded from the application, in order */
  readonly visits: URL[];
}

/** The application's loopback server for the whole file (hooks registered at file level). */
export function useApp(): App {
  const visits: URL[] = [];
  const served = useServer((req, res) => {
    const url = new URL(req.url ?? '/', served.url);
    if (url.pathname === '/favicon.ico') {
      res.writeHead(404).end();
      return;
    }
    visits.push(url);
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end('<!doctype html><html lang="en"><title>Acme Photos</title><main><h1>Acme Photos</h1></main></html>');
  });
  return {
    get callback() {
      return `${served.url}/callback`;
    },
    get signedOut() {
      return `${served.url}/signed-out`;
    },
    visits,
  };
}

/** Answers the browser's visits to APP_HOME (a "Start again" or "Return to" link) in its context; returns them. */
export async function serveAppHome(page: Page): Promise<URL[]> {
  const visits: URL[] = [];
  await page.context().route(`${APP_HOME}**`, async (route) => {
    visits.push(new URL(route.request().url()));
    await route.fulfill({ status: 200, contentType: 'text/html; charset=utf-8', body: '<!doctype html><title>Acme Photos</title>' });
  });
  return visits;
}

/** Waits until the browser is at the application's `path` and returns the URL it was sent to. */
export async function arrivedAt(page: Page, app: App, path = '/callback'): Promise<URL> {
  await page.waitForURL((url) => url.href.startsWith(app.callback.replace('/callback', path)));
  const last = app.visits.findLast((url) => url.pathname === path);
  if (!last) throw new Error(`the browser never reached the application's ${path}`);
  return last;
}

/** openid-client's view of the server, for one client (no secret: a public client). */
export function discover(issuer: string, clientId: string, clientSecret: string | null): Promise<oidc.Configuration> {
  return oidc.discovery(new URL(issuer), clientId, undefined, clientSecret ? oidc.ClientSecretBasic(clientSecret) : oidc.None(), {
    // the test server is plain http on loopback
    execute: [oidc.allowInsecureRequests],
  });
}

export interface StartedSignIn {
  url: URL;
  verifier: string;
  state: string;
  nonce: string;
}

/** The authorization request an application sends the browser to: PKCE S256, state and nonce. */
export async function authorizationRequest(
  config: oidc.Configuration,
  app: App,
  options: { scope?: string; extra?: Record<string, string> } = {},
): Promise<StartedSignIn> {
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const nonce = oidc.randomNonce();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: app.callback,
    scope: options.scope ?? 'openid',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    nonce,
    ...options.extra,
  });
  return { url, verifier, state, nonce };
}

/** The application's side of the redirect back: code → tokens, the ID token checked (state, nonce, PKCE). */
export function redeemCode(config: oidc.Configuration, callback: URL, started: StartedSignIn) {
  return oidc.authorizationCodeGrant(config, callback, {
    pkceCodeVerifier: started.verifier,
    expectedState: started.state,
    expectedNonce: started.nonce,
  });
}

/**
 * What every Gatehouse page a person reaches must be: zero axe-core violations, usable at 360 px,
 * no Content-Security-Policy violation, no script run that should not, no failed load.
 */
export async function expectGoodPage(page: Page): Promise<void> {
  await expectNoAxeViolations(page);
  await expectUsableAt360(page);
  await expectNoCspViolations(page);
  expectNoDialogs(page);
  // Chromium asks every origin for /favicon.ico on its own (the pages name no icon); its 404 is not the page's.
  expect(consoleErrors(page).filter((line) => !line.endsWith('/favicon.ico)'))).toEqual([]);
}

const SCREENSHOT_DIR = join(import.meta.dirname, '..', '..', '..', 'docs', 'screenshots');

/**
 * SCREENSHOTS=1: writes docs/screenshots/<name>.png (the README's pictures) of the page as it is,
 * at a desktop width, then puts the viewport back.
 */
export async function screenshot(page: Page, name: string): Promise<void> {
  if (process.env.SCREENSHOTS !== '1') return;
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const before = page.viewportSize();
  await page.setViewportSize({ width: 960, height: 640 });
  await page.screenshot({ path: join(SCREENSHOT_DIR, `${name}.png`), fullPage: true });
  if (before) await page.setViewportSize(before);
}

/**
 * An application for people registered as `gatehouse clients create --grant-types
 * authorization_code,refresh_token --redirect-uris … --post-logout-redirect-uris …` does, with the
 * application's made-up origin. Names are unique: the one a screenshot shows is "Acme Photos".
 */
export async function makeApp(
  services: Services,
  app: App,
  options: { name?: string; public?: boolean; skipConsent?: boolean; postLogout?: boolean } = {},
) {
  const { application, clientSecret } = await services.applications.register(
    {
      name: options.name ?? `Acme Photos ${randomBytes(3).toString('hex')}`,
      clientType: options.public ? 'public' : 'confidential',
      grantTypes: ['authorization_code', 'refresh_token'],
      redirectUris: [APP_HOME_CALLBACK, app.callback],
      postLogoutRedirectUris: options.postLogout === false ? [] : [app.signedOut],
      skipAuthorization: options.skipConsent ?? false,
      apis: [],
    },
    'test',
  );
  return { application, clientId: application.clientId, clientSecret: clientSecret ?? null };
}

/** The page's one h1, as read. */
export async function heading(page: Page): Promise<string> {
  return (await page.locator('h1').innerText()).trim();
}

/**
 * Runs `action` (a click, Enter) and waits until the browser has loaded the document it leads to,
 * however many redirects later: the sign-in pages post, are redirected through the authorization
 * endpoint and often come back to the same URL, so waiting for a URL would not do.
 */
export async function navigates(page: Page, action: () => Promise<unknown>): Promise<void> {
  await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), action()]);
}

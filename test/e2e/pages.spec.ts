import { mkdirSync } from 'node:fs';
import { get } from 'node:http';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import Router from '@koa/router';
import Koa from 'koa';
import { h, type JSX } from 'preact';
import { describe, expect, it } from 'vitest';
import { type BrandingConfig, loadConfig } from '../../src/config/config.ts';
import {
  accentPalette,
  ConsentPage,
  DeviceCodePage,
  DeviceConfirmPage,
  DeviceDonePage,
  ERROR_PAGE_STATUS,
  ErrorPage,
  type ErrorPageProps,
  LoggedOutPage,
  LoginPage,
  LogoutConfirmPage,
  type ProviderForm,
  pageContentSecurityPolicy,
  pageStylesheet,
  readProviderForm,
  registerPageAssets,
  sendPage,
} from '../../src/http/pages/index.ts';
import { expectNoAxeViolations } from './support/axe.ts';
import { consoleErrors, expectNoCspViolations, expectNoDialogs, useBrowser } from './support/browser.ts';
import { useServer } from './support/http.ts';
import { expectKeyboardPass } from './support/keyboard.ts';
import { expectUsableAt360 } from './support/usability.ts';

/**
 * Every page and variant, served by a tiny Koa app through the real renderPage/sendPage, the real
 * stylesheet route and the real page CSP, over real HTTP, into headless Chromium: zero axe
 * violations, usable at 360 px, the CSP header present and never violated, a keyboard pass (the
 * first field first, the submit button reachable), and data escaped (a client named
 * `<img src=x onerror=alert(1)>` is text). Twice over for a light accent with a logo, where the
 * derived colours must still contrast.
 *
 * UPDATE_SCREENSHOTS=1 also writes docs/screenshots/<variant>.png for the README (the device
 * pages; the sign-in, logout and error pages are photographed in real flows, test/e2e/flows with
 * SCREENSHOTS=1).
 */

const XSS = '<img src=x onerror=alert(1)>';
const ROOT = join(import.meta.dirname, '..', '..');

interface UserCodeForms {
  input(action: string, csrfToken: string, code: string | undefined, charset: string): string;
  confirm(action: string, csrfToken: string, code: string): string;
}
/** oidc-provider's own form builders: the device pages get exactly what the library hands over. */
const forms = (await import(
  pathToFileURL(join(ROOT, 'node_modules', 'oidc-provider', 'lib', 'helpers', 'user_code_form.js')).href
)) as UserCodeForms;

const ISSUER = 'https://id.example.test';
const inputForm = (): ProviderForm => readProviderForm(forms.input(`${ISSUER}/device`, 'xsrf-secret', undefined, 'base-20'));
const confirmForm = (code: string): ProviderForm => readProviderForm(forms.confirm(`${ISSUER}/device`, 'xsrf-secret', code));
const logoutForm = (): ProviderForm =>
  readProviderForm(
    `<form id="op.logoutForm" method="post" action="${ISSUER}/session/end/confirm"><input type="hidden" name="xsrf" value="s3cret"/></form>`,
  );

const csrf = { name: 'csrf', value: 'csrf-token' };
const photos = { name: 'Acme Photos', homeUri: 'https://photos.example.test/' };
const photoApi = {
  name: 'Photo API',
  identifier: 'https://api.photos.example.test',
  scopes: [{ value: 'photos:read', description: 'See your photos and albums' }, { value: 'photos:write' }],
};

interface Variant {
  name: string;
  page(): JSX.Element;
  status?: number;
  formActions?: string[];
  /** the first Tab stop */
  first: string;
  /** a button or link Tab must reach */
  submit: string;
  /** the client name is the XSS string: it must show as text */
  escapes?: boolean;
  screenshot?: boolean;
}

const errorVariant = (name: string, props: ErrorPageProps, first: string, submit = first, screenshot = false): Variant => ({
  name,
  page: () => h(ErrorPage, props),
  status: ERROR_PAGE_STATUS[props.kind],
  first,
  submit,
  screenshot,
});

const VARIANTS: Variant[] = [
  {
    name: 'login',
    page: () => h(LoginPage, { action: '/interaction/abc/login', csrf, client: photos, cancelAction: '/interaction/abc/abort' }),
    formActions: ['https://photos.example.test/callback'],
    first: 'input#username',
    submit: 'Sign in',
  },
  {
    name: 'login-error',
    page: () => h(LoginPage, { action: '/interaction/abc/login', csrf, client: photos, username: 'alice', error: 'invalid-credentials' }),
    status: 400,
    first: 'input#username',
    submit: 'Sign in',
  },
  {
    name: 'login-missing-username',
    page: () => h(LoginPage, { action: '/interaction/abc/login', csrf, error: 'missing-username' }),
    status: 400,
    first: 'input#username',
    submit: 'Sign in',
  },
  {
    name: 'login-too-many-attempts',
    page: () => h(LoginPage, { action: '/interaction/abc/login', csrf, error: 'too-many-attempts', retryAfterSeconds: 120 }),
    status: 429,
    first: 'input#username',
    submit: 'Sign in',
  },
  {
    name: 'consent',
    page: () =>
      h(ConsentPage, {
        action: '/interaction/abc/consent',
        csrf,
        client: photos,
        account: { name: 'alice' },
        oidcScopes: ['openid', 'profile', 'email', 'offline_access'],
        apis: [photoApi],
      }),
    formActions: ['https://photos.example.test/callback'],
    first: 'a',
    submit: 'Allow',
  },
  {
    name: 'device-code',
    page: () => h(DeviceCodePage, { form: inputForm() }),
    first: 'input#user-code',
    submit: 'Continue',
    screenshot: true,
  },
  {
    name: 'device-code-invalid',
    page: () => h(DeviceCodePage, { form: inputForm(), userCode: 'bcdf-ghjx', error: 'invalid' }),
    first: 'input#user-code',
    submit: 'Continue',
    screenshot: true,
  },
  {
    name: 'device-code-expired',
    page: () => h(DeviceCodePage, { form: inputForm(), userCode: 'BCDF-GHJK', error: 'expired' }),
    first: 'input#user-code',
    submit: 'Continue',
  },
  {
    name: 'device-confirm',
    page: () =>
      h(DeviceConfirmPage, {
        form: confirmForm('BCDF-GHJK'),
        client: { name: 'Living-room TV' },
        userCode: 'BCDF-GHJK',
        account: { name: 'alice' },
        device: { ip: '203.0.113.7', userAgent: 'curl/8.5.0' },
        oidcScopes: ['openid', 'profile', 'offline_access'],
        apis: [photoApi],
      }),
    first: 'button',
    submit: 'Allow',
    screenshot: true,
  },
  {
    name: 'device-approved',
    page: () => h(DeviceDonePage, { outcome: 'approved', client: { name: 'Living-room TV' } }),
    first: '',
    submit: '',
    screenshot: true,
  },
  {
    name: 'device-denied',
    page: () => h(DeviceDonePage, { outcome: 'denied', client: { name: 'Living-room TV' }, anotherCodeHref: '/device' }),
    first: 'a',
    submit: 'Connect another device',
  },
  {
    name: 'logout-confirm',
    page: () => h(LogoutConfirmPage, { form: logoutForm(), client: photos, account: { name: 'alice' } }),
    formActions: ['https://photos.example.test/signed-out'],
    first: 'button',
    submit: 'Yes, sign me out',
  },
  {
    name: 'logged-out',
    page: () => h(LoggedOutPage, { client: photos }),
    first: 'a',
    submit: 'Return to Acme Photos',
  },
  { name: 'logged-out-plain', page: () => h(LoggedOutPage, { client: null }), first: '', submit: '' },
  errorVariant('error-expired', { kind: 'expired-interaction', startAgainHref: 'https://photos.example.test/login' }, 'a', 'Start again'),
  errorVariant('error-expired-no-restart', { kind: 'expired-interaction' }, ''),
  errorVariant('error-unknown-client', { kind: 'unknown-client' }, ''),
  errorVariant('error-invalid-user-code', { kind: 'invalid-user-code', retryHref: '/device' }, 'a', 'Enter a code'),
  errorVariant('error-access-denied', { kind: 'access-denied', client: photos }, 'a', 'Return to Acme Photos'),
  errorVariant(
    'error-generic',
    { kind: 'generic', reason: "redirect_uri did not match any of the client's registered redirect_uris", requestId: 'req-7f3a' },
    '',
  ),
  {
    name: 'xss-login',
    page: () =>
      h(LoginPage, { action: '/interaction/abc/login', csrf, client: { name: XSS }, username: XSS, error: 'invalid-credentials' }),
    first: 'input#username',
    submit: 'Sign in',
    escapes: true,
  },
  {
    name: 'xss-consent',
    page: () =>
      h(ConsentPage, {
        action: '/interaction/abc/consent',
        csrf,
        client: { name: XSS, homeUri: 'javascript:alert(2)' },
        account: { name: XSS },
        oidcScopes: ['openid', XSS],
        claims: [XSS],
        apis: [{ name: XSS, identifier: XSS, scopes: [{ value: XSS }, { value: 'x', description: XSS }] }],
      }),
    first: 'button',
    submit: 'Allow',
    escapes: true,
  },
  {
    name: 'xss-device',
    page: () =>
      h(DeviceConfirmPage, {
        form: confirmForm(XSS),
        client: { name: XSS },
        userCode: XSS,
        device: { ip: XSS, userAgent: XSS },
        oidcScopes: ['openid'],
        apis: [],
      }),
    first: 'button',
    submit: 'Allow',
    escapes: true,
  },
  {
    name: 'xss-logged-out',
    page: () => h(LoggedOutPage, { client: { name: XSS, homeUri: 'javascript:alert(3)' } }),
    first: '',
    submit: '',
    escapes: true,
  },
];

interface Theme {
  name: string;
  branding: BrandingConfig;
  variants: Variant[];
}

const THEMES: Theme[] = [
  { name: 'default', branding: loadConfig({}).branding, variants: VARIANTS },
  {
    // a light accent (black button text, a darkened link colour) and a logo
    name: 'gold',
    branding: loadConfig({ PRODUCT_NAME: 'Acme Identity', ACCENT_COLOR: '#FFD700', LOGO_URL: '/logo.svg' }).branding,
    variants: VARIANTS.filter((v) => ['login-error', 'consent', 'device-confirm', 'logged-out', 'error-expired'].includes(v.name)),
  },
];

const LOGO = `<svg xmlns="http://www.w3.org/2000/svg" width="40" height="40" viewBox="0 0 40 40"><rect width="40" height="40" rx="8" fill="#333"/></svg>`;

function galleryApp(): Koa {
  const app = new Koa();
  const router = new Router();
  router.get('/logo.svg', (ctx) => {
    ctx.type = 'image/svg+xml';
    ctx.body = LOGO;
  });
  for (const theme of THEMES) {
    registerPageAssets(router, { branding: theme.branding });
    for (const variant of theme.variants) {
      router.get(`/${theme.name}/${variant.name}`, (ctx) => {
        sendPage(ctx, variant.page(), { branding: theme.branding, status: variant.status ?? 200, formActions: variant.formActions ?? [] });
      });
    }
  }
  app.use(router.routes());
  return app;
}

const served = useServer(galleryApp().callback());
const browser = useBrowser();

const rgb = (hex: string) => {
  const n = Number.parseInt(hex.slice(1), 16);
  return `rgb(${n >> 16}, ${(n >> 8) & 255}, ${n & 255})`;
};

for (const theme of THEMES) {
  describe(`pages [${theme.name} theme]`, () => {
    for (const variant of theme.variants) {
      it(`${variant.name}: accessible, usable at 360px, keyboard-complete, under its CSP`, async () => {
        const page = await browser.newPage();
        const response = await page.goto(`${served.url}/${theme.name}/${variant.name}`);
        if (!response) throw new Error('no response');

        expect(response.status()).toBe(variant.status ?? 200);
        const headers = response.headers();
        expect(headers['content-type']).toBe('text/html; charset=utf-8');
        expect(headers['cache-control']).toBe('no-store');
        expect(headers['content-security-policy']).toBe(pageContentSecurityPolicy({ formActions: variant.formActions ?? [] }));
        expect(headers['x-frame-options']).toBe('DENY');
        expect(await page.title()).toMatch(new RegExp(`– ${theme.branding.productName}$`));

        // the stylesheet loaded under the CSP and carries the derived accent colours
        const palette = accentPalette(theme.branding.accentColor);
        const styles = await page.evaluate(() => {
          const primary = document.querySelector('.button-primary');
          return {
            main: getComputedStyle(document.querySelector('main') as Element).maxWidth,
            primary: primary ? [getComputedStyle(primary).backgroundColor, getComputedStyle(primary).color] : null,
            logo: (document.querySelector('.brand img') as HTMLImageElement | null)?.naturalWidth ?? null,
          };
        });
        expect(styles.main).toBe('480px');
        if (styles.primary) expect(styles.primary).toEqual([rgb(palette.accent), rgb(palette.onAccent)]);
        expect(styles.logo).toBe(theme.branding.logoUrl ? 40 : null);

        const stops = await expectKeyboardPass(page);
        expect(stops[0]?.element ?? '').toBe(variant.first);
        if (variant.submit) expect(stops.map((s) => s.name)).toContain(variant.submit);

        await expectNoAxeViolations(page);
        await expectUsableAt360(page);

        if (variant.escapes) {
          expect(await page.locator('img[src="x"]').count()).toBe(0);
          expect(await page.getByText(XSS).count()).toBeGreaterThan(0);
          expect(await page.locator('a[href^="javascript:"]').count()).toBe(0);
        }
        await expectNoCspViolations(page);
        expectNoDialogs(page);
        expect(consoleErrors(page)).toEqual([]);

        if (process.env.UPDATE_SCREENSHOTS === '1' && variant.screenshot && theme.name === 'default') {
          const dir = join(ROOT, 'docs', 'screenshots');
          mkdirSync(dir, { recursive: true });
          await page.setViewportSize({ width: 640, height: 480 });
          await page.screenshot({ path: join(dir, `${variant.name}.png`), fullPage: true });
        }
      });
    }
  });
}

describe('the stylesheet route', () => {
  const sheet = pageStylesheet(THEMES[0]?.branding as BrandingConfig);

  it('serves the stylesheet as text/css, cached for a year and immutable, with its accent rule first', async () => {
    const res = await fetch(`${served.url}${sheet.href}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/css; charset=utf-8');
    expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(await res.text()).toMatch(/^:root\{--gh-accent:#1f5fae;--gh-on-accent:#ffffff;--gh-ink:#1f5fae\}/);
  });

  it('answers 304 to a matching If-None-Match, and 404 for any other name', async () => {
    // node:http, not fetch: fetch adds `Cache-Control: no-cache` to a conditional request (Fetch
    // standard, HTTP-network-or-cache fetch), which rightly makes any server answer in full
    const status = await new Promise<number | undefined>((resolve, reject) => {
      get(`${served.url}${sheet.href}`, { headers: { 'if-none-match': sheet.etag } }, (res) => {
        res.resume();
        resolve(res.statusCode);
      }).on('error', reject);
    });
    expect(status).toBe(304);
    expect((await fetch(`${served.url}/assets/gatehouse.0000000000000000.css`)).status).toBe(404);
  });

  it('is a different name for a different accent', () => {
    const gold = pageStylesheet(THEMES[1]?.branding as BrandingConfig);
    expect(gold.href).not.toBe(sheet.href);
    expect(gold.css).toMatch(/^:root\{--gh-accent:#ffd700;--gh-on-accent:#000000;--gh-ink:#[0-9a-f]{6}\}/);
  });
});

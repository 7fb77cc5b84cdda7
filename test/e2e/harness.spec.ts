import { describe, expect, it } from 'vitest';
import { pageContentSecurityPolicy } from '../../src/http/pages/security-headers.ts';
import { axeViolations, expectNoAxeViolations } from './support/axe.ts';
import { cspViolations, expectNoCspViolations, expectNoDialogs, useBrowser } from './support/browser.ts';
import { useServer } from './support/http.ts';
import { expectKeyboardPass } from './support/keyboard.ts';
import { expectUsableAt360 } from './support/usability.ts';

/**
 * The browser harness catches what it is there to catch: each check fails on a page made to
 * break it, and passes on the same page without the fault. (Otherwise a clean gallery would
 * prove nothing.)
 */

const GOOD_BODY = `<header><p>Gatehouse</p></header><main><h1>Sign in</h1>
<form method="post" action="/x"><label for="u">Username</label><input id="u" name="u">
<button type="submit">Sign in</button></form></main>`;

const FIXTURES: Record<string, string> = {
  '/good': GOOD_BODY,
  '/inline-style': `${GOOD_BODY}<style>main{color:red}</style>`,
  '/inline-handler': GOOD_BODY.replace('<input id="u" name="u">', '<input id="u" name="u" onfocus="this.select()">'),
  '/xss': `${GOOD_BODY}<p><img src=x onerror="alert(1)"></p>`,
  '/unlabelled': GOOD_BODY.replace('<label for="u">Username</label>', ''),
  '/low-contrast': GOOD_BODY.replace('<button type="submit">', '<button type="submit" class="faint">'),
  '/wide': GOOD_BODY.replace('</main>', '<div class="wide">wide</div></main>'),
  '/no-focus-ring': GOOD_BODY.replace('<button type="submit">', '<button type="submit" class="no-ring">'),
  '/jumbled-order': GOOD_BODY.replace('<button type="submit">', '<button type="submit" tabindex="1">'),
};

const CSS = `body{font:16px sans-serif;color:#111;background:#fff}
input,button{min-height:2.75rem;font:inherit}
:focus-visible{outline:3px solid #1f5fae}
.faint{color:#ddd;background:#fff}
.wide{width:900px}
.no-ring:focus-visible{outline:none}`;

const served = useServer((req, res) => {
  if (req.url === '/style.css') {
    res.writeHead(200, { 'content-type': 'text/css' }).end(CSS);
    return;
  }
  const [path, query] = (req.url ?? '').split('?');
  const body = FIXTURES[path ?? ''];
  if (!body) {
    res.writeHead(404).end();
    return;
  }
  res
    .writeHead(200, {
      'content-type': 'text/html; charset=utf-8',
      ...(query === 'no-csp' ? {} : { 'content-security-policy': pageContentSecurityPolicy() }),
    })
    .end(
      `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Fixture</title><link rel="icon" href="data:,"><link rel="stylesheet" href="/style.css"></head><body>${body}</body></html>`,
    );
});
const browser = useBrowser();

async function open(path: string) {
  const page = await browser.newPage();
  await page.goto(`${served.url}${path}`);
  return page;
}

describe('the browser harness', () => {
  it('passes a clean page on every check', async () => {
    const page = await open('/good');
    await expectNoAxeViolations(page);
    await expectUsableAt360(page);
    const stops = await expectKeyboardPass(page);
    expect(stops.map((s) => s.element)).toEqual(['input#u', 'button']);
    await expectNoCspViolations(page);
    expectNoDialogs(page);
  });

  it('reports an inline style and an inline event handler as CSP violations', async () => {
    const style = await open('/inline-style');
    await expect(expectNoCspViolations(style)).rejects.toThrow(/style-src/);
    const handler = await open('/inline-handler');
    await handler.focus('#u');
    expect((await cspViolations(handler)).join('\n')).toMatch(/script-src/);
  });

  it('catches injected script: blocked by the policy (a violation), or run without it (a dialog)', async () => {
    const blocked = await open('/xss');
    expectNoDialogs(blocked);
    await expect(expectNoCspViolations(blocked)).rejects.toThrow(/script-src/);
    const unprotected = await open('/xss?no-csp');
    await unprotected.waitForFunction(() => document.readyState === 'complete');
    expect(() => expectNoDialogs(unprotected)).toThrow(/alert: 1/);
  });

  it('fails an unlabelled field and low-contrast text with a readable list of axe violations', async () => {
    const unlabelled = await open('/unlabelled');
    await expect(expectNoAxeViolations(unlabelled)).rejects.toThrow(/- label \(critical\): .*\n\s+at #u: <input/);
    const faint = await open('/low-contrast');
    expect((await axeViolations(faint)).map((v) => v.id)).toEqual(['color-contrast']);
  });

  it('fails a page that scrolls sideways at 360px', async () => {
    const page = await open('/wide');
    await expect(expectUsableAt360(page)).rejects.toThrow(/scrolls sideways/);
  });

  it('fails a keyboard pass without a visible focus ring, or out of reading order', async () => {
    const noRing = await open('/no-focus-ring');
    await expect(expectKeyboardPass(noRing)).rejects.toThrow(/no visible focus on button "Sign in"/);
    const jumbled = await open('/jumbled-order');
    await expect(expectKeyboardPass(jumbled)).rejects.toThrow(/is read before it/);
  });
});

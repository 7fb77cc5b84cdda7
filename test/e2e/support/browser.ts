import { existsSync } from 'node:fs';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll } from 'vitest';

/**
 * Headless Chromium for browser suites (DESIGN.md §1: Debian's `chromium`, driven by
 * playwright-core): one browser per test file, a fresh context and page per test, so no cookie,
 * storage or focus state leaks between tests.
 *
 * Every page is watched from its first byte: console messages (Chromium reports Content-Security-
 * Policy violations there), `securitypolicyviolation` events, uncaught errors and dialogs (an
 * `alert()` from injected markup would open one). expectNoCspViolations and expectNoDialogs read them.
 */

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'];

interface Watch {
  console: Array<{ type: string; text: string; url: string }>;
  errors: string[];
  dialogs: string[];
}

const watches = new WeakMap<Page, Watch>();

export interface BrowserHandle {
  /** a new page in a new context (closed after the test) */
  newPage(options?: { viewport?: { width: number; height: number } }): Promise<Page>;
}

/** Registers the hooks that launch the file's browser and close its pages; call at file level. */
export function useBrowser(): BrowserHandle {
  let browser: Browser | undefined;
  const open: BrowserContext[] = [];
  beforeAll(async () => {
    if (!existsSync(CHROMIUM_PATH)) {
      throw new Error(`no Chromium at ${CHROMIUM_PATH}: install it (apt-get install -y chromium) or set CHROMIUM_PATH`);
    }
    browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: ARGS });
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((context) => context.close()));
  });
  afterAll(async () => {
    await browser?.close();
  });
  return {
    async newPage(options = {}) {
      if (!browser) throw new Error('useBrowser(): the browser is not running (call newPage inside a test)');
      const context = await browser.newContext({ viewport: options.viewport ?? { width: 1024, height: 768 } });
      open.push(context);
      const page = await context.newPage();
      const watch: Watch = { console: [], errors: [], dialogs: [] };
      watches.set(page, watch);
      page.on('console', (message) => watch.console.push({ type: message.type(), text: message.text(), url: message.location().url }));
      page.on('pageerror', (error) => watch.errors.push(error.message));
      page.on('dialog', (dialog) => {
        watch.dialogs.push(`${dialog.type()}: ${dialog.message()}`);
        void dialog.dismiss();
      });
      // Recorded in the page too: a violation is reported there even when no console message is.
      await page.addInitScript(() => {
        const seen: string[] = [];
        Object.defineProperty(window, '__cspViolations', { value: seen });
        document.addEventListener('securitypolicyviolation', (e) => {
          seen.push(`${e.effectiveDirective} blocked ${e.blockedURI || 'inline'} (${e.sourceFile || 'document'}:${e.lineNumber})`);
        });
      });
      return page;
    },
  };
}

function watchOf(page: Page): Watch {
  const watch = watches.get(page);
  if (!watch) throw new Error('this page was not opened by useBrowser().newPage()');
  return watch;
}

/** Content-Security-Policy violations the page reported, from both sources. */
export async function cspViolations(page: Page): Promise<string[]> {
  const fromPage = await page.evaluate(() => [...((window as unknown as { __cspViolations?: string[] }).__cspViolations ?? [])]);
  const fromConsole = watchOf(page)
    .console.filter((m) => /Content Security Policy/i.test(m.text))
    .map((m) => m.text);
  return [...fromPage, ...fromConsole];
}

export async function expectNoCspViolations(page: Page): Promise<void> {
  const violations = await cspViolations(page);
  if (violations.length) throw new Error(`Content-Security-Policy violations on ${page.url()}:\n  ${violations.join('\n  ')}`);
}

/** No alert/confirm/prompt opened and no uncaught script error: nothing ran that should not. */
export function expectNoDialogs(page: Page): void {
  const { dialogs, errors } = watchOf(page);
  if (dialogs.length || errors.length) {
    throw new Error(`unexpected script activity on ${page.url()}:\n  ${[...dialogs, ...errors].join('\n  ')}`);
  }
}

/**
 * Console errors (failed loads, CSP) the page logged, for assertions of a quiet page. The status
 * of the document itself is left out: an error page is meant to answer 4xx or 5xx, and Chromium
 * logs that as a failed load.
 */
export function consoleErrors(page: Page): string[] {
  return watchOf(page)
    .console.filter((m) => m.type === 'error')
    .filter((m) => !(m.url === page.url() && m.text.startsWith('Failed to load resource: the server responded with a status of')))
    .map((m) => `${m.text} (${m.url})`);
}

import type { Context } from 'koa';
import type { JSX } from 'preact';
import { renderToString } from 'preact-render-to-string';
import type { BrandingConfig } from '../../config/config.ts';
import { type PageSecurityOptions, pageSecurityHeaders } from './security-headers.ts';
import { pageTheme, ThemeContext } from './theme.ts';

export interface RenderPageOptions {
  branding: BrandingConfig;
}

/** A complete HTML document for a page element (`<LoginPage …/>`, `<ErrorPage …/>`, …). */
export function renderPage(page: JSX.Element, { branding }: RenderPageOptions): string {
  return `<!doctype html>${renderToString(<ThemeContext.Provider value={pageTheme(branding)}>{page}</ThemeContext.Provider>)}`;
}

export interface SendPageOptions extends RenderPageOptions, PageSecurityOptions {
  /** default 200 */
  status?: number;
}

/**
 * Answers with a page: its status, HTML, the page security headers (security-headers.ts) and
 * `Cache-Control: no-store` (a page carries a CSRF token and personal data; no cache may keep it,
 * and Back must not show a stale form).
 */
export function sendPage(ctx: Context, page: JSX.Element, options: SendPageOptions): void {
  const body = renderPage(page, options);
  pageSecurityHeaders(ctx, options);
  ctx.status = options.status ?? 200;
  ctx.set('Cache-Control', 'no-store');
  ctx.type = 'text/html; charset=utf-8';
  ctx.body = body;
}

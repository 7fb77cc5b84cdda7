import type { Context } from 'koa';

/**
 * The headers of a page (an HTML answer a person's browser renders), as one function the flow code
 * applies to every page it sends (sendPage does). It sets the page's own Content-Security-Policy,
 * which replaces the stricter one every answer carries by default (`default-src 'none'` with
 * `form-action 'none'`; http/middleware/security-headers.ts on the koa-helmet branch), and repeats
 * the other browser protections so a page is safe even where that middleware does not run (inside
 * oidc-provider's `*Source` hooks, whose context is oidc-provider's own).
 *
 * The policy (CSP Level 3): nothing loads but Gatehouse's stylesheet (`style-src 'self'`) and
 * images from this server, https and data: (the configured logo, the empty favicon); no script
 * at all (`default-src 'none'` covers script-src, so an injected `<script>` or `onerror=` never
 * runs); no framing (`frame-ancestors 'none'`, with X-Frame-Options for older browsers); no
 * `<base>` (`base-uri 'none'`); forms post only to this server and to `formActions`.
 *
 * `formActions` exists because browsers (Chromium notably) apply form-action to every redirect
 * that follows a form submission: the login and consent forms post here, and the answer
 * redirects on to the client's `redirect_uri`, so that origin must be allowed, or the browser
 * stops at the last step. The flow code passes the client's registered redirect URIs (or
 * post-logout redirect URIs for the logout page).
 */
export interface PageSecurityOptions {
  /**
   * Extra form targets: absolute URLs (reduced to their origin), `scheme:` for a native app's
   * private-use URI scheme (RFC 8252 §7.1), or `http://127.0.0.1:*` style loopback origins with any
   * port (RFC 8252 §7.3). Anything else throws: a source list is no place for surprises.
   */
  formActions?: readonly string[];
}

const HOST_SOURCE = /^https?:\/\/(?:[a-z0-9-]+(?:\.[a-z0-9-]+)*|\[[0-9a-f:.]+\])(?::(?:\d{1,5}|\*))?$/;
const SCHEME_SOURCE = /^[a-z][a-z0-9+.-]*:$/;

/** One `form-action` source for a redirect target; throws on anything that is not one. */
export function formActionSource(target: string): string {
  const lower = target.toLowerCase();
  if (HOST_SOURCE.test(lower)) return lower;
  let url: URL;
  try {
    url = new URL(target);
  } catch {
    throw new Error(`not a URL for form-action: ${JSON.stringify(target)}`);
  }
  if (url.protocol === 'http:' || url.protocol === 'https:') {
    if (HOST_SOURCE.test(url.origin)) return url.origin;
    throw new Error(`not a plain origin for form-action: ${JSON.stringify(url.origin)}`);
  }
  if (SCHEME_SOURCE.test(url.protocol) && !['javascript:', 'data:', 'blob:', 'filesystem:'].includes(url.protocol)) return url.protocol;
  throw new Error(`not an allowed form-action scheme: ${JSON.stringify(url.protocol)}`);
}

/** The Content-Security-Policy of a page. */
export function pageContentSecurityPolicy(options: PageSecurityOptions = {}): string {
  const formActions = [...new Set(["'self'", ...(options.formActions ?? []).map(formActionSource)])];
  return [
    "default-src 'none'",
    "style-src 'self'",
    "img-src 'self' https: data:",
    `form-action ${formActions.join(' ')}`,
    "frame-ancestors 'none'",
    "base-uri 'none'",
  ].join('; ');
}

/** Sets a page's security headers on `ctx` (see above). */
export function pageSecurityHeaders(ctx: Context, options: PageSecurityOptions = {}): void {
  ctx.set('Content-Security-Policy', pageContentSecurityPolicy(options));
  ctx.set('X-Frame-Options', 'DENY');
  ctx.set('X-Content-Type-Options', 'nosniff');
  ctx.set('Referrer-Policy', 'no-referrer');
}

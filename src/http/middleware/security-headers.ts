import type { Middleware } from 'koa';
import helmet from 'koa-helmet';

/**
 * Response headers that keep browsers from misusing any answer, set once, first in the chain, so
 * every response carries them: JSON and problem documents, errors, the token fast path's answers,
 * oidc-provider's HTML error page, and any page the sign-in work adds.
 *
 * - `X-Content-Type-Options: nosniff`: a body is never reinterpreted as script or style.
 * - `Content-Security-Policy: default-src 'none'; base-uri 'none'; form-action 'none';
 *   frame-ancestors 'none'` (CSP3): nothing in an answer may load, submit or be framed. The HTML
 *   error page (oidc/error-page.ts) is plain markup and needs nothing more; a page that does (a
 *   sign-in form posting to itself) sets its own policy on its route, which replaces this one.
 * - `X-Frame-Options: DENY` (RFC 7034) for browsers without `frame-ancestors`: no clickjacking.
 * - `Referrer-Policy: no-referrer`: URLs (and any code or state in them) never leave in `Referer`.
 * - `Cross-Origin-Resource-Policy: same-origin`: no other site embeds an answer with `no-cors`;
 *   discovery and the JWKS, public by design, widen it (well-known.ts).
 * - `Strict-Transport-Security` only when the issuer is https (RFC 6797 §7.2: ignored over http),
 *   without includeSubDomains: the other hosts of the domain are the operator's business.
 *
 * helmet's other defaults concern pages of old browsers (X-XSS-Protection, X-Download-Options,
 * X-DNS-Prefetch-Control…) and are left out: this sits on the token endpoint's hot path, so each
 * request pays only for headers that do something. The header values are computed once, here.
 */
export function securityHeaders({ issuer }: { issuer: string }): Middleware {
  return helmet(helmetOptions(issuer)) as Middleware;
}

/**
 * The same headers as name/value pairs, for the few answers written without Koa (client-error.ts):
 * helmet's own middleware run once against a stand-in response that records them.
 */
export async function securityHeaderPairs({ issuer }: { issuer: string }): Promise<Array<[string, string]>> {
  const pairs: Array<[string, string]> = [];
  const res = {
    setHeader: (name: string, value: unknown) => pairs.push([name, String(value)]),
    removeHeader: () => {},
  };
  await securityHeaders({ issuer })({ req: {}, res } as never, async () => {});
  return pairs;
}

function helmetOptions(issuer: string): Parameters<typeof helmet>[0] {
  return {
    contentSecurityPolicy: {
      useDefaults: false,
      directives: { defaultSrc: ["'none'"], baseUri: ["'none'"], formAction: ["'none'"], frameAncestors: ["'none'"] },
    },
    xContentTypeOptions: true,
    xFrameOptions: { action: 'deny' },
    referrerPolicy: { policy: 'no-referrer' },
    crossOriginResourcePolicy: { policy: 'same-origin' },
    strictTransportSecurity: new URL(issuer).protocol === 'https:' ? { maxAge: 31_536_000, includeSubDomains: false } : false,
    crossOriginOpenerPolicy: false,
    crossOriginEmbedderPolicy: false,
    originAgentCluster: false,
    xDnsPrefetchControl: false,
    xDownloadOptions: false,
    xPermittedCrossDomainPolicies: false,
    xPoweredBy: false,
    xXssProtection: false,
  };
}

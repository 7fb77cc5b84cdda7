import type { Context, Next } from 'koa';
import type Provider from 'oidc-provider';
import type { BrandingConfig } from '../../config/config.ts';
import { hasStoredSession, lookUpUserCode, type UserCodeLookup } from '../../oidc/device-flow.ts';
import { readProviderForm, singleValued } from '../../oidc/form-body.ts';
import { CSRF_FIELD } from '../csrf.ts';
import type { DevicePages } from '../device-pages.tsx';
import { VERIFICATION_PATH } from '../device-pages.tsx';
import type { DeviceThrottle } from '../device-throttle.ts';
import { ErrorPage, sendPage, type UserCodeError } from '../pages/index.ts';

/**
 * GET  /device                     the code-entry page (RFC 8628 §3.3, the verification URI)
 * POST /device (csrf, user_code)   the entry form: a code naming a pending request → 303 to
 *                                  GET /device?user_code=…; anything else → the page again, saying why
 * GET  /device?user_code=…         `verification_uri_complete`, and the step above: oidc-provider
 *                                  takes over (its session and xsrf secret, then the confirm page)
 * POST /device (xsrf, …)           the library's own forms (confirm: Allow, Deny): to oidc-provider
 * GET  /device/:uid                the library's resume after signing in, for a browser with a
 *                                  stored session (otherwise: "this sign-in has expired")
 *
 * Everything a person types is checked here before oidc-provider sees it, for two reasons:
 * - RFC 8628 §5.1: user codes are short, so guessing is throttled per client IP
 *   (device-throttle.ts); a blocked address gets a page saying so (429) and an audit line, and no
 *   code is looked up for it until the block ends.
 * - DESIGN.md §5, anonymous requests write nothing: the library stores a browser session with an
 *   xsrf secret on every visit of its entry page (lib/shared/xsrf.js `generateXsrf`). Here a visit
 *   or a wrong code costs one read; the library only ever sees requests that carry a code naming a
 *   pending device request, which only a registered client can have made.
 *
 * Matched like oidc-provider's router matches (ASCII case-insensitive, a trailing slash ignored),
 * so no spelling of the path reaches the library's entry page unchecked.
 */
export interface DeviceRouteDeps {
  provider: () => Provider;
  pages: DevicePages;
  throttle: DeviceThrottle | null;
  branding: BrandingConfig;
}

const ENTRY_ERRORS: Readonly<Record<Exclude<UserCodeLookup['state'], 'pending'>, UserCodeError>> = {
  missing: 'missing',
  unknown: 'invalid',
  expired: 'expired',
  used: 'used',
};

const SHOWN_CODE_CHARS = 64;

export function deviceRoutes(deps: DeviceRouteDeps) {
  const { pages, throttle, branding } = deps;
  // Paths as discovery spells them: served-routes.ts answers every other spelling before this runs.
  const entryPath = VERIFICATION_PATH;

  async function sendBlocked(ctx: Context, ms: number) {
    const retryAfterSeconds = Math.max(1, Math.ceil(ms / 1000));
    // The audit line of each refused attempt (a log line: an anonymous flood must not become writes).
    ctx.state.log.info(
      { audit: 'device.user_code_blocked', ip: ctx.ip, path: ctx.path, retryAfterSeconds },
      'device user code refused: address blocked',
    );
    ctx.set('Retry-After', String(retryAfterSeconds));
    sendPage(
      ctx,
      <ErrorPage
        kind="too-many-attempts"
        retryAfterSeconds={retryAfterSeconds}
        retryHref={VERIFICATION_PATH}
        requestId={ctx.state.reqId}
      />,
      { branding, status: 429 },
    );
  }

  /**
   * The typed code, checked: the pending request it names, or null once the page is answered
   * (blocked, or the entry page again with the reason).
   */
  async function checked(ctx: Context, typed: string | undefined) {
    const log = ctx.state.log;
    if (throttle) {
      const ms = await throttle.blockedMs(ctx.ip, log);
      if (ms > 0) return void (await sendBlocked(ctx, ms));
    }
    const found = await lookUpUserCode(deps.provider(), typed);
    if (found.state === 'pending') return found;
    if (found.state !== 'missing' && throttle) {
      const ms = await throttle.recordFailure(ctx.ip, log);
      if (ms > 0) return void (await sendBlocked(ctx, ms));
    }
    pages.sendEntryPage(ctx, { error: ENTRY_ERRORS[found.state], userCode: typed?.slice(0, SHOWN_CODE_CHARS) ?? null });
    return null;
  }

  return async function deviceRoutesMiddleware(ctx: Context, next: Next): Promise<unknown> {
    const { path } = ctx;
    if (path.startsWith(`${entryPath}/`) && path.length > entryPath.length + 1) {
      // The library's resume after signing in: only for a browser it keeps a session for.
      if ((ctx.method === 'GET' || ctx.method === 'HEAD') && !(await hasStoredSession(deps.provider(), ctx))) {
        sendPage(ctx, <ErrorPage kind="expired-interaction" startAgainHref={VERIFICATION_PATH} requestId={ctx.state.reqId} />, {
          branding,
          status: 400,
        });
        return;
      }
      return next();
    }
    if (path !== entryPath) return next();

    if (ctx.method === 'GET' || ctx.method === 'HEAD') {
      const typed = ctx.query.user_code;
      if (typed === undefined) return pages.sendEntryPage(ctx);
      // A repeated parameter names no code.
      if (typeof typed !== 'string') return checked(ctx, '\u0000');
      return (await checked(ctx, typed)) ? next() : undefined;
    }
    if (ctx.method !== 'POST') return next();

    const read = await readProviderForm(ctx);
    const form = read ? singleValued(read.params) : null;
    if (!read || !form) return pages.sendEntryPage(ctx, { error: 'failed' });
    if (form.xsrf !== undefined) {
      // The library's confirm form: it checks its xsrf secret against the browser's session; the
      // code must still be pending.
      if (!(await hasStoredSession(deps.provider(), ctx))) return pages.sendEntryPage(ctx, { error: 'failed', status: 403 });
      if (!(await checked(ctx, form.user_code))) return;
      read.replay();
      return next();
    }
    if (!pages.isEntryCsrf(ctx, form[CSRF_FIELD])) {
      // Not sent from this browser's entry page (or the cookie expired): nothing is looked up.
      return pages.sendEntryPage(ctx, { error: 'failed', status: 403 });
    }
    const found = await checked(ctx, form.user_code);
    if (!found) return;
    // Post/Redirect/Get onto verification_uri_complete's form of the same step.
    ctx.status = 303;
    ctx.redirect(`${VERIFICATION_PATH}?${new URLSearchParams({ user_code: found.userCode })}`);
  };
}

import type { Context, Next } from 'koa';
import type Provider from 'oidc-provider';
import { errors } from 'oidc-provider';
import type { ApplicationService } from '../domain/applications/application.service.ts';
import { hasControlCharacters } from '../lib/control-characters.ts';
import { authenticateClient, isClientAuthFailure, readPresentedClient } from './client-auth.ts';
import { readProviderForm, singleValued } from './form-body.ts';
import { OIDC_ROUTES } from './routes.ts';

/**
 * The device authorization grant (RFC 8628) beside oidc-provider's `features.deviceFlow`
 * (https://github.com/panva/node-oidc-provider/tree/main/docs#featuresdeviceflow), written against
 * oidc-provider 9.13.3. The library issues device and user codes, checks the person's answer and
 * issues tokens; Gatehouse adds what it leaves out:
 *
 * - `interval` in the device authorization response (RFC 8628 §3.2; the library sends none, which
 *   a client reads as 5 seconds) and `slow_down` for a device polling sooner than that while the
 *   request is pending (§3.5: the library never answers it): `deviceAuthorizationEndpoint` and
 *   `pacePolling` below, the latter called by token-endpoint.ts; `unauthorized_client` for a client
 *   not registered for the grant, as at the token endpoint (token-endpoint-checks.ts);
 * - a user-code lookup the device pages (http/routes/device.tsx) make before the library sees a
 *   code, so that a wrong code is throttled per address (§5.1) and costs no write
 *   (`lookUpUserCode`).
 */

export const DEVICE_CODE_GRANT_TYPE = 'urn:ietf:params:oauth:grant-type:device_code';

/** The user-code format (`features.deviceFlow.charset` and `mask`): base-20, 8 characters, ~34.5 bits (§6.1). */
export const USER_CODE_CHARSET = 'base-20' as const;
export const USER_CODE_MASK = '****-****';

/**
 * A typed code as the library stores it (lib/helpers/user_codes.js `normalize`): ASCII letters
 * upper-cased, everything that is not a word character dropped. So `bcdf-ghjk`, `BCDFGHJK` and
 * `bcdf ghjk` are the same code (§6.1: case- and punctuation-insensitive entry).
 */
export function normalizeUserCode(input: string): string {
  return input.replace(/[a-z]/g, (c) => c.toUpperCase()).replace(/\W/g, '');
}

/** A normalized code shown in the mask's shape (`BCDFGHJK` → `BCDF-GHJK`). */
export function formatUserCode(normalized: string): string {
  const chars = normalized.split('');
  const slots = USER_CODE_MASK.split('*').length - 1;
  if (chars.length !== slots) return normalized;
  return USER_CODE_MASK.replace(/\*/g, () => chars.shift() as string);
}

/** What a typed user code names. */
export type UserCodeLookup =
  | { state: 'pending'; clientId: string; userCode: string }
  | { state: 'missing' | 'unknown' | 'expired' | 'used' };

/** Longest input worth looking up: a code is 8 characters, with some spaces or dashes around. */
const LONGEST_USER_CODE_INPUT = 64;

/**
 * Looks a typed user code up as the library's code-verification step does (lib/actions/code_verification.js
 * `loadDeviceCodeByUserInput`), without changing anything: `pending` when the person may go on to
 * confirm it, otherwise why not. One read (the code's keyed digest, adapter.ts); nothing is written.
 */
export async function lookUpUserCode(provider: Provider, input: string | undefined): Promise<UserCodeLookup> {
  const typed = (input ?? '').trim();
  if (!typed) return { state: 'missing' };
  if (typed.length > LONGEST_USER_CODE_INPUT || hasControlCharacters(typed)) return { state: 'unknown' };
  const normalized = normalizeUserCode(typed);
  if (!normalized) return { state: 'unknown' };
  const code = await provider.DeviceCode.findByUserCode(normalized, { ignoreExpiration: true });
  if (!code) return { state: 'unknown' };
  if (code.isExpired) return { state: 'expired' };
  if (code.error || code.accountId || code.inFlight) return { state: 'used' };
  return { state: 'pending', clientId: code.clientId as string, userCode: formatUserCode(normalized) };
}

/**
 * Whether the request carries the library's browser session cookie (signed with the cookie keys
 * the Koa app shares with it) naming a stored session. The library's device forms and its resume
 * step are only for such a browser: for any other, its error path (lib/shared/error_handler.js
 * `generateXsrf`, then lib/helpers/initialize_app.js `ensureSessionSave`) tries to `persist` a
 * session never stored and fails with a 500, or would store one for an anonymous visitor.
 */
export async function hasStoredSession(provider: Provider, ctx: Context): Promise<boolean> {
  const id = ctx.cookies.get(provider.cookieName('session'), { signed: true });
  if (!id || id.length > 200 || hasControlCharacters(id)) return false;
  return (await provider.Session.find(id)) !== undefined;
}

export interface DeviceAuthorizationDeps {
  applications: Pick<ApplicationService, 'findClient' | 'verifySecret'>;
  /** the polling `interval` (DEVICE_POLL_INTERVAL_SECONDS) */
  intervalSeconds: number;
}

/**
 * POST /oauth/device/code in front of oidc-provider (RFC 8628 §3.1–3.2):
 * - a client that authenticates but is not registered for the device grant hears RFC 6749 §5.2's
 *   `unauthorized_client` (the library, lib/actions/authorization/client.js
 *   `checkClientGrantType`, answers `invalid_request`), checked where the library would reach that
 *   decision: after client authentication, and only for a request its earlier checks (a repeated
 *   parameter, a request object) would let through; every other request is the library's;
 * - every successful answer gets `interval` (§3.2; the library sends none, which a client reads as
 *   5 seconds), the pace `pacePolling` holds devices to.
 */
export function deviceAuthorizationEndpoint(deps: DeviceAuthorizationDeps) {
  return async function deviceAuthorizationMiddleware(ctx: Context, next: Next): Promise<unknown> {
    // Only this spelling reaches here (served-routes.ts answers the others).
    if (ctx.method !== 'POST' || ctx.path !== OIDC_ROUTES.device_authorization) return next();
    const read = await readProviderForm(ctx);
    const params = read ? singleValued(read.params) : null;
    if (read && params && params.request === undefined && params.request_uri === undefined) {
      const authenticated = await authenticateClient(deps.applications, readPresentedClient(ctx.headers.authorization, params), {
        publicClients: true,
      });
      if (!isClientAuthFailure(authenticated) && !authenticated.client.grantTypes.includes(DEVICE_CODE_GRANT_TYPE as never)) {
        read.replay();
        const origin = ctx.get('origin');
        ctx.vary('Origin');
        if (origin && authenticated.client.allowedOrigins.includes(origin)) ctx.set('Access-Control-Allow-Origin', origin);
        ctx.set('Cache-Control', 'no-store');
        throw new errors.UnauthorizedClient('this client is not allowed to use the device authorization grant');
      }
    }
    read?.replay();
    await next();
    const body = ctx.body as Record<string, unknown> | null;
    if (ctx.status === 200 && body && typeof body === 'object' && typeof body.device_code === 'string') {
      ctx.body = { ...body, interval: deps.intervalSeconds };
    }
  };
}

/** Remembers when each pending device code was last polled; shared by every instance (http/device-throttle.ts). */
export interface PollPacer {
  /** Records a poll of `deviceCode`; true when the previous one was less than the interval ago. */
  tooSoon(deviceCode: string): Promise<boolean>;
}

/**
 * RFC 8628 §3.5 `slow_down`: "the authorization request is still pending and polling should
 * continue, but the interval MUST be increased by 5 seconds". Only a pending answer is paced: the
 * library has found the code (for this client) and it is neither approved, denied nor expired, so
 * an unknown device code never costs a write. The answer keeps the library's shape (400, the same
 * headers), with the error of §3.5.
 */
export async function pacePolling(ctx: Context, deviceCode: unknown, pacer: PollPacer): Promise<void> {
  if (ctx.status !== 400 || typeof deviceCode !== 'string') return;
  const body = ctx.body as { error?: unknown } | null;
  if (!body || typeof body !== 'object' || body.error !== 'authorization_pending') return;
  if (await pacer.tooSoon(deviceCode)) {
    ctx.body = { error: 'slow_down', error_description: 'you are polling too quickly: wait longer between requests (RFC 8628 §3.5)' };
  }
}

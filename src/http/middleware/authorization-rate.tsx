import type { Context, Next } from 'koa';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import type { BrandingConfig } from '../../config/config.ts';
import { addressGroup } from '../../lib/address-group.ts';
import { OIDC_ROUTES } from '../../oidc/routes.ts';
import { ErrorPage, sendPage } from '../pages/index.ts';

/**
 * A per-address limit on authorization requests (AUTHORIZATION_REQUESTS_PER_IP_PER_MINUTE): the
 * browser's (`/oauth/authorize`) and the device's (`POST /oauth/device/code`, RFC 8628 §3.1), which
 * stores a device code even for a public client that authenticates with nothing but its id.
 *
 * A valid authorization request from a browser nobody has signed in to stores the state of its
 * sign-in (oidc-provider's Interaction, kept in the database so any instance, and a restarted one,
 * can finish it): the one write an anonymous visitor can cause. Every other anonymous request
 * writes nothing. Counting in memory, per instance, keeps the limit itself from writing; a flood
 * from one address then stores at most the limit's rows a minute per instance, each expiring after
 * INTERACTION_TTL_SECONDS. People are far below it: one request per sign-in, and a signed-in
 * browser's silent re-authorizations. Only the exact path counts; the resumptions under it
 * (`/oauth/authorize/:uid`) finish a sign-in already started.
 */
export function limitAuthorizationRequests(options: { perMinute: number; branding: BrandingConfig }) {
  const limiter = new RateLimiterMemory({ points: options.perMinute, duration: 60 });
  return async function authorizationRateMiddleware(ctx: Context, next: Next): Promise<void> {
    const device = ctx.path === OIDC_ROUTES.device_authorization && ctx.method === 'POST';
    if (ctx.path !== OIDC_ROUTES.authorization && !device) return next();
    try {
      await limiter.consume(addressGroup(ctx.ip));
    } catch (refusal) {
      if (!(refusal instanceof RateLimiterRes)) throw refusal;
      const retryAfter = Math.max(1, Math.ceil(refusal.msBeforeNext / 1000));
      ctx.set('Retry-After', String(retryAfter));
      ctx.set('Cache-Control', 'no-store');
      if (device) {
        // A device's request (RFC 8628 §3.1) is read by a program: an OAuth error (RFC 6749 §5.2
        // shape) with the status and Retry-After that say when to ask again.
        ctx.status = 429;
        ctx.body = {
          error: 'slow_down',
          error_description: `too many device authorization requests from this address; retry in ${retryAfter} s`,
        };
        return;
      }
      sendPage(
        ctx,
        <ErrorPage
          kind="generic"
          reason={`Too many sign-in requests came from your network. Try again in ${retryAfter} seconds.`}
          requestId={typeof ctx.state.reqId === 'string' ? ctx.state.reqId : null}
        />,
        { branding: options.branding, status: 429 },
      );
      return;
    }
    return next();
  };
}

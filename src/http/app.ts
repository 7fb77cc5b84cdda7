import Router from '@koa/router';
import Koa, { type Middleware } from 'koa';
import type { Logger } from 'pino';
import type { BrandingConfig } from '../config/config.ts';
import { createOutageLog } from '../db/errors.ts';
import type { ApiResourceService } from '../domain/api-resources/api-resource.service.ts';
import type { ApplicationService } from '../domain/applications/application.service.ts';
import type { KeyRing } from '../domain/signing-keys/signing-key.schema.ts';
import type { Clock } from '../lib/clock.ts';
import { deviceAuthorizationEndpoint } from '../oidc/device-flow.ts';
import type { JwtSigner } from '../oidc/jwt-signer.ts';
import type { LogoutWithoutSession } from '../oidc/logout-without-session.ts';
import { finishProtocolAnswers } from '../oidc/protocol-answers.ts';
import type { ProtocolPages } from '../oidc/protocol-pages.ts';
import type { ProviderSlot } from '../oidc/provider-slot.ts';
import { OIDC_ROUTES } from '../oidc/routes.ts';
import { SERVED_GRANT_TYPES } from '../oidc/surface.ts';
import type { TokenClaims } from '../oidc/token-claims.ts';
import { tokenEndpoint } from '../oidc/token-endpoint.ts';
import { createTokenFastPath } from '../oidc/token-fast-path.ts';
import type { TokenInspector } from '../oidc/token-inspector.ts';
import type { ClientAuthThrottle } from './client-auth-throttle.ts';
import { limitAuthorizationRequests } from './middleware/authorization-rate.tsx';
import { errorBoundary } from './middleware/error-boundary.ts';
import { libraryPageHeaders } from './middleware/library-pages.ts';
import { logoutWithoutSession } from './middleware/logout-without-session.ts';
import { requestContext } from './middleware/request-context.ts';
import { securityHeaders } from './middleware/security-headers.ts';
import { serveOnlyServedRoutes } from './middleware/served-routes.ts';
import { registerPageAssets } from './pages/index.ts';
import { type DeviceRouteDeps, deviceRoutes } from './routes/device.tsx';
import { type ReadinessCheck, registerHealthRoutes } from './routes/health.ts';
import { type InteractionRouteDeps, registerInteractionRoutes } from './routes/interaction.tsx';
import { registerProtocolRoutes } from './routes/protocol.ts';
import { registerWellKnownRoutes } from './routes/well-known.ts';

export interface AppDeps {
  issuer: string;
  log: Logger;
  trustProxy: boolean;
  cookieKeys: string[];
  bodyLimitBytes: number;
  provider: ProviderSlot;
  keyRing: () => KeyRing;
  applications: ApplicationService;
  apis: ApiResourceService;
  inspector: TokenInspector;
  /** set to serve plain client-credentials requests without oidc-provider's pipeline */
  tokenFastPath?: { signer: JwtSigner; clock: Clock; claims: TokenClaims };
  readiness: ReadinessCheck[];
  isShuttingDown: () => boolean;
  /** limits on failed client authentication; null when both limits are off */
  clientAuthThrottle?: ClientAuthThrottle | null;
  /** the admin API (`/api/v1`) and AuthZEN endpoints behind HTTP authentication (admin/admin-surface.ts) */
  adminSurface?: Middleware;
  /** how the pages look (their stylesheet is served from here) */
  branding: BrandingConfig;
  /** the sign-in pages (routes/interaction.tsx); without them no interaction can finish */
  signIn?: Omit<InteractionRouteDeps, 'branding' | 'bodyLimitBytes'>;
  /** the pages oidc-provider renders (protocol-pages.tsx), for its 503 answers too */
  pages?: ProtocolPages;
  /** authorization requests per client address per minute (middleware/authorization-rate.tsx); 0: no limit */
  authorizationRequestsPerIpPerMinute?: number;
  /** answers a logout with nobody signed in without oidc-provider, which would store a Session */
  logoutWithoutSession?: LogoutWithoutSession;
  /** the device flow's verification pages (routes/device.tsx) and polling `interval` (RFC 8628) */
  device?: Omit<DeviceRouteDeps, 'branding'> & { pollIntervalSeconds: number };
}

/**
 * The Koa application: request context and error boundary around Gatehouse's own routes, then
 * oidc-provider for every protocol route Gatehouse does not serve itself.
 */
export function createApp(deps: AppDeps): Koa {
  const app = new Koa();
  app.proxy = deps.trustProxy;
  // Behind the one proxy TRUST_PROXY means, the client is the last X-Forwarded-For entry (the one our
  // proxy appended); earlier entries are whatever the client sent and would let it pick its own IP
  // for the client-authentication throttle.
  app.maxIpsCount = 1;
  // oidc-provider's middleware runs on this app's contexts: its cookies need the same keys.
  app.keys = deps.cookieKeys;
  app.silent = true; // errors are logged by the boundary, with the request id

  // Paths as written, case and trailing slash included: the throttle and the checks in front of the
  // router match exact paths, so no other spelling may reach a route past them (surface.ts).
  const router = new Router({ sensitive: true, strict: true });
  registerHealthRoutes(router, { checks: deps.readiness, isShuttingDown: deps.isShuttingDown });
  registerPageAssets(router, { branding: deps.branding });
  if (deps.signIn) registerInteractionRoutes(router, { ...deps.signIn, branding: deps.branding, bodyLimitBytes: deps.bodyLimitBytes });
  registerWellKnownRoutes(router, { keyRing: deps.keyRing, provider: deps.provider });
  const tokenRoute = registerProtocolRoutes(router, {
    applications: deps.applications,
    inspector: deps.inspector,
    bodyLimitBytes: deps.bodyLimitBytes,
    token: tokenEndpoint({
      // TOKEN_FAST_PATH=false leaves every token request to oidc-provider, past the checks.
      fastPath: deps.tokenFastPath
        ? createTokenFastPath({
            issuer: deps.issuer,
            applications: deps.applications,
            apis: deps.apis,
            throttle: deps.clientAuthThrottle ?? null,
            ...deps.tokenFastPath,
          })
        : null,
      checks: { applications: deps.applications, servedGrantTypes: SERVED_GRANT_TYPES },
      pacer: deps.device?.throttle?.pacer ?? null,
    }),
  });

  // Every request the database's absence fails is answered 503; one log line per outage says so.
  const onUnavailable = createOutageLog(deps.log, 'database unavailable: answering 503');
  // First: every answer carries them, the token fast path's and the error boundary's included.
  app.use(securityHeaders({ issuer: deps.issuer }));
  if (new URL(deps.issuer).protocol === 'https:') {
    // Browsers reach an https issuer over TLS, terminated in front of this process if it speaks
    // plain HTTP: its cookies must be Secure (RFC 6265 §4.1.2.5), which Koa's cookie jar only
    // allows on a request it believes secure. Whether TRUST_PROXY is set does not change that.
    app.use((ctx, next) => {
      Object.defineProperty(ctx.request, 'secure', { value: true, configurable: true });
      return next();
    });
  }
  app.use(requestContext(deps.log));
  // Outside the error boundary: it judges the final answer of every path (fast path, oidc-provider, ours).
  if (deps.clientAuthThrottle) app.use(deps.clientAuthThrottle.middleware);
  app.use(errorBoundary(deps.issuer, { onUnavailable }));
  // POST /oauth/token, listed with the protocol routes (routes/protocol.ts), in front of the router.
  app.use(tokenRoute);
  if (deps.adminSurface) app.use(deps.adminSurface);
  app.use(router.routes());
  app.use(router.allowedMethods({ throw: false }));
  app.use(finishProtocolAnswers(deps.issuer, { onUnavailable, ...(deps.pages ? { pages: deps.pages } : {}) }));
  app.use(serveOnlyServedRoutes());
  if (deps.authorizationRequestsPerIpPerMinute) {
    app.use(limitAuthorizationRequests({ perMinute: deps.authorizationRequestsPerIpPerMinute, branding: deps.branding }));
  }
  if (deps.logoutWithoutSession && deps.pages) app.use(logoutWithoutSession({ logout: deps.logoutWithoutSession, pages: deps.pages }));
  if (deps.device) {
    // In front of the library's device routes: they check what a person types before it does.
    app.use(deviceRoutes({ ...deps.device, branding: deps.branding }));
    app.use(deviceAuthorizationEndpoint({ applications: deps.applications, intervalSeconds: deps.device.pollIntervalSeconds }));
  }
  app.use(libraryPageHeaders([OIDC_ROUTES.authorization, OIDC_ROUTES.end_session, OIDC_ROUTES.code_verification]));
  app.use(deps.provider.middleware);
  return app;
}

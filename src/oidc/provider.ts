import Provider, { type Configuration, type KoaContextWithOIDC } from 'oidc-provider';
import type { Logger } from 'pino';
import type { ApiResourceService } from '../domain/api-resources/api-resource.service.ts';
import type { ApplicationService } from '../domain/applications/application.service.ts';
import type { OidcArtifactService } from '../domain/oidc-artifacts/oidc-artifact.service.ts';
import type { KeyRing } from '../domain/signing-keys/signing-key.schema.ts';
import { createAdapterClass } from './adapter.ts';
import { ALLOWED_ORIGINS_METADATA, clientBasedCORS } from './cors.ts';
import { renderProtocolErrorPage } from './error-page.ts';
import { subscribeProviderEvents } from './events.ts';
import { compareClientSecretsWith, publishUrlsFromIssuer } from './internals.ts';
import { resourceIndicators } from './resources.ts';
import { OIDC_ROUTES } from './routes.ts';
import { isServedRoute, SERVED_GRANT_TYPES } from './surface.ts';
import type { TokenClaims } from './token-claims.ts';

/*
 * src/oidc — the protocol wing: oidc-provider and everything Gatehouse does beside it.
 *
 * What lives here: the provider's configuration, one module per concern (this file, adapter.ts,
 * resources.ts, cors.ts, events.ts…); the protocol rules, as pure functions where they can be
 * (client-credentials-policy.ts, introspection-policy.ts, client-auth.ts's credential reading);
 * request parsing (form-body.ts); the code that stands in front of or behind the library and so
 * must mirror it (token-endpoint.ts with token-endpoint-checks.ts and token-fast-path.ts,
 * protocol-answers.ts, provider-slot.ts); the token kinds introspection and revocation know
 * (token-kinds/, token-inspector.ts); and internals.ts, the only file that reaches into the
 * library. Koa middleware is allowed here when it faces the library.
 *
 * What does not: Koa route registration and the Koa app (src/http/app.ts, src/http/routes/),
 * which list every path and hand each to a handler here or to the library; handlers there read
 * requests only through form-body.ts and client-auth.ts. Nothing here imports src/http.
 */

export interface ProviderDeps {
  issuer: string;
  apis: ApiResourceService;
  applications: ApplicationService;
  artifacts: OidcArtifactService;
  cookieKeys: string[];
  defaultAccessTokenTtlSeconds: number;
  trustProxy: boolean;
  log: Logger;
  /** Gatehouse's own access-token claims (token-claims.ts) */
  claims: TokenClaims;
}

/** Grant types this build serves (oidc/surface.ts); clients' other grant types are hidden from oidc-provider. */
export const ENABLED_GRANT_TYPES: ReadonlySet<string> = new Set(SERVED_GRANT_TYPES);

/**
 * Builds the oidc-provider instance for one key ring. oidc-provider takes its keys at
 * construction, so a key rotation builds a new instance and swaps it in (see provider-slot.ts).
 * Each option links to https://github.com/panva/node-oidc-provider/tree/main/docs#configuration-options.
 */
export function buildProvider(deps: ProviderDeps, keyRing: KeyRing): Provider {
  const { issuer, apis, applications, artifacts, log } = deps;

  const configuration: Configuration = {
    // #adapter — clients from applications, everything else in oidc_artifacts
    adapter: createAdapterClass({ artifacts, applications, enabledGrantTypes: ENABLED_GRANT_TYPES }),
    // #clients — none static: applications are registered with the CLI or the admin API
    clients: [],
    // #jwks — active keys first: for an algorithm, oidc-provider signs with the first matching key
    jwks: { keys: keyRing.privateJwks as NonNullable<Configuration['jwks']>['keys'] },
    // #cookies
    cookies: { keys: deps.cookieKeys },
    // #clientbasedcors — per-application allow-list of browser origins, empty by default (cors.ts)
    clientBasedCORS,
    // #extraclientmetadata — carries that allow-list from the application (client-metadata.ts)
    extraClientMetadata: { properties: [ALLOWED_ORIGINS_METADATA] },
    routes: OIDC_ROUTES,
    // #clientauthmethods — no HMAC-based client_secret_jwt: secrets are stored only as digests
    clientAuthMethods: ['client_secret_basic', 'client_secret_post', 'none'],
    // #responsetypes — none without an authorization endpoint; this also keeps oidc-provider from
    // registering the authorization_code grant (lib/helpers/configuration.js collectGrantTypes)
    responseTypes: isServedRoute('authorization') ? ['code', 'none'] : [],
    // #scopes — offline_access is what makes oidc-provider register the refresh_token grant
    scopes: ENABLED_GRANT_TYPES.has('refresh_token') ? ['openid', 'offline_access'] : ['openid'],
    enabledJWA: {
      idTokenSigningAlgValues: ['RS256', 'ES256'],
      userinfoSigningAlgValues: ['RS256', 'ES256'],
    },
    features: {
      devInteractions: { enabled: false },
      // Routes that are not served (oidc/surface.ts) are turned off where oidc-provider allows it:
      // #featuresuserinfo, #featuresrpinitiatedlogout, #featurespushedauthorizationrequests,
      // #featuresdeviceflow. The authorization route cannot be: http/middleware/served-routes.ts.
      userinfo: { enabled: isServedRoute('userinfo') },
      rpInitiatedLogout: { enabled: isServedRoute('end_session') },
      pushedAuthorizationRequests: { enabled: isServedRoute('pushed_authorization_request') },
      deviceFlow: { enabled: isServedRoute('device_authorization') },
      // #featuresclientcredentials — RFC 6749 §4.4
      clientCredentials: { enabled: true },
      // #featuresintrospection / #featuresrevocation — on so discovery advertises them; Gatehouse
      // serves both endpoints itself (http/routes/introspection.ts) to cover JWT access tokens too.
      introspection: { enabled: true },
      revocation: { enabled: true },
      // #featuresresourceindicators — RFC 8707, plus `audience`
      resourceIndicators: resourceIndicators({ apis, applications, keyRing: () => keyRing }) as NonNullable<
        Configuration['features']
      >['resourceIndicators'],
    },
    // #ttl
    ttl: {
      ClientCredentials: (_ctx, token) => token.resourceServer?.accessTokenTTL ?? deps.defaultAccessTokenTtlSeconds,
      AccessToken: (_ctx, token) => token.resourceServer?.accessTokenTTL ?? deps.defaultAccessTokenTtlSeconds,
    },
    // #extratokenclaims — `permissions` on client-credentials tokens (token-claims.ts); the fast
    // path adds the same claims through the same function.
    async extraTokenClaims(_ctx, token) {
      if (token.kind !== 'ClientCredentials' || typeof token.aud !== 'string') return undefined;
      return deps.claims.forClientCredentials(token.clientId as string, token.aud);
    },
    // #renderError — the HTML error page for browser-facing endpoints
    renderError: renderProtocolErrorPage,
    async findAccount() {
      // Sign-in flows arrive with the people issue; until then no account exists.
      return undefined;
    },
  };

  const provider = new Provider(issuer, configuration);
  provider.proxy = deps.trustProxy;

  // The metadata's client_secret holds the keyed digest (client-metadata.ts): compare digests.
  compareClientSecretsWith(provider, applications.secretMatches);
  // Every URL oidc-provider publishes derives from ISSUER, never from the request's Host.
  publishUrlsFromIssuer(provider);

  subscribeProviderEvents(provider, log);
  return provider;
}

export type { KoaContextWithOIDC, Provider };

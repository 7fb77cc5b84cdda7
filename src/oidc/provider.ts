import Provider, { type Configuration, type KoaContextWithOIDC } from 'oidc-provider';
import type { Logger } from 'pino';
import type { DeviceFlowConfig, SignInConfig } from '../config/config.ts';
import type { AccessService } from '../domain/access/access.service.ts';
import type { ApiResourceService } from '../domain/api-resources/api-resource.service.ts';
import type { ApplicationService } from '../domain/applications/application.service.ts';
import type { OidcArtifactService } from '../domain/oidc-artifacts/oidc-artifact.service.ts';
import type { KeyRing } from '../domain/signing-keys/signing-key.schema.ts';
import type { UserService } from '../domain/users/user.service.ts';
import { createExtraTokenClaims, createFindAccount, OIDC_CLAIMS } from './accounts.ts';
import { createAdapterClass } from './adapter.ts';
import { ALLOWED_ORIGINS_METADATA, clientBasedCORS } from './cors.ts';
import { USER_CODE_CHARSET, USER_CODE_MASK } from './device-flow.ts';
import { subscribeProviderEvents } from './events.ts';
import type { GrantRevoker } from './grant-revocation.ts';
import { createLoadExistingGrant, interactionPageUrl, signInPolicy } from './interactions.ts';
import { compareClientSecretsWith, publishUrlsFromIssuer } from './internals.ts';
import type { DeviceFlowPages, ProtocolPages } from './protocol-pages.ts';
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
  access: Pick<AccessService, 'effectivePermissions' | 'permissionsForApi' | 'isSignInCurrent'>;
  users: Pick<UserService, 'findById'>;
  /** ends a grant with its tokens, JWTs included (grant-revocation.ts) */
  revokeGrant: GrantRevoker;
  /** the pages oidc-provider renders itself (protocol-pages.ts) */
  pages: ProtocolPages;
  /** the device flow's pages (http/device-pages.tsx) */
  devicePages: DeviceFlowPages;
  signIn: SignInConfig;
  deviceFlow: DeviceFlowConfig;
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
  const { issuer, apis, applications, artifacts, log, pages, devicePages, signIn } = deps;
  // RFC 6265 §4.1.2.5: Secure when browsers reach the issuer over https (http/app.ts marks such
  // requests secure even behind a TLS-terminating proxy, so the cookies can be set).
  const personClaims = createExtraTokenClaims(deps);
  const cookie = { httpOnly: true, sameSite: 'lax', secure: new URL(issuer).protocol === 'https:' } as const;

  const configuration: Configuration = {
    // #adapter — clients from applications, everything else in oidc_artifacts
    adapter: createAdapterClass({ artifacts, applications, enabledGrantTypes: ENABLED_GRANT_TYPES, revokeGrant: deps.revokeGrant }),
    // #clients — none static: applications are registered with the CLI or the admin API
    clients: [],
    // #jwks — active keys first: for an algorithm, oidc-provider signs with the first matching key
    jwks: { keys: keyRing.privateJwks as NonNullable<Configuration['jwks']>['keys'] },
    // #cookies — HttpOnly, SameSite=Lax (no cross-site POST carries them: the sign-in forms' first
    // CSRF defence), Secure with an https issuer; signed with a key derived from the master key
    cookies: { keys: deps.cookieKeys, long: cookie, short: cookie },
    // #clientbasedcors — per-application allow-list of browser origins, empty by default (cors.ts)
    clientBasedCORS,
    // #extraclientmetadata — carries that allow-list from the application (client-metadata.ts)
    extraClientMetadata: { properties: [ALLOWED_ORIGINS_METADATA] },
    routes: OIDC_ROUTES,
    // #clientauthmethods — no HMAC-based client_secret_jwt: secrets are stored only as digests
    clientAuthMethods: ['client_secret_basic', 'client_secret_post', 'none'],
    // #responsetypes — the code flow only (RFC 9700 §2.1.2: no implicit or hybrid responses); none
    // without an authorization endpoint, which also keeps oidc-provider from registering the
    // authorization_code grant (lib/helpers/configuration.js collectGrantTypes)
    responseTypes: isServedRoute('authorization') ? ['code'] : [],
    // #scopes — offline_access is what makes oidc-provider register the refresh_token grant;
    // profile and email come with `claims` below
    scopes: ENABLED_GRANT_TYPES.has('refresh_token') ? ['openid', 'offline_access'] : ['openid'],
    // #claims — what each scope releases (accounts.ts)
    claims: OIDC_CLAIMS,
    // #conformidtokenclaims — false: the ID token carries the claims of the scopes granted (profile,
    // email) even when an access token is issued too, so a client needs no userinfo call for them
    conformIdTokenClaims: false,
    // #pkce — RFC 9700 §2.1.1: every client, confidential ones too, sends an S256 code_challenge
    // (the only method oidc-provider 9 implements: lib/helpers/pkce.js)
    pkce: { required: () => true },
    // #interactions — the sign-in pages (http/routes/interaction.tsx) and when they are needed
    interactions: {
      url: (_ctx, interaction) => interactionPageUrl(interaction.uid, String(interaction.params.client_id)),
      policy: signInPolicy(),
    },
    // #loadexistinggrant — consent remembered per person and client; first-party clients skip it
    loadExistingGrant: createLoadExistingGrant({
      artifacts,
      isFirstParty: async (clientId) => (await applications.findClient(clientId))?.skipAuthorization === true,
    }),
    // #issuerefreshtoken — a client registered for refresh_token gets one with every code. Without
    // offline_access it ends with the browser session (oidc-provider's expiresWithSession default).
    issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    // #rotaterefreshtoken — RFC 9700 §4.14.2: each use returns a new one; a used one presented again
    // ends the grant (the library, and adapter.ts for two uses at the same moment)
    rotateRefreshToken: true,
    // #extratokenclaims — an application's own `permissions` of the API on client-credentials
    // tokens (token-claims.ts; the fast path adds the same claims through the same function), and a
    // person's roles and permissions for the API, and the grant, on theirs (accounts.ts)
    async extraTokenClaims(ctx, token) {
      if (token.kind === 'ClientCredentials') {
        return typeof token.aud === 'string' ? deps.claims.forClientCredentials(token.clientId as string, token.aud) : undefined;
      }
      return personClaims(ctx, token as Parameters<typeof personClaims>[1]);
    },
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
      rpInitiatedLogout: {
        enabled: isServedRoute('end_session'),
        logoutSource: (ctx, form) =>
          pages.logoutConfirm(ctx, form, { accountId: ctx.oidc.session?.accountId, clientId: ctx.oidc.client?.clientId }),
        postLogoutSuccessSource: (ctx) => pages.loggedOut(ctx, ctx.oidc.client?.clientId),
      },
      pushedAuthorizationRequests: { enabled: isServedRoute('pushed_authorization_request') },
      // RFC 8628, with Gatehouse's pages (http/device-pages.tsx); the code-entry page itself and its
      // throttle are http/routes/device.tsx's, `interval` and `slow_down` are oidc/device-flow.ts's.
      deviceFlow: {
        enabled: isServedRoute('device_authorization'),
        charset: USER_CODE_CHARSET,
        mask: USER_CODE_MASK,
        // shown on the confirm page (§5.4: helps a person tell a phishing request from their own device)
        deviceInfo: (ctx) => ({ ip: ctx.ip, ua: ctx.get('user-agent').slice(0, 200) || undefined }),
        userCodeInputSource: (ctx, _form, _out, err) =>
          devicePages.deviceCode(ctx, err, ctx.oidc.entities.DeviceCode?.clientId ?? ctx.oidc.client?.clientId),
        userCodeConfirmSource: (ctx, form, client, deviceInfo, userCode) => {
          const params = (ctx.oidc.entities.DeviceCode?.params ?? {}) as { scope?: unknown; resource?: unknown };
          const resource = params.resource;
          const info = (deviceInfo ?? {}) as { ip?: unknown; ua?: unknown };
          return devicePages.deviceConfirm(ctx, form, {
            clientId: client.clientId,
            accountId: ctx.oidc.session?.accountId,
            userCode,
            scope: typeof params.scope === 'string' ? params.scope : undefined,
            resources: (Array.isArray(resource) ? resource : [resource]).filter((r): r is string => typeof r === 'string'),
            device: {
              ip: typeof info.ip === 'string' ? info.ip : undefined,
              userAgent: typeof info.ua === 'string' ? info.ua : undefined,
            },
          });
        },
        successSource: (ctx) => devicePages.deviceDone(ctx, ctx.oidc.client?.clientId),
      },
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
      AuthorizationCode: 60, // RFC 6749 §4.1.2: "a maximum authorization code lifetime of 10 minutes is RECOMMENDED"
      IdToken: 3600,
      Interaction: signIn.interactionTtlSeconds,
      // A session without a signed-in account only carries a logout's state: it need not outlive the logout.
      Session: (_ctx, session) => (session.accountId ? signIn.sessionTtlSeconds : 600),
      Grant: signIn.refreshTokenTtlSeconds,
      RefreshToken: signIn.refreshTokenTtlSeconds,
      DeviceCode: deps.deviceFlow.codeTtlSeconds,
    },
    // #renderError — the one error page (http/pages), never the library's JSON or a stack trace
    renderError: (ctx, out, err) => pages.error(ctx, out, err),
    // #findaccount — active users (accounts.ts); `sub` is the user's id (public subject type)
    findAccount: createFindAccount(deps),
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

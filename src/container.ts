import type Koa from 'koa';
import type { Logger } from 'pino';
import type { Config } from './config/config.ts';
import { createChangeBus } from './db/change-bus.ts';
import type { Database } from './db/database.ts';
import { withLocalEcho } from './db/local-echo.ts';
import { pendingMigrations } from './db/migrator.ts';
import { createStorage, type Executor } from './db/storage.ts';
import { createAccessService } from './domain/access/access.service.ts';
import { createAccessStore } from './domain/access/access.store.ts';
import { type Principal, systemPrincipal } from './domain/access/principal.ts';
import { createApiGrantService } from './domain/api-grants/api-grant.service.ts';
import { createApiGrantStore } from './domain/api-grants/api-grant.store.ts';
import { createApiResourceService } from './domain/api-resources/api-resource.service.ts';
import { createApiResourceStore } from './domain/api-resources/api-resource.store.ts';
import { createApiTokenService } from './domain/api-tokens/api-token.service.ts';
import { createApiTokenStore } from './domain/api-tokens/api-token.store.ts';
import { createApplicationService } from './domain/applications/application.service.ts';
import { createApplicationStore } from './domain/applications/application.store.ts';
import { createAuditService } from './domain/audit/audit.service.ts';
import { createAuditStore } from './domain/audit/audit.store.ts';
import { createOidcArtifactService } from './domain/oidc-artifacts/oidc-artifact.service.ts';
import { createOidcArtifactStore } from './domain/oidc-artifacts/oidc-artifact.store.ts';
import { createOrganizationService } from './domain/organizations/organization.service.ts';
import { createOrganizationStore } from './domain/organizations/organization.store.ts';
import { createPermissionService } from './domain/permissions/permission.service.ts';
import { createPermissionStore } from './domain/permissions/permission.store.ts';
import { createRoleService } from './domain/roles/role.service.ts';
import { createRoleStore } from './domain/roles/role.store.ts';
import { createSettingService } from './domain/settings/setting.service.ts';
import { createSettingStore } from './domain/settings/setting.store.ts';
import { createKeyRing, type LiveKeyRing } from './domain/signing-keys/key-ring.ts';
import { SIGNING_ALGS } from './domain/signing-keys/signing-key.schema.ts';
import { createSigningKeyService } from './domain/signing-keys/signing-key.service.ts';
import { createSigningKeyStore } from './domain/signing-keys/signing-key.store.ts';
import { createTokenRevocationService } from './domain/token-revocations/token-revocation.service.ts';
import { createTokenRevocationStore } from './domain/token-revocations/token-revocation.store.ts';
import type { User } from './domain/users/user.schema.ts';
import { createUserService } from './domain/users/user.service.ts';
import { createUserStore } from './domain/users/user.store.ts';
import { adminApiAudience, createAdminSurface } from './http/admin/admin-surface.ts';
import { createApp } from './http/app.ts';
import { type ClientAuthThrottle, createClientAuthThrottle } from './http/client-auth-throttle.ts';
import { createDevicePages } from './http/device-pages.tsx';
import { createDeviceThrottle, type DeviceThrottle } from './http/device-throttle.ts';
import { createHttpAuthenticator } from './http/middleware/authenticate.ts';
import { createPasswordThrottle, type PasswordThrottle } from './http/password-throttle.ts';
import { createProtocolPages } from './http/protocol-pages.tsx';
import type { Clock } from './lib/clock.ts';
import { createPasswordHasher } from './lib/passwords.ts';
import type { DerivedKeys } from './lib/secrets.ts';
import { createBrowserSessionReader } from './oidc/browser-session.ts';
import { createGrantRevoker } from './oidc/grant-revocation.ts';
import { createInteractions } from './oidc/interactions.ts';
import { createJwtSigner } from './oidc/jwt-signer.ts';
import { createLogoutWithoutSession } from './oidc/logout-without-session.ts';
import { buildProvider, type ProviderDeps } from './oidc/provider.ts';
import { createProviderSlot, type ProviderSlot } from './oidc/provider-slot.ts';
import { OIDC_ROUTES } from './oidc/routes.ts';
import { SERVED_GRANT_TYPES } from './oidc/surface.ts';
import { createTokenClaims } from './oidc/token-claims.ts';
import { createTokenInspector } from './oidc/token-inspector.ts';
import { createApiTokenKind } from './oidc/token-kinds/api-token.ts';
import { createIssuedPartiesCheck } from './oidc/token-kinds/issued-parties.ts';
import { createJwtAccessTokenKind } from './oidc/token-kinds/jwt-access-token.ts';
import { createOpaqueTokenKind } from './oidc/token-kinds/opaque-token.ts';

/**
 * The composition root: the one place that wires Gatehouse together (STYLE.md §1), used by the
 * server (src/server/start.ts), the CLI when it works on the database itself, and the tests.
 *
 * `createContainer` builds the domain services over one database and change bus: cheap, no query.
 * `web()` builds, on first use, what serving HTTP needs beside them: the live key ring, the
 * oidc-provider instance (rebuilt whenever the keys change), the token inspector and signer, the
 * failure throttle and the Koa application.
 */
export interface ContainerDeps {
  config: Config;
  db: Database;
  keys: DerivedKeys;
  clock: Clock;
  log: Logger;
}

export type Container = ReturnType<typeof createContainer>;
export type Services = Container['services'];

export interface Web {
  app: Koa;
  keyRing: LiveKeyRing;
  provider: ProviderSlot;
  throttle: ClientAuthThrottle | null;
  /** failed password sign-ins (HTTP Basic on the admin API); null when both limits are off */
  passwordThrottle: PasswordThrottle | null;
  /** wrong device user codes and the device polling pace (RFC 8628) */
  deviceThrottle: DeviceThrottle;
  /** whether the server is shutting down (readiness answers 503 then) */
  setShuttingDown(): void;
}

export function createContainer({ config, db, keys, clock, log }: ContainerDeps) {
  // Read-your-own-writes: a transaction's changes reach this process's caches as it commits,
  // other processes' through NOTIFY a moment later (db/local-echo.ts).
  const { bus, storage } = withLocalEcho(createChangeBus(db, log), createStorage(db.prisma), log);

  const audit = createAuditService({ store: createAuditStore(), storage });
  const settings = createSettingService({ storage, store: createSettingStore(), masterKeyCheckValue: keys.checkValue });
  const apiGrants = createApiGrantService({ store: createApiGrantStore() });
  const apis = createApiResourceService({
    storage,
    store: createApiResourceStore({ bus }),
    grants: apiGrants,
    audit,
    bus,
    defaults: { signingAlg: config.defaultSigningAlg, accessTokenTtlSeconds: config.accessTokenTtlSeconds },
  });
  const applications = createApplicationService({
    storage,
    store: createApplicationStore({ bus }),
    apis,
    grants: apiGrants,
    audit,
    bus,
    clock,
    digestKey: keys.digestKey,
    servedGrantTypes: SERVED_GRANT_TYPES,
    // users and organisations are built below; these run only once requests arrive
    directory: {
      userExists: async (id) => (await users.findById(id)) !== null,
      organizationExists: async (id) => (await organizations.find(id)) !== null,
      adminOrganizationsOf: async (userId) => (await organizations.listForUser(userId)).filter((o) => o.role === 'admin').map((o) => o.id),
      isMember: async (organizationId, userId) => (await organizations.findMembership(organizationId, userId)) !== null,
    },
  });
  const signingKeys = createSigningKeyService({
    storage,
    store: createSigningKeyStore({ bus }),
    audit,
    clock,
    encryptionKey: keys.encryptionKey,
    longestTokenLifetime: () => apis.longestAccessTokenTtl(),
    activationDelaySeconds: config.keyActivationDelaySeconds,
  });
  const revocations = createTokenRevocationService({ store: createTokenRevocationStore(db, bus), bus, clock, log });
  const artifacts = createOidcArtifactService({
    store: createOidcArtifactStore(db, bus, clock),
    bus,
    clock,
    idKey: keys.artifactIdKey,
    payloadKey: keys.artifactPayloadKey,
  });

  // Identity and access (issue 10): who may do what.
  const access = createAccessService({ storage, store: createAccessStore(), bus });
  const passwords = createPasswordHasher(config.passwordHash);
  const users = createUserService({
    storage,
    store: createUserStore({ bus }),
    audit,
    access,
    passwords,
    clock,
    log,
    // A person created through the admin API gets an application of their own; the users that
    // AUTH_TOKENS declares (the system creates them) are API identities and get none.
    ...(config.defaultApplicationForNewUsers
      ? {
          onCreated: (tx: Executor, user: User, principal: Principal) =>
            principal.actor === systemPrincipal.actor ? Promise.resolve() : applications.createDefault(tx, user, principal.actor),
        }
      : {}),
  });
  const permissions = createPermissionService({ storage, store: createPermissionStore({ bus }), audit });
  const roles = createRoleService({ storage, store: createRoleStore({ bus }), audit, permissions, users });
  const organizations = createOrganizationService({ storage, store: createOrganizationStore({ bus }), audit, users, access });
  const apiTokens = createApiTokenService({
    storage,
    store: createApiTokenStore({ bus }),
    audit,
    bus,
    access,
    users,
    permissions,
    clock,
    digestKey: keys.apiTokenKey,
    maxLifetimeSeconds: config.apiTokenMaxLifetimeSeconds,
    isApplicationActive: (id) => applications.isActiveById(id),
    usageFlushIntervalMs: 5000,
    log,
  });

  const services = {
    apis,
    applications,
    signingKeys,
    revocations,
    artifacts,
    settings,
    audit,
    access,
    users,
    permissions,
    roles,
    organizations,
    apiTokens,
  };

  let web: Promise<Web> | undefined;
  let keyRing: LiveKeyRing | undefined;

  async function buildWeb(): Promise<Web> {
    const ring = await createKeyRing({ keys: signingKeys, bus, clock, log });
    keyRing = ring;
    const revokeGrant = createGrantRevoker({ artifacts, revocations, longestAccessTokenTtl: () => apis.longestAccessTokenTtl(), clock });
    const pages = createProtocolPages({ branding: config.branding, applications, users });
    const devicePages = createDevicePages({
      branding: config.branding,
      applications,
      users,
      apis,
      csrfKey: keys.csrfKey,
      secure: new URL(config.issuer).protocol === 'https:',
    });
    const claims = createTokenClaims({ access, applications });
    const providerDeps: ProviderDeps = {
      issuer: config.issuer,
      apis,
      applications,
      artifacts,
      access,
      users,
      revokeGrant,
      pages,
      devicePages: devicePages.pages,
      signIn: config.signIn,
      deviceFlow: config.deviceFlow,
      cookieKeys: keys.cookieKeys,
      defaultAccessTokenTtlSeconds: config.accessTokenTtlSeconds,
      trustProxy: config.trustProxy,
      log,
      claims,
    };
    // oidc-provider takes its keys at construction: each new key ring gets a new instance.
    const provider = createProviderSlot(buildProvider(providerDeps, ring.current()));
    ring.onChange((next) => provider.replace(buildProvider(providerDeps, next)));

    // PostgreSQL: counts shared by every instance on the database. PGlite: one process owns it.
    const throttleStore =
      db.kind === 'postgres'
        ? { kind: 'postgres' as const, query: (text: string, values: unknown[]) => db.sql(text, values) }
        : { kind: 'memory' as const };
    const throttle = createClientAuthThrottle({ config: config.clientAuthThrottle, store: throttleStore });
    const passwordThrottle = createPasswordThrottle({ config: config.passwordThrottle, store: throttleStore });
    const deviceThrottle = createDeviceThrottle({ config: config.deviceFlow, password: config.passwordThrottle, store: throttleStore });
    // The kinds of token introspection and revocation know, tried in order (token-inspector.ts).
    const issuedPartiesExist = createIssuedPartiesCheck({ applications, apis, access });
    const inspector = createTokenInspector({
      kinds: [
        createJwtAccessTokenKind({ issuer: config.issuer, keyRing: ring.current, revocations, clock, issuedPartiesExist }),
        createApiTokenKind({ issuer: config.issuer, apiTokens, applications }),
        createOpaqueTokenKind({ issuer: config.issuer, artifacts, provider: () => provider.current, issuedPartiesExist, revokeGrant }),
      ],
    });
    const authenticator = createHttpAuthenticator({
      audience: adminApiAudience(config.issuer),
      apiTokens,
      access,
      users,
      applications,
      inspector,
      passwordThrottle,
      // the sign-in page's session, a credential for the person's own browser (CSRF-checked)
      browserSession: {
        read: createBrowserSessionReader(() => provider.current),
        csrfKey: keys.csrfKey,
        origin: new URL(config.issuer).origin,
      },
    });
    const adminSurface = createAdminSurface({
      issuer: config.issuer,
      services,
      authenticator,
      bodyLimitBytes: config.requestBodyLimitBytes,
    });
    let shuttingDown = false;
    const app = createApp({
      issuer: config.issuer,
      log,
      trustProxy: config.trustProxy,
      cookieKeys: keys.cookieKeys,
      bodyLimitBytes: config.requestBodyLimitBytes,
      provider,
      keyRing: ring.current,
      applications,
      apis,
      inspector,
      ...(config.tokenFastPath ? { tokenFastPath: { signer: createJwtSigner(ring.current), clock, claims } } : {}),
      isShuttingDown: () => shuttingDown,
      clientAuthThrottle: throttle,
      adminSurface,
      branding: config.branding,
      pages,
      authorizationRequestsPerIpPerMinute: config.signIn.authorizationRequestsPerIpPerMinute,
      logoutWithoutSession: createLogoutWithoutSession(() => provider.current, `${config.issuer}${OIDC_ROUTES.end_session}/success`),
      device: {
        provider: () => provider.current,
        pages: devicePages,
        throttle: deviceThrottle,
        pollIntervalSeconds: config.deviceFlow.pollIntervalSeconds,
      },
      signIn: {
        interactions: createInteractions(() => provider.current),
        users,
        applications,
        apis,
        passwordThrottle,
        csrfKey: keys.csrfKey,
      },
      readiness: [
        { name: 'database', check: async () => (await db.sql('SELECT 1', [])).length === 1 },
        { name: 'migrations', check: async () => (await pendingMigrations(db)).length === 0 },
        { name: 'signing_keys', check: async () => SIGNING_ALGS.every((alg) => ring.current().activeKid[alg] !== undefined) },
      ],
    });
    return {
      app,
      keyRing: ring,
      provider,
      throttle,
      passwordThrottle,
      deviceThrottle,
      setShuttingDown: () => {
        shuttingDown = true;
      },
    };
  }

  return {
    config,
    log,
    clock,
    db,
    bus,
    storage,
    services,
    /** The HTTP side, built once on first call (loads the key ring: call it after the keys exist). */
    web(): Promise<Web> {
      web ??= buildWeb();
      return web;
    },
    /** Stops listening for changes and the key ring's timer. The database is the caller's to close. */
    async close(): Promise<void> {
      await keyRing?.stop();
      await apiTokens.close(); // writes the last-use batch
      access.close();
      await bus.stop();
    },
  };
}

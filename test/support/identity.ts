import { createSecretKey, randomBytes } from 'node:crypto';
import { type ChangeBus, createChangeBus, defineChange } from '../../src/db/change-bus.ts';
import { type Database, openDatabase } from '../../src/db/database.ts';
import { withLocalEcho } from '../../src/db/local-echo.ts';
import { createStorage } from '../../src/db/storage.ts';
import { createAccessService } from '../../src/domain/access/access.service.ts';
import { createAccessStore } from '../../src/domain/access/access.store.ts';
import { type Principal, systemPrincipal } from '../../src/domain/access/principal.ts';
import { createApiGrantService } from '../../src/domain/api-grants/api-grant.service.ts';
import { createApiGrantStore } from '../../src/domain/api-grants/api-grant.store.ts';
import { createApiResourceService } from '../../src/domain/api-resources/api-resource.service.ts';
import { createApiResourceStore } from '../../src/domain/api-resources/api-resource.store.ts';
import { createApiTokenService } from '../../src/domain/api-tokens/api-token.service.ts';
import { createApiTokenStore } from '../../src/domain/api-tokens/api-token.store.ts';
import { createApplicationService } from '../../src/domain/applications/application.service.ts';
import { createApplicationStore } from '../../src/domain/applications/application.store.ts';
import { createAuditService } from '../../src/domain/audit/audit.service.ts';
import { createAuditStore } from '../../src/domain/audit/audit.store.ts';
import { createOrganizationService } from '../../src/domain/organizations/organization.service.ts';
import { createOrganizationStore } from '../../src/domain/organizations/organization.store.ts';
import { createPermissionService } from '../../src/domain/permissions/permission.service.ts';
import { createPermissionStore } from '../../src/domain/permissions/permission.store.ts';
import { createRoleService } from '../../src/domain/roles/role.service.ts';
import { createRoleStore } from '../../src/domain/roles/role.store.ts';
import { createUserService } from '../../src/domain/users/user.service.ts';
import { createUserStore } from '../../src/domain/users/user.store.ts';
import { type Clock, systemClock } from '../../src/lib/clock.ts';
import { createLogger } from '../../src/lib/logger.ts';
import { createPasswordHasher } from '../../src/lib/passwords.ts';
import { createTestDatabase, type TestDatabase } from './test-database.ts';

/** argon2id at its cheapest: these tests are about rules, not hashing cost. */
export const CHEAP_PASSWORD_HASH = { memoryKiB: 64, iterations: 1, parallelism: 1 };

const silent = createLogger({ level: 'silent' });

export interface IdentityOptions {
  clock?: Clock;
  /** the digest key of API tokens (instances sharing a database share it) */
  digestKey?: ReturnType<typeof createSecretKey>;
  /** an existing bus to share (PGlite: one process, one bus); default a new one on `db` */
  bus?: ChangeBus;
  /** API_TOKEN_MAX_LIFETIME_SECONDS (default 0: none) */
  apiTokenMaxLifetimeSeconds?: number;
  isApplicationActive?: (applicationId: string) => Promise<boolean>;
}

/**
 * The identity domain wired as the composition root will wire it: stores, services and a change
 * bus listening on one open database. Several of these may share one database (PostgreSQL) to
 * play several server instances.
 */
export function wireIdentity(db: Database, options: IdentityOptions = {}) {
  const clock = options.clock ?? systemClock;
  const ownBus = !options.bus;
  const { bus, storage } = withLocalEcho(options.bus ?? createChangeBus(db, silent), createStorage(db.prisma), silent);
  const audit = createAuditService({ store: createAuditStore() });
  const access = createAccessService({ storage, store: createAccessStore(), bus });
  const passwords = createPasswordHasher(CHEAP_PASSWORD_HASH);
  const users = createUserService({ storage, store: createUserStore({ bus }), audit, access, passwords, clock, log: silent });
  const permissions = createPermissionService({ storage, store: createPermissionStore({ bus }), audit });
  const roles = createRoleService({ storage, store: createRoleStore({ bus }), audit, permissions, users });
  const organizations = createOrganizationService({ storage, store: createOrganizationStore({ bus }), audit, users, access });
  const digestKey = options.digestKey ?? createSecretKey(randomBytes(32));
  const apiTokens = createApiTokenService({
    storage,
    store: createApiTokenStore({ bus }),
    audit,
    bus,
    access,
    users,
    permissions,
    clock,
    digestKey,
    maxLifetimeSeconds: options.apiTokenMaxLifetimeSeconds ?? 0,
    // The applications service (issue 9 reshapes it) will answer from its cache; a read does here.
    isApplicationActive:
      options.isApplicationActive ??
      (async (id) => (await db.prisma.application.findUnique({ where: { id }, select: { isActive: true } }))?.isActive ?? false),
    log: silent,
  });
  // The API and application domains, for fixtures (as src/container.ts wires them).
  const grants = createApiGrantService({ store: createApiGrantStore() });
  const apis = createApiResourceService({
    storage,
    store: createApiResourceStore({ bus }),
    grants,
    audit,
    bus,
    defaults: { signingAlg: 'ES256', accessTokenTtlSeconds: 3600 },
  });
  const applications = createApplicationService({
    storage,
    store: createApplicationStore({ bus }),
    apis,
    grants,
    audit,
    bus,
    clock,
    digestKey,
    servedGrantTypes: ['client_credentials'],
  });
  return {
    db,
    bus,
    storage,
    clock,
    access,
    users,
    permissions,
    roles,
    organizations,
    apis,
    applications,
    apiTokens,
    digestKey,
    async close() {
      await apiTokens.close();
      access.close();
      if (ownBus) await bus.stop();
    },
  };
}

export type Identity = ReturnType<typeof wireIdentity>;

/** Opens a test database (a fresh clone, or `testDb`) the way the server does. */
export async function openTestDatabase(testDb: TestDatabase): Promise<Database> {
  const config =
    testDb.kind === 'pglite'
      ? { kind: 'pglite' as const, dataDir: testDb.dataDir }
      : { kind: 'postgres' as const, url: testDb.url as string, poolSize: 4 };
  return openDatabase(config, { log: silent, role: 'test' });
}

/** A fresh database with the identity domain wired and listening; `close()` drops it all. */
export async function openIdentity(options: IdentityOptions = {}) {
  const testDb = await createTestDatabase();
  const db = await openTestDatabase(testDb);
  const identity = wireIdentity(db, { digestKey: createSecretKey(randomBytes(32)), ...options });
  await identity.bus.start();
  return {
    ...identity,
    testDb,
    async close() {
      await identity.close();
      await db.close();
      await testDb.drop();
    },
  };
}

let counter = 0;
/** A name no other test of the file uses. */
export function unique(prefix = 'u'): string {
  return `${prefix}${Date.now().toString(36)}${(counter++).toString(36)}`;
}

/** The principal of a plain user holding exactly `permissions` (no database involved). */
export function userPrincipal(userId: string, permissions: string[] = []): Principal {
  return { userId, isSuperuser: false, permissions: new Set(permissions), actor: `user:${userId}` };
}

/** A user made through the service; with `permissions`, a role holding them is created and granted. */
export async function makeUser(
  identity: Identity,
  options: { permissions?: string[]; isSuperuser?: boolean; password?: string; username?: string } = {},
) {
  const user = await identity.users.create(systemPrincipal, {
    username: options.username ?? unique('user'),
    ...(options.password ? { password: options.password } : {}),
    ...(options.isSuperuser ? { isSuperuser: true } : {}),
  });
  if (options.permissions?.length) {
    await identity.permissions.ensure(systemPrincipal, options.permissions);
    const role = await identity.roles.create(systemPrincipal, { name: unique('role'), permissions: options.permissions });
    await identity.roles.assign(systemPrincipal, role.id, user.id);
  }
  return user;
}

/** The principal of a user as the access service computes it (fails if unknown or inactive). */
export async function principalOf(identity: Identity, userId: string): Promise<Principal> {
  const principal = await identity.access.principalFor(userId);
  if (!principal) throw new Error(`no principal for ${userId}`);
  return principal;
}

/** Registers an API through its service; returns its identifier and id. */
export async function makeApi(identity: Identity) {
  return identity.apis.register({ identifier: `https://${unique('api')}.example.test`, name: 'Test API', scopes: ['read'] }, 'test');
}

/** Registers a client-credentials application through its service. */
export async function makeApplication(identity: Identity) {
  const { application } = await identity.applications.register({ name: unique('app'), grantTypes: ['client_credentials'] }, 'test');
  return application;
}

/**
 * Waits until every notification published so far has come back to this instance: NOTIFYs from
 * one connection arrive in order, so a marker published now arrives after all of them. Tests that
 * count statements on a cache hit call it first, or a late echo of their setup drops the entry.
 */
export async function settle(identity: Identity): Promise<void> {
  const marker = defineChange('test-settle', (m) => (typeof m.id === 'string' ? { id: m.id } : null));
  const id = unique('settle');
  let seen = false;
  const stop = identity.bus.subscribe(marker, (data) => {
    if (data.id === id) seen = true;
  });
  try {
    await identity.db.prisma.$transaction((tx) => identity.bus.publish(tx, marker, { id }));
    const started = Date.now();
    while (!seen) {
      if (Date.now() - started > 10_000) throw new Error('change bus did not deliver the settle marker');
      await new Promise((r) => setTimeout(r, 5));
    }
  } finally {
    stop();
  }
}

/** A clock tests move by hand. */
export function manualClock(start = Date.now()) {
  let t = start;
  return {
    now: () => new Date(t),
    epoch: () => Math.floor(t / 1000),
    advance(seconds: number) {
      t += seconds * 1000;
    },
  };
}

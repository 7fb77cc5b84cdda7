import type { ChangeBus } from '../../db/change-bus.ts';
import type { Storage } from '../../db/storage.ts';
import { createBoundedCache } from '../../lib/bounded-cache.ts';
import { MembershipChanged, OrganizationChanged } from '../organizations/organization.changes.ts';
import { ApplicationPermissionsChanged, PermissionsChanged } from '../permissions/permission.changes.ts';
import { RoleChanged } from '../roles/role.changes.ts';
import { UserChanged } from '../users/user.changes.ts';
import type { AccessStore } from './access.store.ts';
import { narrow } from './narrow.ts';
import { type AccessDecision, check, holds, type Principal } from './principal.ts';

/** What a user may do, computed in one place (this service) and used by every check and token. */
export interface EffectivePermissions {
  userId: string;
  username: string;
  isSuperuser: boolean;
  isActive: boolean;
  /** when the user was last deactivated: sign-ins before it made nothing that still counts (null: never) */
  deactivatedAt: Date | null;
  /** names of the user's global roles */
  roles: string[];
  /**
   * codenames held: every existing codename for a superuser, the union of the roles' for anyone
   * else, and none at all for an inactive user (a deactivated account holds nothing)
   */
  permissions: ReadonlySet<string>;
  organizations: { id: string; name: string; role: 'admin' | 'member' }[];
}

interface CachedAccess extends EffectivePermissions {
  roleIds: string[];
  /** what the user's roles (or superuser flag) grant, whether the user is active or not */
  granted: ReadonlySet<string>;
}

export interface AccessServiceDeps {
  storage: Storage;
  store: AccessStore;
  bus: ChangeBus;
  /** most users whose permissions are held in memory (default 10,000) */
  cacheSize?: number;
  /** safety net: an entry is recomputed after this long whatever happened (default 5 minutes) */
  maxAgeMs?: number;
}

/**
 * Effective permissions of users and applications, cached in memory (bounded) and invalidated
 * through the change bus on every instance whenever a user, their roles, a role's permissions,
 * the set of permissions or their memberships change. A hit costs no query.
 *
 * Give it the bus and storage wrapped by `withLocalEcho` (db/local-echo.ts), as the writing
 * services get them: then a change this instance commits is applied here before the write
 * returns, not a notification round trip later (assign a role, then check it, on PostgreSQL).
 */
export function createAccessService({ storage, store, bus, cacheSize = 10_000, maxAgeMs = 5 * 60_000 }: AccessServiceDeps) {
  const users = createBoundedCache<string, CachedAccess | null>({ max: cacheSize, maxAgeMs });
  const allCodenames = createBoundedCache<'all', string[]>({ max: 1, maxAgeMs });
  const apiCodenames = createBoundedCache<string, ReadonlySet<string>>({ max: 1000, maxAgeMs });
  const applicationCodenames = createBoundedCache<string, string[]>({ max: cacheSize, maxAgeMs });

  function clearAll(): void {
    users.clear();
    allCodenames.clear();
    apiCodenames.clear();
    applicationCodenames.clear();
  }

  const unsubscribe = [
    bus.subscribe(UserChanged, ({ userId }) => users.invalidate(userId)),
    bus.subscribe(RoleChanged, ({ roleId, userId }) =>
      userId ? users.invalidate(userId) : users.invalidateWhere((entry) => entry?.roleIds.includes(roleId) ?? false),
    ),
    bus.subscribe(PermissionsChanged, clearAll),
    bus.subscribe(ApplicationPermissionsChanged, ({ applicationId }) => applicationCodenames.invalidate(applicationId)),
    bus.subscribe(OrganizationChanged, ({ organizationId }) =>
      users.invalidateWhere((entry) => entry?.organizations.some((o) => o.id === organizationId) ?? false),
    ),
    bus.subscribe(MembershipChanged, ({ userId }) => users.invalidate(userId)),
    bus.onReset(clearAll),
  ];

  async function load(userId: string): Promise<CachedAccess | null> {
    const row = await store.findAccess(storage.db, userId);
    if (!row) return null;
    const granted = row.isSuperuser
      ? new Set(await allCodenames.getOrLoad('all', () => store.findAllCodenames(storage.db)))
      : new Set(row.roles.flatMap((r) => r.codenames));
    return {
      userId: row.userId,
      username: row.username,
      isSuperuser: row.isSuperuser,
      isActive: row.isActive,
      deactivatedAt: row.deactivatedAt,
      roles: row.roles.map((r) => r.name).sort(),
      roleIds: row.roles.map((r) => r.id),
      granted,
      permissions: row.isActive ? granted : new Set(),
      organizations: row.organizations.sort((a, b) => a.name.localeCompare(b.name)),
    };
  }

  async function effectivePermissions(userId: string): Promise<EffectivePermissions | null> {
    const access = await users.getOrLoad(userId, () => load(userId));
    if (!access) return null;
    const { roleIds: _roleIds, granted: _granted, ...effective } = access;
    return effective;
  }

  async function codenamesOfApi(apiIdentifier: string): Promise<ReadonlySet<string>> {
    return apiCodenames.getOrLoad(apiIdentifier, async () => new Set(await store.findApiCodenames(storage.db, apiIdentifier)));
  }

  return {
    /**
     * What a user may do: identity, roles, organisations and codenames. Null for an unknown user.
     * @remarks An inactive user comes back with `isActive: false` and no permissions; callers that
     * authenticate (sessions, Basic, tokens) must still refuse them.
     */
    effectivePermissions,

    /**
     * What the user would hold if active (their roles' codenames, or every codename for a
     * superuser), for decisions about acting on them: reactivating or taking over a deactivated
     * administrator must take as much as acting on an active one. Null for an unknown user.
     */
    async grantedPermissions(userId: string): Promise<{ isSuperuser: boolean; permissions: ReadonlySet<string> } | null> {
      const access = await users.getOrLoad(userId, () => load(userId));
      return access && { isSuperuser: access.isSuperuser, permissions: access.granted };
    },

    /**
     * Whether what a sign-in of this user made still counts: the user is active and the session,
     * token or code was made (`issuedAtSeconds`: its `iat`, a session's login time) after they were
     * last deactivated. Deactivating is a cut-off, so activating someone again does not bring back
     * the sessions and tokens of before. Cached: no query.
     */
    async isSignInCurrent(userId: string, issuedAtSeconds: number | undefined): Promise<boolean> {
      const access = await effectivePermissions(userId);
      if (!access?.isActive) return false;
      if (!access.deactivatedAt) return true;
      // Made at an unknown time, by someone deactivated before: not known to be after the cut-off.
      if (issuedAtSeconds === undefined) return false;
      // Seconds against milliseconds: one made in the second of the deactivation counts as before it.
      return issuedAtSeconds * 1000 >= access.deactivatedAt.getTime();
    },

    /**
     * The principal of a signed-in user (browser session, HTTP Basic, a Gatehouse access token),
     * or null when the user is unknown or inactive.
     * @param actor how audit records name them (default `user:<id>`)
     */
    async principalFor(userId: string, actor = `user:${userId}`): Promise<Principal | null> {
      const access = await effectivePermissions(userId);
      if (!access?.isActive) return null;
      return { userId, isSuperuser: access.isSuperuser, permissions: access.permissions, actor };
    },

    /**
     * The codenames of the API `apiIdentifier` that the user holds: the `permissions` claim of an
     * access token issued to them for that API. Empty for an unknown or inactive user.
     */
    async permissionsForApi(userId: string, apiIdentifier: string): Promise<string[]> {
      const [access, ofApi] = await Promise.all([effectivePermissions(userId), codenamesOfApi(apiIdentifier)]);
      if (!access) return [];
      return [...ofApi].filter((c) => access.permissions.has(c)).sort();
    },

    /** The codenames granted to an application itself (by `applications.id`), sorted. */
    async applicationPermissions(applicationId: string): Promise<string[]> {
      return applicationCodenames.getOrLoad(applicationId, async () =>
        (await store.findApplicationCodenames(storage.db, applicationId)).sort(),
      );
    },

    /**
     * The codenames of the API `apiIdentifier` granted to an application itself: the `permissions`
     * claim of its client-credentials tokens for that API.
     */
    async applicationPermissionsForApi(applicationId: string, apiIdentifier: string): Promise<string[]> {
      const [granted, ofApi] = await Promise.all([
        applicationCodenames.getOrLoad(applicationId, async () => (await store.findApplicationCodenames(storage.db, applicationId)).sort()),
        codenamesOfApi(apiIdentifier),
      ]);
      return granted.filter((c) => ofApi.has(c));
    },

    /** Which of `codenames` the principal holds (access-check, AuthZEN evaluation). */
    check,

    /**
     * Which of `codenames` the principal holds as codenames of the API `apiIdentifier`: a codename
     * that does not belong to that API is denied, even to a superuser (the question is about that
     * API's permissions). Without an API, `check`. Costs no query once the API's codenames are cached.
     */
    async checkForApi(principal: Principal, codenames: readonly string[], apiIdentifier?: string): Promise<AccessDecision> {
      if (apiIdentifier === undefined) return check(principal, codenames);
      const ofApi = await codenamesOfApi(apiIdentifier);
      const granted: string[] = [];
      const denied: string[] = [];
      for (const codename of new Set(codenames)) (ofApi.has(codename) && holds(principal, codename) ? granted : denied).push(codename);
      return { granted, denied };
    },

    /**
     * The principal of an application acting for itself (a client-credentials access token): the
     * codenames granted to the application, no user, never a superuser. Audit records name it
     * `application:<client_id>`.
     */
    async principalForApplication(application: { id: string; clientId: string }): Promise<Principal> {
      const granted = await applicationCodenames.getOrLoad(application.id, async () =>
        (await store.findApplicationCodenames(storage.db, application.id)).sort(),
      );
      return { userId: null, isSuperuser: false, permissions: new Set(granted), actor: `application:${application.clientId}` };
    },

    /** An API token's permissions: its user's, narrowed by scope and explicit codenames. */
    narrow,

    /** Stops listening to changes (tests, shutdown). */
    close(): void {
      for (const stop of unsubscribe) stop();
    },
  };
}

export type AccessService = ReturnType<typeof createAccessService>;

import type { KeyObject } from 'node:crypto';
import type { Logger } from 'pino';
import type { ChangeBus } from '../../db/change-bus.ts';
import { NotFoundError, type Storage } from '../../db/storage.ts';
import { assertThat } from '../../lib/assert-that.ts';
import { createBoundedCache } from '../../lib/bounded-cache.ts';
import type { Clock } from '../../lib/clock.ts';
import { newId } from '../../lib/ids.ts';
import type { Page } from '../../lib/pagination.ts';
import { digestSecret } from '../../lib/secrets.ts';
import type { AccessService, EffectivePermissions } from '../access/access.service.ts';
import { isUnnarrowed, narrow } from '../access/narrow.ts';
import { canActOnUser, missingPermissions, type Principal, systemPrincipal } from '../access/principal.ts';
import type { AuditService } from '../audit/audit.service.ts';
import type { PermissionService } from '../permissions/permission.service.ts';
import { UserChanged } from '../users/user.changes.ts';
import type { UserService } from '../users/user.service.ts';
import { ApiTokenChanged } from './api-token.changes.ts';
import { apiTokenError } from './api-token.errors.ts';
import type { ApiToken, CreateApiToken, ListApiTokens } from './api-token.schema.ts';
import type { ApiTokenPatch, ApiTokenRecord, ApiTokenStore, UsageRecord } from './api-token.store.ts';
import { AuthTokensError, MAX_SECRET_LENGTH, parseAuthTokens } from './auth-tokens.ts';
import { displayPrefix, generateApiToken, isWellFormedApiToken, MASKED_SECRET } from './token-format.ts';

export interface ApiTokenServiceDeps {
  storage: Storage;
  store: ApiTokenStore;
  audit: AuditService;
  bus: ChangeBus;
  access: AccessService;
  users: UserService;
  permissions: PermissionService;
  clock: Clock;
  /** the keyed-digest key of API token secrets (DerivedKeys.apiTokenKey, from the master key) */
  digestKey: KeyObject;
  /** API_TOKEN_MAX_LIFETIME_SECONDS; 0: no maximum */
  maxLifetimeSeconds: number;
  /**
   * Whether the application `applications.id` exists and is active: the applications service's
   * cached lookup (it must cost no query on a hit). A token bound to an application ends with it
   * (DESIGN.md §5); the database deletes such tokens with their application, but this instance's
   * cache learns it only through this.
   */
  isApplicationActive: (applicationId: string) => Promise<boolean>;
  /** most tokens (and unknown secrets) held in memory; default 100,000 */
  cacheSize?: number;
  /** how often recorded usage is written; 0 (default): only when `flushUsage` is called */
  usageFlushIntervalMs?: number;
  log?: Logger;
}

/** A token presented as a credential and accepted. */
export interface TokenAuthentication {
  token: ApiToken;
  /** its user, as effective permissions has them, without their un-narrowed permissions */
  user: Omit<EffectivePermissions, 'permissions'>;
  /** what the token may do: the user's permissions narrowed by scope and codenames */
  permissions: ReadonlySet<string>;
  /** the principal to act with (`actor` is `token:<id>`) */
  principal: Principal;
}

/** RFC 7662 fields of an active API token (introspection answers `{ active: false }` otherwise). */
export interface ApiTokenIntrospection {
  active: true;
  token_type: 'api_token';
  sub: string;
  username: string;
  scope: string;
  permissions: string[];
  exp?: number;
  iat: number;
}

/** What applying AUTH_TOKENS did (ids and usernames only: never a secret). */
export interface DeclaredTokensResult {
  created: number;
  updated: number;
  removed: number;
  usersCreated: string[];
  permissionsCreated: string[];
  /** short secrets and the like, naming their line */
  warnings: string[];
}

function toView(record: ApiTokenRecord): ApiToken {
  return {
    id: record.id,
    userId: record.userId,
    applicationId: record.applicationId,
    name: record.name,
    token: MASKED_SECRET,
    prefix: record.prefix,
    scope: record.scope,
    permissions: record.permissions,
    isDeclared: record.isDeclared,
    expiresAt: record.expiresAt,
    lastUsedAt: record.lastUsedAt,
    lastUsedIp: record.lastUsedIp,
    revokedAt: record.revokedAt,
    createdAt: record.createdAt,
  };
}

const sameList = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((v, i) => v === b[i]);

/**
 * Opaque API tokens (`Authorization: Token <secret>`): bound to a user, acting with that user's
 * effective permissions narrowed by scope and explicit codenames; or declared by AUTH_TOKENS
 * with exactly the codenames their line lists.
 *
 * Only a keyed digest of a secret is stored; the secret exists once, in the create response.
 * `authenticate` costs no query on a hit (tokens, unknown secrets and the user's permissions are
 * cached and invalidated through the change bus) and no write: last use is batched.
 */
export function createApiTokenService(deps: ApiTokenServiceDeps) {
  const { storage, store, audit, bus, access, users, permissions, clock, digestKey, maxLifetimeSeconds, isApplicationActive, log } = deps;
  const now = () => clock.now().getTime();
  const tokens = createBoundedCache<string, ApiTokenRecord | null>({
    max: deps.cacheSize ?? 100_000,
    maxAgeMs: 10 * 60_000,
    expiresAt: (record) => record?.expiresAt?.getTime(),
    now,
  });
  // Operator-chosen secrets have no checksum to screen them: the few declared digests are held
  // instead, so a random string costs a digest and a set lookup, never a query.
  const declaredDigests = createBoundedCache<'all', ReadonlySet<string>>({ max: 1, maxAgeMs: 10 * 60_000, now });
  let usage = new Map<string, UsageRecord>();

  const unsubscribe = [
    bus.subscribe(ApiTokenChanged, ({ digest, declared }) => {
      tokens.invalidate(digest);
      if (declared) declaredDigests.clear();
    }),
    bus.subscribe(UserChanged, ({ userId }) => tokens.invalidateWhere((record) => record?.userId === userId)),
    bus.onReset(() => {
      tokens.clear();
      declaredDigests.clear();
    }),
  ];
  const timer =
    deps.usageFlushIntervalMs && deps.usageFlushIntervalMs > 0
      ? setInterval(() => void flushUsage().catch(() => {}), deps.usageFlushIntervalMs).unref()
      : undefined;

  const digest = (secret: string) => digestSecret(digestKey, secret);

  // One load at a time: a burst of operator-style secrets at start-up waits for the same read.
  let loadingDeclared: Promise<ReadonlySet<string>> | undefined;
  function loadDeclaredDigests(): Promise<ReadonlySet<string>> {
    loadingDeclared ??= declaredDigests
      .getOrLoad('all', async () => new Set(await store.findDeclaredDigests(storage.db)))
      .finally(() => {
        loadingDeclared = undefined;
      });
    return loadingDeclared;
  }

  async function record(id: string): Promise<ApiTokenRecord> {
    const found = await store.findById(storage.db, id);
    assertThat(found, apiTokenError('not_found', { id }));
    return found;
  }

  /**
   * The token `id` if `principal` may manage it: its own user, a superuser, or someone who may act
   * on its user (principal.ts). Anyone else is told it does not exist (404, not 403).
   */
  async function managed(principal: Principal, id: string): Promise<ApiTokenRecord> {
    const found = await record(id);
    if (principal.isSuperuser || principal.userId === found.userId) return found;
    const held = await access.grantedPermissions(found.userId);
    assertThat(held && canActOnUser(principal, held), apiTokenError('not_found', { id }));
    return found;
  }

  function permissionsOf(token: ApiTokenRecord, user: EffectivePermissions): ReadonlySet<string> {
    // A declared token holds what its line lists, granted by the operator, whatever the user's roles.
    if (token.isDeclared) return new Set(token.permissions);
    return narrow(user.permissions, { scope: token.scope, codenames: token.permissions });
  }

  async function flushUsage(): Promise<void> {
    if (usage.size === 0) return;
    const batch = usage;
    usage = new Map();
    try {
      await store.recordUsage(storage.db, [...batch.values()]);
    } catch (err) {
      // Keep what was not written (unless a newer use replaced it) for the next flush.
      for (const [id, entry] of batch) if (!usage.has(id)) usage.set(id, entry);
      log?.warn({ err, tokens: batch.size }, 'recording API token usage failed; will retry');
      throw err;
    }
  }

  async function authenticate(secret: string, context: { ip?: string | null } = {}): Promise<TokenAuthentication | null> {
    if (typeof secret !== 'string' || secret.length === 0 || secret.length > MAX_SECRET_LENGTH) return null;
    const key = digest(secret);
    if (!isWellFormedApiToken(secret)) {
      const declared = declaredDigests.peek('all') ?? (await loadDeclaredDigests());
      if (!declared.has(key)) return null;
    }
    const token = await tokens.getOrLoad(key, () => store.findByDigest(storage.db, key));
    if (!token || token.revokedAt) return null;
    const at = clock.now();
    if (token.expiresAt && token.expiresAt.getTime() <= at.getTime()) return null;
    if (token.applicationId && !(await isApplicationActive(token.applicationId))) return null;
    const user = await access.effectivePermissions(token.userId);
    if (!user?.isActive) return null;
    const held = permissionsOf(token, user);
    usage.set(token.id, { id: token.id, at, ip: context.ip ?? null });
    const { permissions: _all, ...identity } = user;
    return {
      token: toView(token),
      user: identity,
      permissions: held,
      principal: {
        userId: user.userId,
        isSuperuser: user.isSuperuser && !token.isDeclared && isUnnarrowed({ scope: token.scope, codenames: token.permissions }),
        permissions: held,
        actor: `token:${token.id}`,
        ...(isUnnarrowed({ scope: token.scope, codenames: token.permissions }) && !token.isDeclared
          ? {}
          : {
              credential: {
                readOnly: token.scope === 'read',
                // a declared token holds exactly its listed codenames, an empty list included
                codenames: token.isDeclared || token.permissions.length > 0 ? new Set(token.permissions) : null,
              },
            }),
      },
    };
  }

  return {
    /**
     * Mints a token for a user. Returns the secret, the only time it exists outside the client.
     * @remarks The principal must be the user or someone who may act on them (principal.ts), and
     * must hold everything the token will hold: a narrowed credential cannot mint a broader one,
     * and only a superuser mints an unnarrowed token of a superuser.
     */
    async create(principal: Principal, input: CreateApiToken): Promise<{ token: ApiToken; secret: string }> {
      const user = await users.get(input.userId);
      const effective = await access.effectivePermissions(user.id);
      assertThat(effective?.isActive, apiTokenError('user_inactive'));
      const scope = input.scope ?? 'write';
      const codenames = [...new Set(input.permissions ?? [])].sort();
      const notHeld = codenames.filter((c) => !effective.permissions.has(c));
      assertThat(notHeld.length === 0, apiTokenError('permissions_not_held', { codenames: notHeld }));
      if (principal.userId !== user.id) {
        const granted = await access.grantedPermissions(user.id);
        assertThat(granted && canActOnUser(principal, granted), apiTokenError('escalation'));
      }
      const holds = narrow(effective.permissions, { scope, codenames });
      assertThat(missingPermissions(principal, holds).length === 0, apiTokenError('escalation'));
      assertThat(!effective.isSuperuser || !isUnnarrowed({ scope, codenames }) || principal.isSuperuser, apiTokenError('escalation'));
      if (input.applicationId) {
        assertThat(await store.applicationExists(storage.db, input.applicationId), apiTokenError('unknown_application'));
      }
      let lifetime = input.expiresInSeconds;
      if (maxLifetimeSeconds > 0) {
        assertThat(
          lifetime === undefined || lifetime <= maxLifetimeSeconds,
          apiTokenError('lifetime_too_long', { maxSeconds: maxLifetimeSeconds }),
        );
        lifetime ??= maxLifetimeSeconds;
      }
      const secret = generateApiToken();
      const created = await storage.transaction(async (tx) => {
        const row = await store.insert(tx, {
          id: newId('tok'),
          userId: user.id,
          applicationId: input.applicationId ?? null,
          name: input.name ?? '',
          digest: digest(secret),
          prefix: displayPrefix(secret),
          scope,
          permissions: codenames,
          isDeclared: false,
          expiresAt: lifetime === undefined ? null : new Date(clock.now().getTime() + lifetime * 1000),
        });
        await audit.record(tx, {
          actor: principal.actor,
          action: 'api_token.created',
          targetType: 'api_token',
          targetId: row.id,
          details: {
            userId: user.id,
            username: user.username,
            scope,
            permissions: codenames,
            applicationId: row.applicationId,
            expiresAt: row.expiresAt,
          },
        });
        return row;
      });
      return { token: toView(created), secret };
    },

    /**
     * Checks a presented secret (`Authorization: Token <secret>`). Returns the token, its user and
     * what it may do, or null (unknown, revoked, expired, user inactive or deleted, application
     * inactive). Costs no query on a cache hit, known or unknown secret alike, and no write: the
     * last use (time, `context.ip`) is kept in memory until `flushUsage`.
     */
    authenticate,

    /**
     * The RFC 7662 introspection answer for an API token, or null when it is not an active one
     * (the caller answers `{ active: false }`). Counts as a use of the token.
     */
    async introspect(secret: string): Promise<ApiTokenIntrospection | null> {
      const found = await authenticate(secret);
      if (!found) return null;
      return {
        active: true,
        token_type: 'api_token',
        sub: found.user.userId,
        username: found.user.username,
        scope: found.token.scope,
        permissions: [...found.permissions].sort(),
        ...(found.token.expiresAt ? { exp: Math.floor(found.token.expiresAt.getTime() / 1000) } : {}),
        iat: Math.floor(found.token.createdAt.getTime() / 1000),
      };
    },

    /** The token with this id (masked); `api_token.not_found` otherwise. Visibility is the caller's. */
    async get(id: string): Promise<ApiToken> {
      return toView(await record(id));
    },

    /**
     * Every token (of one user and/or application when the filter says so), newest first, active
     * ones only unless `includeInactive`. Visibility is the caller's.
     */
    async list(filter: { userId?: string | undefined; applicationId?: string | undefined }, query: ListApiTokens): Promise<Page<ApiToken>> {
      const { items, count } = await store.findMany(
        storage.db,
        { ...(filter.userId ? { userId: filter.userId } : {}), ...(filter.applicationId ? { applicationId: filter.applicationId } : {}) },
        query,
        clock.now(),
      );
      return { items: items.map(toView), count, page: query.page, pageSize: query.pageSize };
    },

    /** A user's tokens, newest first (active ones only unless `includeInactive`). */
    async listForUser(userId: string, query: ListApiTokens): Promise<Page<ApiToken>> {
      const { items, count } = await store.findMany(storage.db, { userId }, query, clock.now());
      return { items: items.map(toView), count, page: query.page, pageSize: query.pageSize };
    },

    /** The tokens bound to an application, newest first. */
    async listForApplication(applicationId: string, query: ListApiTokens): Promise<Page<ApiToken>> {
      const { items, count } = await store.findMany(storage.db, { applicationId }, query, clock.now());
      return { items: items.map(toView), count, page: query.page, pageSize: query.pageSize };
    },

    /**
     * Revokes a token presented at the revocation endpoint (RFC 7009) by the client it is bound to:
     * the endpoint authenticated the client and the policy allowed it; `actor` names the client.
     */
    async revokeAs(id: string, actor: string): Promise<void> {
      const found = await record(id);
      if (found.revokedAt) return;
      await storage.transaction(async (tx) => {
        const row = await store.update(tx, id, { revokedAt: clock.now() });
        await audit.record(tx, {
          actor,
          action: 'api_token.revoked',
          targetType: 'api_token',
          targetId: id,
          details: { userId: row.userId },
        });
      });
    },

    /**
     * Revokes a token: it stops working at once on every instance. Idempotent. A revoked declared
     * token stays revoked across restarts (its line needs a new secret).
     */
    async revoke(principal: Principal, id: string): Promise<ApiToken> {
      const found = await managed(principal, id);
      if (found.revokedAt) return toView(found);
      const revoked = await storage.transaction(async (tx) => {
        const row = await store.update(tx, id, { revokedAt: clock.now() });
        await audit.record(tx, {
          actor: principal.actor,
          action: 'api_token.revoked',
          targetType: 'api_token',
          targetId: id,
          details: { userId: row.userId },
        });
        return row;
      });
      return toView(revoked);
    },

    /** Deletes a token. Declared tokens are removed from AUTH_TOKENS instead (`api_token.declared`). */
    async delete(principal: Principal, id: string): Promise<void> {
      const found = await managed(principal, id);
      assertThat(!found.isDeclared, apiTokenError('declared'));
      try {
        await storage.transaction(async (tx) => {
          await store.delete(tx, id);
          await audit.record(tx, {
            actor: principal.actor,
            action: 'api_token.deleted',
            targetType: 'api_token',
            targetId: id,
            details: { userId: found.userId },
          });
        });
      } catch (err) {
        throw err instanceof NotFoundError ? apiTokenError('not_found', { id }) : err;
      }
    },

    /**
     * Applies the AUTH_TOKENS declaration (the raw variable; undefined: none). Idempotent: each
     * entry's user (without a password) and codenames are created if missing, and its token holds
     * exactly the listed codenames; tokens of entries no longer listed are deleted. Nothing is
     * written when nothing changed.
     * @throws AuthTokensError naming the line of each malformed entry, of a secret reused across
     * entries, and of a secret already used by a token not declared here; nothing is applied then
     */
    async applyDeclaredTokens(declaration: string | undefined): Promise<DeclaredTokensResult> {
      const { tokens: entries, warnings } = parseAuthTokens(declaration);
      const digests = entries.map((e) => digest(e.secret));
      const conflicts = (existing: ApiTokenRecord[]) => {
        const taken = new Set(existing.filter((t) => !t.isDeclared).map((t) => t.digest));
        return entries
          .filter((_, i) => taken.has(digests[i] as string))
          .map((e) => `line ${e.line}: the secret is already used by an API token not declared in AUTH_TOKENS`);
      };
      const early = conflicts(await store.findByDigests(storage.db, digests));
      if (early.length) throw new AuthTokensError(early);

      const usersCreated: string[] = [];
      const userIds = new Map<string, string>();
      for (const username of new Set(entries.map((e) => e.username))) {
        let user = await users.findByUsername(username);
        if (!user) {
          user = await users.create(systemPrincipal, { username }).catch(async (err: unknown) => {
            // another instance applying the same declaration created it first
            const again = await users.findByUsername(username);
            if (again) return again;
            throw err;
          });
          usersCreated.push(username);
        }
        userIds.set(username, user.id);
      }
      const { created: permissionsCreated } = await permissions.ensure(systemPrincipal, [
        ...new Set(entries.flatMap((e) => e.permissions)),
      ]);

      const counts = await storage.transaction(async (tx) => {
        await store.lockDeclarations(tx);
        const existing = await store.findByDigests(tx, digests);
        const late = conflicts(existing);
        if (late.length) throw new AuthTokensError(late);
        const byDigest = new Map(existing.map((t) => [t.digest, t]));
        let created = 0;
        let updated = 0;
        for (const [i, entry] of entries.entries()) {
          const key = digests[i] as string;
          const userId = userIds.get(entry.username) as string;
          const current = byDigest.get(key);
          if (!current) {
            const row = await store.insert(tx, {
              id: newId('tok'),
              userId,
              applicationId: null,
              name: 'AUTH_TOKENS',
              digest: key,
              prefix: displayPrefix(entry.secret),
              scope: 'write',
              permissions: entry.permissions,
              isDeclared: true,
              expiresAt: null,
            });
            await audit.record(tx, {
              actor: 'system',
              action: 'api_token.declared',
              targetType: 'api_token',
              targetId: row.id,
              details: { line: entry.line, username: entry.username, permissions: entry.permissions },
            });
            created++;
            continue;
          }
          const patch: ApiTokenPatch = {};
          if (current.userId !== userId) patch.userId = userId;
          if (!sameList(current.permissions, entry.permissions)) patch.permissions = entry.permissions;
          if (current.scope !== 'write') patch.scope = 'write';
          if (current.expiresAt) patch.expiresAt = null;
          if (current.applicationId) patch.applicationId = null;
          if (Object.keys(patch).length === 0) continue;
          await store.update(tx, current.id, patch);
          await audit.record(tx, {
            actor: 'system',
            action: 'api_token.redeclared',
            targetType: 'api_token',
            targetId: current.id,
            details: { line: entry.line, username: entry.username, permissions: entry.permissions },
          });
          updated++;
        }
        const removed = await store.deleteDeclaredExcept(tx, digests);
        for (const gone of removed) {
          await audit.record(tx, {
            actor: 'system',
            action: 'api_token.undeclared',
            targetType: 'api_token',
            targetId: gone.id,
            details: { userId: gone.userId },
          });
        }
        return { created, updated, removed: removed.length };
      });
      return { ...counts, usersCreated, permissionsCreated, warnings };
    },

    /** Writes the last use of every token used since the previous flush, in one statement. */
    flushUsage,

    /** Stops the usage timer and listeners, and writes the pending usage (shutdown). */
    async close(): Promise<void> {
      if (timer) clearInterval(timer);
      for (const stop of unsubscribe) stop();
      await flushUsage().catch(() => {});
    },
  };
}

export type ApiTokenService = ReturnType<typeof createApiTokenService>;

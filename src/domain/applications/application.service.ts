import type { KeyObject } from 'node:crypto';
import type { ChangeBus } from '../../db/change-bus.ts';
import { ConflictError, type Executor, type Storage } from '../../db/storage.ts';
import { assertThat } from '../../lib/assert-that.ts';
import { createBoundedCache } from '../../lib/bounded-cache.ts';
import type { Clock } from '../../lib/clock.ts';
import { newClientId, newId, newSecret } from '../../lib/ids.ts';
import type { Page, PageQuery } from '../../lib/pagination.ts';
import { digestSecret, equalDigests } from '../../lib/secrets.ts';
import { holds, mayActOnOwn, type Principal } from '../access/principal.ts';
import type { ApiGrantService, GrantRow } from '../api-grants/api-grant.service.ts';
import { apiChanged } from '../api-resources/api-resource.changes.ts';
import type { ApiResourceService } from '../api-resources/api-resource.service.ts';
import { ApiTokenChanged } from '../api-tokens/api-token.changes.ts';
import type { AuditService } from '../audit/audit.service.ts';
import { MembershipChanged, OrganizationChanged } from '../organizations/organization.changes.ts';
import { UserChanged } from '../users/user.changes.ts';
import { createApplicationCache } from './application.cache.ts';
import { applicationChanged } from './application.changes.ts';
import { applicationError } from './application.errors.ts';
import {
  type ApiGrant,
  type Application,
  type ApplicationFilter,
  type ApplicationOrder,
  type ApplicationReach,
  type ApplicationSummary,
  type ClientRecord,
  CreateApplication,
  DEVICE_CODE_GRANT,
  type GrantedApi,
  type GrantType,
  UpdateApplication,
} from './application.schema.ts';
import type { ApplicationStore } from './application.store.ts';

/** Generated client secrets start with this, so secret scanners can recognise a leaked one. */
export const CLIENT_SECRET_PREFIX = 'ghcs_';
const HINT_LENGTH = CLIENT_SECRET_PREFIX.length + 4;

export interface ApplicationServiceDeps {
  storage: Storage;
  store: ApplicationStore;
  apis: Pick<ApiResourceService, 'findByIdentifier'>;
  grants: ApiGrantService;
  audit: AuditService;
  bus: ChangeBus;
  clock: Clock;
  digestKey: KeyObject;
  /** grant types the token endpoint serves (oidc/surface.ts): a client registered for another could not use it */
  servedGrantTypes: readonly GrantType[];
  /**
   * What the ownership rules need to know of users and organisations, from their services (wired
   * in src/container.ts; they are built after this one). Absent: only superusers reach anything.
   */
  directory?: ApplicationDirectory;
}

/** Users and organisations as the applications domain asks about them. */
export interface ApplicationDirectory {
  userExists(userId: string): Promise<boolean>;
  organizationExists(organizationId: string): Promise<boolean>;
  /** the organisations `userId` is an admin of */
  adminOrganizationsOf(userId: string): Promise<string[]>;
  isMember(organizationId: string, userId: string): Promise<boolean>;
}

/** An application with what its listing shows beside it. */
export interface ApplicationView extends Application {
  summary: ApplicationSummary;
}

const EMPTY_SUMMARY: ApplicationSummary = { owner: null, tokenCount: 0, tokens: [] };

/** What creating or rotating returns: the only moment the plain secret exists outside the client. */
export interface ApplicationWithSecret {
  application: Application;
  clientSecret: string | null;
}

function withoutDigest(record: ClientRecord): Application {
  const { clientSecretDigest: _omit, ...application } = record;
  return application;
}

/**
 * The API grants an update asks for, or undefined when it leaves them alone. A replaced list keeps,
 * for an API the application already had, the scopes and introspect right the input leaves out:
 * listing the APIs again must neither widen a client's scopes (a new grant gets all of the API's)
 * nor take a resource server's right away. `introspect`, when given, then applies to every grant.
 */
function updatedGrants(current: GrantedApi[], data: UpdateApplication): ApiGrant[] | undefined {
  let grants: ApiGrant[] | undefined = data.apis?.map((grant) => {
    const before = current.find((api) => api.identifier === grant.identifier);
    return { identifier: grant.identifier, scopes: grant.scopes ?? before?.scopes, introspect: grant.introspect ?? before?.introspect };
  });
  if (data.introspect !== undefined) {
    grants = (grants ?? current).map(({ identifier, scopes }) => ({ identifier, scopes, introspect: data.introspect }));
  }
  return grants;
}

/** OAuth clients ("applications"): registration, secrets, and the lookups client authentication needs. */
export function createApplicationService({
  storage,
  store,
  apis,
  grants: apiGrants,
  audit,
  bus,
  clock,
  digestKey,
  servedGrantTypes,
  directory,
}: ApplicationServiceDeps) {
  const cache = createApplicationCache({
    load: (clientId) => store.findByClientId(storage.db, clientId),
    loadIds: () => store.findAllClientIds(storage.db),
  });
  bus.subscribe(applicationChanged, ({ clientId }) => cache.invalidate(clientId));
  // A removed API takes its grants along: every record may have changed.
  bus.subscribe(apiChanged, () => cache.invalidate());
  bus.onReset(() => cache.reset());
  // Pages of the admin list as they were read (the page, its owners, grants and tokens). An admin
  // console asks for the same few pages again and again; each costs two statements and tens of
  // milliseconds on PGlite, so at 16 requests at once they queue (issue 10's p99 bar). Any change
  // a page shows — an application, its grants (announced as the application's), an API, a token,
  // a user (owner names), an organisation or membership (who reaches what) — drops them all, on
  // every instance; the reach of the caller is part of the key and computed on every request.
  const listPages = createBoundedCache<string, Page<ApplicationView>>({ max: 200, maxAgeMs: 30_000 });
  const dropPages = () => listPages.clear();
  bus.subscribe(applicationChanged, dropPages);
  bus.subscribe(apiChanged, dropPages);
  bus.subscribe(ApiTokenChanged, dropPages);
  bus.subscribe(UserChanged, dropPages);
  bus.subscribe(OrganizationChanged, dropPages);
  bus.subscribe(MembershipChanged, dropPages);
  bus.onReset(() => listPages.clear());
  const clientIdById = createBoundedCache<string, string | null>({ max: 10_000 });
  // An id never changes its client_id: the step is kept; deletion shows in the record lookup.
  const clientIdOf = (id: string): Promise<string | null> =>
    clientIdById.getOrLoad(id, async () => (await store.findById(storage.db, id))?.clientId ?? null);

  /** Reads the record back after a write, inside the write's transaction. */
  async function reread(tx: Executor, clientId: string): Promise<ClientRecord> {
    const record = await store.findByClientId(tx, clientId);
    assertThat(record, () => applicationError('not_found', { clientId }));
    return record;
  }

  /**
   * The keyed digest of the presented secret (≈2 µs), compared in constant time. No plain secret is
   * kept in memory to skip it.
   */
  function secretMatches(digest: string, presented: string): boolean {
    if (typeof presented !== 'string' || presented === '') return false;
    return equalDigests(digestSecret(digestKey, presented), digest);
  }

  // An unknown client_id costs the same digest and comparison as a known one with a wrong secret,
  // so the time of an answer does not tell which ids exist. The digest of a random secret nobody
  // holds, in the shape of a real one.
  const dummyDigest = digestSecret(digestKey, newSecret(CLIENT_SECRET_PREFIX));
  const dummySecret = newSecret(CLIENT_SECRET_PREFIX);

  async function resolveGrants(tx: Executor, requested: ApiGrant[]): Promise<GrantRow[]> {
    const identifiers = requested.map((a) => a.identifier);
    assertThat(new Set(identifiers).size === identifiers.length, () => applicationError('duplicate_api'));
    const rows: GrantRow[] = [];
    for (const grant of requested) {
      const api = await apis.findByIdentifier(grant.identifier, tx);
      assertThat(api, () => applicationError('unknown_api', { identifier: grant.identifier }));
      const scopes = grant.scopes ? [...new Set(grant.scopes)] : api.scopes;
      const unknown = scopes.find((s) => !api.scopes.includes(s));
      assertThat(unknown === undefined, () =>
        applicationError(
          'unknown_scope',
          { identifier: api.identifier, scope: unknown },
          `the API ${api.identifier} does not define the scope "${unknown}"`,
        ),
      );
      rows.push({ apiResourceId: api.id, scopes, canIntrospect: grant.introspect ?? false });
    }
    return rows;
  }

  function mintSecret() {
    const secret = newSecret(CLIENT_SECRET_PREFIX);
    return { secret, digest: digestSecret(digestKey, secret), hint: secret.slice(0, HINT_LENGTH) };
  }

  /**
   * Which applications `principal` reaches for what `codename` names: every one when it holds the
   * codename (superusers hold all); otherwise, when it may act on its own objects (principal.ts
   * `mayActOnOwn`), those it owns and those its organisations' admin role covers; else none.
   */
  async function reachOf(principal: Principal, codename: string): Promise<ApplicationReach | null> {
    if (holds(principal, codename)) return { all: true };
    if (!principal.userId || !mayActOnOwn(principal, codename)) return null;
    return { all: false, userId: principal.userId, adminOf: directory ? await directory.adminOrganizationsOf(principal.userId) : [] };
  }

  /** The application `id` if `principal` reaches it for `codename`; not_found otherwise (404, not 403). */
  async function reached(principal: Principal, id: string, codename: string): Promise<ClientRecord> {
    const reach = await reachOf(principal, codename);
    const found = reach ? await store.findById(storage.db, id) : null;
    assertThat(found && reach && (reach.all || (await store.reaches(storage.db, reach, id))), () => applicationError('not_found', { id }));
    return found;
  }

  async function view(record: Application): Promise<ApplicationView> {
    const summaries = await store.findSummaries(storage.db, [record.id]);
    return { ...record, summary: summaries.get(record.id) ?? EMPTY_SUMMARY };
  }

  /**
   * Refuses what only an API's or every application's administrators may decide, whoever owns the
   * application: which APIs it may ask tokens for (and their scopes, which downstream APIs trust)
   * and the introspect right take `change_api`; skipping consent takes `change_application` held
   * for every application. Owners and organisation admins manage the rest.
   */
  function checkTrust(
    principal: Principal,
    input: { apis?: unknown[] | undefined; introspect?: boolean | undefined; skipAuthorization?: boolean | undefined },
  ): void {
    if ((input.apis?.length || input.introspect !== undefined) && !holds(principal, 'change_api')) {
      throw applicationError('grant_not_allowed', { permission: 'change_api' });
    }
    if (input.skipAuthorization && !holds(principal, 'change_application')) {
      throw applicationError('grant_not_allowed', { permission: 'change_application' });
    }
  }

  /**
   * Refuses an owner or organisation `principal` may not give an application: a superuser gives
   * any that exist; anyone else owns it themselves or gives it to a member of an organisation they
   * administer, and puts it only in an organisation its owner belongs to and they administer (or
   * belong to, when they own it).
   */
  async function checkPlacement(principal: Principal, ownerUserId: string | null, organizationId: string | null): Promise<void> {
    if (ownerUserId !== null) {
      assertThat(!directory || (await directory.userExists(ownerUserId)), () => applicationError('unknown_owner', { user: ownerUserId }));
    }
    if (organizationId !== null) {
      assertThat(!directory || (await directory.organizationExists(organizationId)), () =>
        applicationError('unknown_organization', { organization: organizationId }),
      );
    }
    if (principal.isSuperuser) return;
    const self = principal.userId;
    const adminOf = self && directory ? await directory.adminOrganizationsOf(self) : [];
    if (ownerUserId !== self) {
      let covered = false;
      for (const org of adminOf) if (ownerUserId && (await directory?.isMember(org, ownerUserId))) covered = true;
      assertThat(covered, () => applicationError('owner_not_allowed', { user: ownerUserId }));
    }
    if (organizationId !== null) {
      const ownerBelongs = ownerUserId !== null && (await directory?.isMember(organizationId, ownerUserId)) === true;
      const callerMay = adminOf.includes(organizationId) || (ownerUserId === self && ownerBelongs);
      assertThat(ownerBelongs && callerMay, () => applicationError('organization_not_allowed', { organization: organizationId }));
    }
  }

  const service = {
    /**
     * Registers an application. Confidential clients get a generated 256-bit secret, returned here
     * once and stored only as a keyed digest.
     * @remarks Only for grant types the server serves: a client registered for another grant
     * (authorization_code before sign-in is served) would hold a registration it cannot use.
     */
    async register(input: CreateApplication, actor: string): Promise<ApplicationWithSecret> {
      const data = CreateApplication.parse(input);
      const grantTypes = [...new Set(data.grantTypes)] as GrantType[];
      const unserved = grantTypes.find((g) => !servedGrantTypes.includes(g));
      assertThat(unserved === undefined, () =>
        applicationError(
          'grant_type_not_served',
          { grantType: unserved, served: servedGrantTypes.join(',') },
          `this server does not serve the ${unserved} grant; it serves: ${servedGrantTypes.join(', ')}`,
        ),
      );
      assertThat(!(data.clientType === 'public' && grantTypes.includes('client_credentials')), () =>
        applicationError('public_client_credentials'),
      );
      assertThat(!grantTypes.includes('authorization_code') || data.redirectUris.length > 0, () =>
        applicationError('redirect_uri_required'),
      );
      // RFC 6749 §6: a refresh token is only ever issued by another grant.
      assertThat(
        !grantTypes.includes('refresh_token') || grantTypes.some((g) => g === 'authorization_code' || g === DEVICE_CODE_GRANT),
        () => applicationError('refresh_token_alone'),
      );
      const identifiers = data.apis.map((a) => a.identifier);
      assertThat(new Set(identifiers).size === identifiers.length, () => applicationError('duplicate_api'));
      assertThat(!(data.clientType === 'public' && data.apis.some((a) => a.introspect)), () => applicationError('public_introspect'));

      const minted = data.clientType === 'confidential' ? mintSecret() : null;
      try {
        const record = await storage.transaction(async (tx) => {
          const granted = await resolveGrants(tx, data.apis);
          const row = {
            id: newId('app'),
            clientId: newClientId(),
            name: data.name,
            clientType: data.clientType,
            grantTypes,
            redirectUris: data.redirectUris,
            allowedOrigins: [...new Set(data.allowedOrigins)],
            postLogoutRedirectUris: [...new Set(data.postLogoutRedirectUris)],
            skipAuthorization: data.skipAuthorization,
            clientSecretDigest: minted?.digest ?? null,
            secretHint: minted?.hint ?? null,
            ownerUserId: data.ownerUserId,
            organizationId: data.organizationId,
          };
          await store.insert(tx, row);
          await apiGrants.replaceForApplication(tx, row.id, granted);
          const created = await reread(tx, row.clientId);
          await audit.record(tx, {
            actor,
            action: 'application.created',
            targetType: 'application',
            targetId: created.id,
            details: {
              clientId: created.clientId,
              name: created.name,
              grantTypes,
              apis: created.apis,
              allowedOrigins: created.allowedOrigins,
              ownerUserId: created.ownerUserId,
              organizationId: created.organizationId,
            },
          });
          return created;
        });
        // Usable on this instance at once; other instances learn it from applicationChanged.
        cache.invalidate(record.clientId);
        return { application: withoutDigest(record), clientSecret: minted?.secret ?? null };
      } catch (err) {
        if (err instanceof ConflictError) throw applicationError('name_taken', { name: data.name });
        throw err;
      }
    },

    /**
     * Registers an application for `principal` (the admin API): the AWX rules. The owner and the
     * organisation must be ones the principal may give (see checkPlacement); the route's
     * `add_application` check comes first.
     */
    async registerAs(principal: Principal, input: CreateApplication): Promise<ApplicationWithSecret & { view: ApplicationView }> {
      checkTrust(principal, { apis: input.apis, skipAuthorization: input.skipAuthorization });
      await checkPlacement(principal, input.ownerUserId ?? null, input.organizationId ?? null);
      const created = await service.register(input, principal.actor);
      return { ...created, view: await view(created.application) };
    },

    /**
     * Creates a new user's default application, inside the transaction that creates the user: a
     * confidential client-credentials client they own, **without a secret** until they rotate one
     * (nobody would have seen a secret made here). Named `default (<username>)`, with a suffix if
     * that name is taken.
     */
    async createDefault(tx: Executor, user: { id: string; username: string }, actor: string): Promise<void> {
      let name = `default (${user.username})`.slice(0, 200);
      if (await store.nameExists(tx, name)) name = `${name.slice(0, 190)} ${newSecret('').slice(0, 8)}`;
      const row = {
        id: newId('app'),
        clientId: newClientId(),
        name,
        clientType: 'confidential' as const,
        grantTypes: ['client_credentials'],
        redirectUris: [],
        allowedOrigins: [],
        postLogoutRedirectUris: [],
        skipAuthorization: false,
        clientSecretDigest: null,
        secretHint: null,
        ownerUserId: user.id,
        organizationId: null,
      };
      await store.insert(tx, row);
      await audit.record(tx, {
        actor,
        action: 'application.created',
        targetType: 'application',
        targetId: row.id,
        details: { clientId: row.clientId, name, grantTypes: row.grantTypes, ownerUserId: user.id, default: true },
      });
    },

    /** One page of the applications `principal` may see, with their owners and tokens (no N+1). */
    async listVisible(
      principal: Principal,
      filter: ApplicationFilter,
      page: PageQuery & { orderBy?: ApplicationOrder | undefined },
    ): Promise<Page<ApplicationView>> {
      const reach = await reachOf(principal, 'view_application');
      if (!reach) return { items: [], count: 0, page: page.page, pageSize: page.pageSize };
      const key = JSON.stringify([reach, filter, page.page, page.pageSize, page.orderBy ?? null]);
      return listPages.getOrLoad(key, async () => {
        const { items, count } = await store.findPage(storage.db, reach, filter, page);
        const summaries = await store.findSummaries(
          storage.db,
          items.map((a) => a.id),
        );
        return {
          items: items.map((record) => ({ ...withoutDigest(record), summary: summaries.get(record.id) ?? EMPTY_SUMMARY })),
          count,
          page: page.page,
          pageSize: page.pageSize,
        };
      });
    },

    /**
     * The application `id` as `principal` may use it for what `codename` names (default: view);
     * `application.not_found` when it is out of reach, exactly as when it does not exist.
     */
    async getVisible(principal: Principal, id: string, codename = 'view_application'): Promise<ApplicationView> {
      return view(withoutDigest(await reached(principal, id, codename)));
    },

    /** Changes an application `principal` reaches for `change_application` (name, URIs, organisation, APIs…). */
    async updateAs(principal: Principal, id: string, input: Omit<UpdateApplication, 'clientId'>): Promise<ApplicationView> {
      const found = await reached(principal, id, 'change_application');
      checkTrust(principal, {
        apis: input.apis === undefined ? undefined : [input.apis],
        introspect: input.introspect,
        skipAuthorization: input.skipAuthorization,
      });
      if (input.organizationId !== undefined && input.organizationId !== found.organizationId) {
        await checkPlacement(principal, found.ownerUserId, input.organizationId);
      }
      return view(await service.update({ ...input, clientId: found.clientId }, principal.actor));
    },

    /** Rotates the secret of an application `principal` reaches for `change_application`. */
    async rotateSecretAs(principal: Principal, id: string): Promise<ApplicationWithSecret & { view: ApplicationView }> {
      const found = await reached(principal, id, 'change_application');
      const rotated = await service.rotateSecret(found.clientId, principal.actor);
      return { ...rotated, view: await view(rotated.application) };
    },

    /** Removes an application `principal` reaches for `delete_application`. */
    async removeAs(principal: Principal, id: string): Promise<void> {
      const found = await reached(principal, id, 'delete_application');
      await service.remove(found.clientId, principal.actor);
    },

    async list(): Promise<Application[]> {
      return (await store.findMany(storage.db)).map(withoutDigest);
    },

    /** The application with this `id` (the admin API's identifier), or not_found. */
    async getById(id: string): Promise<Application> {
      const found = await store.findById(storage.db, id);
      assertThat(found, () => applicationError('not_found', { id }));
      return withoutDigest(found);
    },

    async get(clientId: string): Promise<Application> {
      const found = await store.findByClientId(storage.db, clientId);
      assertThat(found, () => applicationError('not_found', { clientId }));
      return withoutDigest(found);
    },

    /** Replaces the secret. The old one stops working as soon as the change reaches each server. */
    async rotateSecret(clientId: string, actor: string): Promise<ApplicationWithSecret> {
      const minted = mintSecret();
      const record = await storage.transaction(async (tx) => {
        const found = await store.findByClientId(tx, clientId);
        assertThat(found, () => applicationError('not_found', { clientId }));
        assertThat(found.clientType === 'confidential', () => applicationError('no_secret', { clientId }));
        await store.updateSecret(tx, clientId, { digest: minted.digest, hint: minted.hint, rotatedAt: clock.now() });
        const updated = await reread(tx, clientId);
        await audit.record(tx, {
          actor,
          action: 'application.secret_rotated',
          targetType: 'application',
          targetId: found.id,
          details: { clientId },
        });
        return updated;
      });
      cache.invalidate(clientId);
      return { application: withoutDigest(record), clientSecret: minted.secret };
    },

    /** Renames an application, replaces its API grants, or sets its introspect right (RFC 7662 §4). */
    async update(input: UpdateApplication, actor: string): Promise<Application> {
      const data = UpdateApplication.parse(input);
      try {
        const record = await storage.transaction(async (tx) => {
          const found = await store.findByClientId(tx, data.clientId);
          assertThat(found, () => applicationError('not_found', { clientId: data.clientId }));
          const grants = updatedGrants(found.apis, data);
          if (grants) {
            assertThat(!(found.clientType === 'public' && grants.some((g) => g.introspect)), () =>
              applicationError('public_introspect', { clientId: found.clientId }),
            );
            assertThat(!(data.introspect === true && grants.length === 0), () =>
              applicationError('introspect_without_api', { clientId: found.clientId }),
            );
          }
          if (grants) await apiGrants.replaceForApplication(tx, found.id, await resolveGrants(tx, grants));
          const allowedOrigins = data.allowedOrigins && [...new Set(data.allowedOrigins)];
          const redirectUris = data.redirectUris ?? found.redirectUris;
          assertThat(!found.grantTypes.includes('authorization_code') || redirectUris.length > 0, () =>
            applicationError('redirect_uri_required'),
          );
          await store.update(tx, found.clientId, {
            name: data.name,
            allowedOrigins,
            redirectUris: data.redirectUris,
            postLogoutRedirectUris: data.postLogoutRedirectUris && [...new Set(data.postLogoutRedirectUris)],
            skipAuthorization: data.skipAuthorization,
            organizationId: data.organizationId,
          });
          const updated = await reread(tx, found.clientId);
          await audit.record(tx, {
            actor,
            action: 'application.updated',
            targetType: 'application',
            targetId: found.id,
            details: {
              clientId: found.clientId,
              name: updated.name,
              apis: updated.apis,
              allowedOrigins: updated.allowedOrigins,
              redirectUris: updated.redirectUris,
              postLogoutRedirectUris: updated.postLogoutRedirectUris,
              skipAuthorization: updated.skipAuthorization,
              organizationId: updated.organizationId,
            },
          });
          return updated;
        });
        cache.invalidate(data.clientId);
        return withoutDigest(record);
      } catch (err) {
        if (err instanceof ConflictError) throw applicationError('name_taken', { name: data.name });
        throw err;
      }
    },

    async remove(clientId: string, actor: string): Promise<void> {
      await storage.transaction(async (tx) => {
        const found = await store.findByClientId(tx, clientId);
        assertThat(found, () => applicationError('not_found', { clientId }));
        await store.delete(tx, clientId);
        await audit.record(tx, {
          actor,
          action: 'application.deleted',
          targetType: 'application',
          targetId: found.id,
          details: { clientId, name: found.name },
        });
      });
      cache.invalidate(clientId);
    },

    /**
     * Whether the application with this `id` exists and is active, from memory after the first
     * lookup (API tokens bound to an application ask on every use). An id never changes its
     * client_id, so the id → client_id step is kept; the record itself follows changes.
     */
    /** The client_id of the application with this `id`, from memory after the first lookup; null if none. */
    clientIdOf,

    async isActiveById(id: string): Promise<boolean> {
      const clientId = await clientIdOf(id);
      return clientId !== null && (await cache.get(clientId))?.isActive === true;
    },

    /** Cached lookup for client authentication and token issuance (hot path: no query on a hit). */
    findClient: (clientId: string): Promise<ClientRecord | null> => cache.get(clientId),

    /**
     * Constant-time check of a presented secret against the stored digest. Without a usable record
     * (unknown id, public or inactive client) the same work is done against a dummy digest.
     */
    verifySecret(record: ClientRecord | null | undefined, presented: string): boolean {
      const usable = !!record?.clientSecretDigest && record.isActive;
      const matches = secretMatches(usable ? (record.clientSecretDigest as string) : dummyDigest, presented || dummySecret);
      return usable && matches;
    },

    /** The work of a failed secret check, for a path that found no client to check against. */
    spendDummyCheck(): void {
      secretMatches(dummyDigest, dummySecret);
    },

    /** Whether `presented` is the secret whose keyed digest is `digest` (oidc-provider's check, too). */
    secretMatches,
  };
  return service;
}

export type ApplicationService = ReturnType<typeof createApplicationService>;

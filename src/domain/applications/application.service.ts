import type { KeyObject } from 'node:crypto';
import type { ChangeBus } from '../../db/change-bus.ts';
import { ConflictError, type Executor, type Storage } from '../../db/storage.ts';
import { assertThat } from '../../lib/assert-that.ts';
import { createBoundedCache } from '../../lib/bounded-cache.ts';
import type { Clock } from '../../lib/clock.ts';
import { newClientId, newId, newSecret } from '../../lib/ids.ts';
import { digestSecret, equalDigests } from '../../lib/secrets.ts';
import type { ApiGrantService, GrantRow } from '../api-grants/api-grant.service.ts';
import { apiChanged } from '../api-resources/api-resource.changes.ts';
import type { ApiResourceService } from '../api-resources/api-resource.service.ts';
import type { AuditService } from '../audit/audit.service.ts';
import { createApplicationCache } from './application.cache.ts';
import { applicationChanged } from './application.changes.ts';
import { applicationError } from './application.errors.ts';
import {
  type ApiGrant,
  type Application,
  type ClientRecord,
  CreateApplication,
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
}

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
}: ApplicationServiceDeps) {
  const cache = createApplicationCache({
    load: (clientId) => store.findByClientId(storage.db, clientId),
    loadIds: () => store.findAllClientIds(storage.db),
  });
  bus.subscribe(applicationChanged, ({ clientId }) => cache.invalidate(clientId));
  // A removed API takes its grants along: every record may have changed.
  bus.subscribe(apiChanged, () => cache.invalidate());
  bus.onReset(() => cache.reset());
  const clientIdById = createBoundedCache<string, string | null>({ max: 10_000 });

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

  return {
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
            skipAuthorization: data.skipAuthorization,
            clientSecretDigest: minted?.digest ?? null,
            secretHint: minted?.hint ?? null,
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
          await store.update(tx, found.clientId, { name: data.name, allowedOrigins });
          const updated = await reread(tx, found.clientId);
          await audit.record(tx, {
            actor,
            action: 'application.updated',
            targetType: 'application',
            targetId: found.id,
            details: { clientId: found.clientId, name: updated.name, apis: updated.apis, allowedOrigins: updated.allowedOrigins },
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
    async isActiveById(id: string): Promise<boolean> {
      const clientId = await clientIdById.getOrLoad(id, async () => (await store.findById(storage.db, id))?.clientId ?? null);
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
}

export type ApplicationService = ReturnType<typeof createApplicationService>;

import type { ChangeBus } from '../../db/change-bus.ts';
import { ConflictError, type Executor, type Storage } from '../../db/storage.ts';
import { assertThat } from '../../lib/assert-that.ts';
import { newId } from '../../lib/ids.ts';
import type { ApiGrantService } from '../api-grants/api-grant.service.ts';
import type { AuditService } from '../audit/audit.service.ts';
import { apiChanged } from './api-resource.changes.ts';
import { apiResourceError } from './api-resource.errors.ts';
import { type ApiResource, CreateApiResource, type SigningAlg } from './api-resource.schema.ts';
import type { ApiResourceStore } from './api-resource.store.ts';

export interface ApiResourceServiceDeps {
  storage: Storage;
  store: ApiResourceStore;
  grants: ApiGrantService;
  audit: AuditService;
  bus: ChangeBus;
  defaults: { signingAlg: SigningAlg; accessTokenTtlSeconds: number };
}

/** APIs (resource servers) that tokens are issued for. */
export function createApiResourceService({ storage, store, grants, audit, bus, defaults }: ApiResourceServiceDeps) {
  // Every API, by identifier: token requests resolve their audience here without a query. APIs are
  // few and change rarely, so the whole set is reloaded after any change, on every instance.
  let byIdentifier: Promise<Map<string, ApiResource>> | null = null;
  const loadAll = () => {
    byIdentifier ??= store.findMany(storage.db).then(
      (all) => new Map(all.map((api) => [api.identifier, api])),
      (err) => {
        byIdentifier = null;
        throw err;
      },
    );
    return byIdentifier;
  };
  const forget = () => {
    byIdentifier = null;
  };
  bus.subscribe(apiChanged, forget);
  bus.onReset(forget);

  return {
    /** Registers an API. The identifier becomes the `aud` of its tokens and cannot change. */
    async register(input: CreateApiResource, actor: string): Promise<ApiResource> {
      const data = CreateApiResource.parse(input);
      try {
        return await storage.transaction(async (tx) => {
          const created = await store.insert(tx, {
            id: newId('api'),
            identifier: data.identifier,
            name: data.name,
            scopes: [...new Set(data.scopes)],
            signingAlg: data.signingAlg ?? defaults.signingAlg,
            accessTokenFormat: data.accessTokenFormat,
            accessTokenTtlSeconds: data.accessTokenTtlSeconds ?? defaults.accessTokenTtlSeconds,
          });
          await audit.record(tx, {
            actor,
            action: 'api.created',
            targetType: 'api',
            targetId: created.id,
            details: { identifier: created.identifier },
          });
          return created;
        });
      } catch (err) {
        if (err instanceof ConflictError) throw apiResourceError('identifier_taken', { identifier: data.identifier });
        throw err;
      } finally {
        forget(); // this instance answers from the new set at once, before the notification arrives
      }
    },

    list: (): Promise<ApiResource[]> => store.findMany(storage.db),

    /** Cached lookup by identifier, for token issuance (hot path: no query). */
    async resolve(identifier: string): Promise<ApiResource | null> {
      return (await loadAll()).get(identifier) ?? null;
    },

    /** The API with this identifier as stored now, read in `db` (another domain's transaction). */
    findByIdentifier: (identifier: string, db: Executor = storage.db): Promise<ApiResource | null> =>
      store.findByIdentifier(db, identifier),

    /** The longest access-token lifetime of any API (or the default), in seconds. */
    async longestAccessTokenTtl(): Promise<number> {
      const all = [...(await loadAll()).values()];
      return Math.max(defaults.accessTokenTtlSeconds, ...all.map((api) => api.accessTokenTtlSeconds));
    },

    /** The API with this `id` (the admin API's identifier), or not_found. */
    async getById(id: string): Promise<ApiResource> {
      const found = await store.findById(storage.db, id);
      assertThat(found, () => apiResourceError('not_found', { id }));
      return found;
    },

    async get(identifier: string): Promise<ApiResource> {
      const found = await store.findByIdentifier(storage.db, identifier);
      assertThat(found, () => apiResourceError('not_found', { identifier }));
      return found;
    },

    /** Removes an API. Refuses while applications are granted it, unless `force`. */
    async remove(identifier: string, actor: string, options: { force?: boolean } = {}): Promise<void> {
      try {
        await storage.transaction(async (tx) => {
          const found = await store.findByIdentifier(tx, identifier);
          assertThat(found, () => apiResourceError('not_found', { identifier }));
          const granted = await grants.countForApi(tx, found.id);
          assertThat(options.force || granted === 0, () => apiResourceError('in_use', { identifier, applications: granted }));
          await store.delete(tx, found);
          await audit.record(tx, { actor, action: 'api.deleted', targetType: 'api', targetId: found.id, details: { identifier } });
        });
      } finally {
        forget();
      }
    },
  };
}

export type ApiResourceService = ReturnType<typeof createApiResourceService>;

import type { PrismaClient } from '../../db/database.ts';
import { isUniqueViolation } from '../../db/prisma-errors.ts';
import { assertThat } from '../../lib/assert-that.ts';
import { newId } from '../../lib/ids.ts';
import type { AuditStore } from '../audit/audit.store.ts';
import { apiResourceError } from './api-resource.errors.ts';
import { type ApiResource, CreateApiResource, type SigningAlg } from './api-resource.schema.ts';
import type { ApiResourceStore } from './api-resource.store.ts';

export interface ApiResourceServiceDeps {
  prisma: PrismaClient;
  store: ApiResourceStore;
  audit: AuditStore;
  defaults: { signingAlg: SigningAlg; accessTokenTtlSeconds: number };
}

/** APIs (resource servers) that tokens are issued for. */
export function createApiResourceService({ prisma, store, audit, defaults }: ApiResourceServiceDeps) {
  // Every API, by identifier: token requests resolve their audience here without a query. APIs are
  // few and change rarely, so the whole set is reloaded on any change notification.
  let byIdentifier: Promise<Map<string, ApiResource>> | null = null;
  const loadAll = () => {
    byIdentifier ??= store.findMany().then(
      (all) => new Map(all.map((api) => [api.identifier, api])),
      (err) => {
        byIdentifier = null;
        throw err;
      },
    );
    return byIdentifier;
  };

  return {
    /** Registers an API. The identifier becomes the `aud` of its tokens and cannot change. */
    async register(input: CreateApiResource, actor: string): Promise<ApiResource> {
      const data = CreateApiResource.parse(input);
      try {
        return await prisma
          .$transaction(async (tx) => {
            const created = await store.insert(tx, {
              id: newId('api'),
              identifier: data.identifier,
              name: data.name,
              scopes: [...new Set(data.scopes)],
              signingAlg: data.signingAlg ?? defaults.signingAlg,
              accessTokenFormat: data.accessTokenFormat,
              accessTokenTtlSeconds: data.accessTokenTtlSeconds ?? defaults.accessTokenTtlSeconds,
            });
            await audit.insert(tx, {
              actor,
              action: 'api.created',
              targetType: 'api',
              targetId: created.id,
              details: { identifier: created.identifier },
            });
            return created;
          })
          .finally(() => {
            byIdentifier = null;
          });
      } catch (err) {
        if (isUniqueViolation(err)) throw apiResourceError('identifier_taken', { identifier: data.identifier });
        throw err;
      }
    },

    list: () => store.findMany(),

    /** Cached lookup by identifier, for token issuance (hot path). */
    async resolve(identifier: string): Promise<ApiResource | null> {
      return (await loadAll()).get(identifier) ?? null;
    },

    /** The longest access-token lifetime of any API (or the default), in seconds. */
    async longestAccessTokenTtl(): Promise<number> {
      const all = [...(await loadAll()).values()];
      return Math.max(defaults.accessTokenTtlSeconds, ...all.map((api) => api.accessTokenTtlSeconds));
    },

    /** Drops the cached APIs after a change notification; the next lookup reloads them. */
    invalidate(): void {
      byIdentifier = null;
    },

    async get(identifier: string): Promise<ApiResource> {
      const found = await store.findByIdentifier(identifier);
      assertThat(found, () => apiResourceError('not_found', { identifier }));
      return found;
    },

    /** Removes an API. Refuses while applications are granted it, unless `force`. */
    async remove(identifier: string, actor: string, options: { force?: boolean } = {}): Promise<void> {
      await prisma.$transaction(async (tx) => {
        const found = await store.findByIdentifier(identifier, tx);
        assertThat(found, () => apiResourceError('not_found', { identifier }));
        const grants = await store.countGrants(tx, found.id);
        assertThat(options.force || grants === 0, () => apiResourceError('in_use', { identifier, applications: grants }));
        await store.delete(tx, found);
        await audit.insert(tx, { actor, action: 'api.deleted', targetType: 'api', targetId: found.id, details: { identifier } });
      });
      byIdentifier = null;
    },
  };
}

export type ApiResourceService = ReturnType<typeof createApiResourceService>;

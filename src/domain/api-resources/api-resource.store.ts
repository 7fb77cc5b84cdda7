import type { ChangeBus } from '../../db/change-bus.ts';
import type { ApiResource as ApiResourceRow } from '../../db/generated/client.ts';
import type { Executor } from '../../db/storage.ts';
import { apiChanged } from './api-resource.changes.ts';
import type { ApiResource, SigningAlg } from './api-resource.schema.ts';

function toApiResource(row: ApiResourceRow): ApiResource {
  return {
    id: row.id,
    identifier: row.identifier,
    name: row.name,
    scopes: row.scopes,
    signingAlg: row.signingAlg as SigningAlg,
    accessTokenFormat: row.accessTokenFormat,
    accessTokenTtlSeconds: row.accessTokenTtlSeconds,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}

export interface ApiResourceStore {
  findMany(db: Executor): Promise<ApiResource[]>;
  findById(db: Executor, id: string): Promise<ApiResource | null>;
  findByIdentifier(db: Executor, identifier: string): Promise<ApiResource | null>;
  /** Inserts and announces the API (apiChanged). */
  insert(db: Executor, data: Omit<ApiResource, 'createdAt' | 'updatedAt'>): Promise<ApiResource>;
  /** Deletes and announces the API (apiChanged); its grants go with it (ON DELETE CASCADE). */
  delete(db: Executor, resource: ApiResource): Promise<void>;
}

export function createApiResourceStore({ bus }: { bus: ChangeBus }): ApiResourceStore {
  return {
    async findMany(db) {
      return (await db.apiResource.findMany({ orderBy: { identifier: 'asc' } })).map(toApiResource);
    },
    async findById(db, id) {
      const row = await db.apiResource.findUnique({ where: { id } });
      return row ? toApiResource(row) : null;
    },
    async findByIdentifier(db, identifier) {
      const row = await db.apiResource.findUnique({ where: { identifier } });
      return row ? toApiResource(row) : null;
    },
    async insert(db, data) {
      const row = await db.apiResource.create({ data });
      await bus.publish(db, apiChanged, { identifier: row.identifier });
      return toApiResource(row);
    },
    async delete(db, resource) {
      await db.apiResource.delete({ where: { id: resource.id } });
      await bus.publish(db, apiChanged, { identifier: resource.identifier });
    },
  };
}

import { publishChange } from '../../db/changes.ts';
import type { PrismaClient, Tx } from '../../db/database.ts';
import type { ApiResource as ApiResourceRow } from '../../db/generated/client.ts';
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

export function createApiResourceStore(prisma: PrismaClient) {
  return {
    async findMany(): Promise<ApiResource[]> {
      const rows = await prisma.apiResource.findMany({ orderBy: { identifier: 'asc' } });
      return rows.map(toApiResource);
    },
    async findByIdentifier(identifier: string, tx: Tx | PrismaClient = prisma): Promise<ApiResource | null> {
      const row = await tx.apiResource.findUnique({ where: { identifier } });
      return row ? toApiResource(row) : null;
    },
    async insert(tx: Tx, data: Omit<ApiResource, 'createdAt' | 'updatedAt'>): Promise<ApiResource> {
      const row = await tx.apiResource.create({ data });
      await publishChange(tx, { kind: 'api', identifier: row.identifier });
      return toApiResource(row);
    },
    async countGrants(tx: Tx, id: string): Promise<number> {
      return tx.applicationApiGrant.count({ where: { apiResourceId: id } });
    },
    async delete(tx: Tx, resource: ApiResource): Promise<void> {
      await tx.apiResource.delete({ where: { id: resource.id } });
      await publishChange(tx, { kind: 'api', identifier: resource.identifier });
    },
  };
}

export type ApiResourceStore = ReturnType<typeof createApiResourceStore>;

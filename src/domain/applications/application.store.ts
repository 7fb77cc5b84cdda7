import { publishChange } from '../../db/changes.ts';
import type { PrismaClient, Tx } from '../../db/database.ts';
import type { Prisma } from '../../db/generated/client.ts';
import type { ClientRecord, GrantType } from './application.schema.ts';

const withApis = { apiGrants: { include: { apiResource: { select: { identifier: true } } } } } as const;
type Row = Prisma.ApplicationGetPayload<{ include: typeof withApis }>;

function toRecord(row: Row): ClientRecord {
  return {
    id: row.id,
    clientId: row.clientId,
    name: row.name,
    clientType: row.clientType,
    grantTypes: row.grantTypes as GrantType[],
    redirectUris: row.redirectUris,
    allowedOrigins: row.allowedOrigins ?? [],
    skipAuthorization: row.skipAuthorization,
    isActive: row.isActive,
    apis: row.apiGrants
      .map((g) => ({ identifier: g.apiResource.identifier, scopes: g.scopes, introspect: g.canIntrospect }))
      .sort((a, b) => a.identifier.localeCompare(b.identifier)),
    secretHint: row.secretHint,
    secretRotatedAt: row.secretRotatedAt,
    clientSecretDigest: row.clientSecretDigest,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}

export interface NewApplicationRow {
  id: string;
  clientId: string;
  name: string;
  clientType: 'confidential' | 'public';
  grantTypes: string[];
  redirectUris: string[];
  allowedOrigins: string[];
  skipAuthorization: boolean;
  clientSecretDigest: string | null;
  secretHint: string | null;
  apis: GrantRow[];
}

export interface GrantRow {
  apiResourceId: string;
  scopes: string[];
  canIntrospect: boolean;
}

export function createApplicationStore(prisma: PrismaClient) {
  return {
    async findByClientId(clientId: string, tx: Tx | PrismaClient = prisma): Promise<ClientRecord | null> {
      const row = await tx.application.findUnique({ where: { clientId }, include: withApis });
      return row ? toRecord(row) : null;
    },
    /** Every client_id, for the index that answers unknown ids without a query. */
    async findAllClientIds(): Promise<string[]> {
      const rows = await prisma.application.findMany({ select: { clientId: true } });
      return rows.map((r) => r.clientId);
    },
    async findMany(): Promise<ClientRecord[]> {
      const rows = await prisma.application.findMany({ include: withApis, orderBy: { createdAt: 'asc' } });
      return rows.map(toRecord);
    },
    async insert(tx: Tx, data: NewApplicationRow): Promise<ClientRecord> {
      const { apis, ...columns } = data;
      const row = await tx.application.create({
        data: { ...columns, apiGrants: { create: apis } },
        include: withApis,
      });
      await publishChange(tx, { kind: 'application', clientId: row.clientId });
      return toRecord(row);
    },
    async updateSecret(tx: Tx, clientId: string, secret: { digest: string; hint: string; rotatedAt: Date }): Promise<ClientRecord> {
      const row = await tx.application.update({
        where: { clientId },
        data: { clientSecretDigest: secret.digest, secretHint: secret.hint, secretRotatedAt: secret.rotatedAt },
        include: withApis,
      });
      await publishChange(tx, { kind: 'application', clientId });
      return toRecord(row);
    },
    /** Changes the name and, when given, replaces the API grants or the allowed origins. */
    async update(tx: Tx, id: string, changes: { name?: string; apis?: GrantRow[]; allowedOrigins?: string[] }): Promise<ClientRecord> {
      if (changes.apis) await tx.applicationApiGrant.deleteMany({ where: { applicationId: id } });
      const row = await tx.application.update({
        where: { id },
        data: {
          ...(changes.name !== undefined ? { name: changes.name } : {}),
          ...(changes.apis ? { apiGrants: { create: changes.apis } } : {}),
          ...(changes.allowedOrigins ? { allowedOrigins: changes.allowedOrigins } : {}),
        },
        include: withApis,
      });
      await publishChange(tx, { kind: 'application', clientId: row.clientId });
      return toRecord(row);
    },
    async delete(tx: Tx, clientId: string): Promise<void> {
      await tx.application.delete({ where: { clientId } });
      await publishChange(tx, { kind: 'application', clientId });
    },
  };
}

export type ApplicationStore = ReturnType<typeof createApplicationStore>;

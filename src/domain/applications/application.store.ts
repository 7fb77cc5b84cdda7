import type { ChangeBus } from '../../db/change-bus.ts';
import type { Prisma } from '../../db/generated/client.ts';
import type { Executor } from '../../db/storage.ts';
import { applicationChanged } from './application.changes.ts';
import type { ClientRecord, GrantType } from './application.schema.ts';

// A client record is read with its grants and their APIs' identifiers: one query for what client
// authentication and token issuance need. The grants themselves are written by the api-grants store.
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
}

export interface ApplicationStore {
  findById(db: Executor, id: string): Promise<ClientRecord | null>;
  findByClientId(db: Executor, clientId: string): Promise<ClientRecord | null>;
  /** Every client_id, for the index that answers unknown ids without a query. */
  findAllClientIds(db: Executor): Promise<string[]>;
  findMany(db: Executor): Promise<ClientRecord[]>;
  /** Inserts and announces the application (applicationChanged). */
  insert(db: Executor, row: NewApplicationRow): Promise<void>;
  updateSecret(db: Executor, clientId: string, secret: { digest: string; hint: string; rotatedAt: Date }): Promise<void>;
  /** Changes the name and allowed origins (when given) and announces the application: call it after its grants changed too. */
  update(db: Executor, clientId: string, changes: { name?: string | undefined; allowedOrigins?: string[] | undefined }): Promise<void>;
  delete(db: Executor, clientId: string): Promise<void>;
}

export function createApplicationStore({ bus }: { bus: ChangeBus }): ApplicationStore {
  const announce = (db: Executor, clientId: string) => bus.publish(db, applicationChanged, { clientId });
  return {
    async findById(db, id) {
      const row = await db.application.findUnique({ where: { id }, include: withApis });
      return row ? toRecord(row) : null;
    },
    async findByClientId(db, clientId) {
      const row = await db.application.findUnique({ where: { clientId }, include: withApis });
      return row ? toRecord(row) : null;
    },
    async findAllClientIds(db) {
      return (await db.application.findMany({ select: { clientId: true } })).map((r) => r.clientId);
    },
    async findMany(db) {
      return (await db.application.findMany({ include: withApis, orderBy: { createdAt: 'asc' } })).map(toRecord);
    },
    async insert(db, row) {
      await db.application.create({ data: row });
      await announce(db, row.clientId);
    },
    async updateSecret(db, clientId, secret) {
      await db.application.update({
        where: { clientId },
        data: { clientSecretDigest: secret.digest, secretHint: secret.hint, secretRotatedAt: secret.rotatedAt },
      });
      await announce(db, clientId);
    },
    async update(db, clientId, changes) {
      await db.application.update({
        where: { clientId },
        data: {
          updatedAt: new Date(),
          ...(changes.name !== undefined ? { name: changes.name } : {}),
          ...(changes.allowedOrigins ? { allowedOrigins: changes.allowedOrigins } : {}),
        },
      });
      await announce(db, clientId);
    },
    async delete(db, clientId) {
      await db.application.delete({ where: { clientId } });
      await announce(db, clientId);
    },
  };
}

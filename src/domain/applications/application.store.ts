import type { ChangeBus } from '../../db/change-bus.ts';
import type { Prisma } from '../../db/generated/client.ts';
import type { Executor } from '../../db/storage.ts';
import { type PageQuery, pageWindow } from '../../lib/pagination.ts';
import { applicationChanged } from './application.changes.ts';
import type {
  ApplicationFilter,
  ApplicationOrder,
  ApplicationReach,
  ApplicationSummary,
  ClientRecord,
  GrantType,
} from './application.schema.ts';

const ORDER: Record<ApplicationOrder, Prisma.ApplicationOrderByWithRelationInput[]> = {
  name: [{ name: 'asc' }],
  '-name': [{ name: 'desc' }],
  // id breaks ties, so pages never repeat or skip a row created in the same millisecond
  created: [{ createdAt: 'asc' }, { id: 'asc' }],
  '-created': [{ createdAt: 'desc' }, { id: 'desc' }],
};

function reachWhere(reach: ApplicationReach): Prisma.ApplicationWhereInput {
  if (reach.all) return {};
  const admin = reach.adminOf.length
    ? [{ organizationId: { in: [...reach.adminOf] } }, { owner: { memberships: { some: { organizationId: { in: [...reach.adminOf] } } } } }]
    : [];
  return { OR: [{ ownerUserId: reach.userId }, ...admin] };
}

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
    postLogoutRedirectUris: row.postLogoutRedirectUris ?? [],
    skipAuthorization: row.skipAuthorization,
    isActive: row.isActive,
    ownerUserId: row.ownerUserId,
    organizationId: row.organizationId,
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
  postLogoutRedirectUris: string[];
  skipAuthorization: boolean;
  clientSecretDigest: string | null;
  secretHint: string | null;
  ownerUserId: string | null;
  organizationId: string | null;
}

export interface ApplicationChanges {
  name?: string | undefined;
  allowedOrigins?: string[] | undefined;
  redirectUris?: string[] | undefined;
  postLogoutRedirectUris?: string[] | undefined;
  skipAuthorization?: boolean | undefined;
  organizationId?: string | null | undefined;
}

export interface ApplicationStore {
  findById(db: Executor, id: string): Promise<ClientRecord | null>;
  findByClientId(db: Executor, clientId: string): Promise<ClientRecord | null>;
  /** Every client_id, for the index that answers unknown ids without a query. */
  findAllClientIds(db: Executor): Promise<string[]>;
  findMany(db: Executor): Promise<ClientRecord[]>;
  /** one page of what `reach` reaches, filtered and ordered, with the total count */
  findPage(
    db: Executor,
    reach: ApplicationReach,
    filter: ApplicationFilter,
    page: PageQuery & { orderBy?: ApplicationOrder | undefined },
  ): Promise<{ items: ClientRecord[]; count: number }>;
  /** whether `reach` reaches the application `id` */
  reaches(db: Executor, reach: ApplicationReach, id: string): Promise<boolean>;
  /** owners and tokens of these applications, in three statements whatever their number */
  findSummaries(db: Executor, ids: readonly string[]): Promise<Map<string, ApplicationSummary>>;
  /** whether an application has this name */
  nameExists(db: Executor, name: string): Promise<boolean>;
  /** Inserts and announces the application (applicationChanged). */
  insert(db: Executor, row: NewApplicationRow): Promise<void>;
  updateSecret(db: Executor, clientId: string, secret: { digest: string; hint: string; rotatedAt: Date }): Promise<void>;
  /** Changes what `changes` gives and announces the application: call it after its grants changed too. */
  update(db: Executor, clientId: string, changes: ApplicationChanges): Promise<void>;
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
    async findPage(db, reach, filter, page) {
      const where: Prisma.ApplicationWhereInput = {
        AND: [
          reachWhere(reach),
          {
            ...(filter.clientId ? { clientId: filter.clientId } : {}),
            ...(filter.name ? { name: filter.name } : {}),
            ...(filter.ownerUserId ? { ownerUserId: filter.ownerUserId } : {}),
            ...(filter.organizationId ? { organizationId: filter.organizationId } : {}),
          },
        ],
      };
      const [rows, count] = await Promise.all([
        db.application.findMany({ where, include: withApis, orderBy: ORDER[page.orderBy ?? 'created'], ...pageWindow(page) }),
        db.application.count({ where }),
      ]);
      return { items: rows.map(toRecord), count };
    },
    async reaches(db, reach, id) {
      if (reach.all) return true;
      return (await db.application.count({ where: { AND: [{ id }, reachWhere(reach)] } })) > 0;
    },
    async findSummaries(db, ids) {
      const list = [...ids];
      if (list.length === 0) return new Map();
      const [owners, counts, tokens] = await Promise.all([
        db.application.findMany({ where: { id: { in: list } }, select: { id: true, owner: { select: { id: true, username: true } } } }),
        db.apiToken.groupBy({ by: ['applicationId'], where: { applicationId: { in: list } }, _count: { _all: true } }),
        // the newest ten of each: a window query would be one statement; this is one per page too
        db.apiToken.findMany({
          where: { applicationId: { in: list } },
          select: { id: true, name: true, scope: true, createdAt: true, applicationId: true },
          orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
          take: list.length * 10,
        }),
      ]);
      const result = new Map<string, ApplicationSummary>();
      for (const o of owners) result.set(o.id, { owner: o.owner, tokenCount: 0, tokens: [] });
      for (const c of counts) {
        const entry = c.applicationId ? result.get(c.applicationId) : undefined;
        if (entry) entry.tokenCount = c._count._all;
      }
      for (const t of tokens) {
        const entry = t.applicationId ? result.get(t.applicationId) : undefined;
        if (entry && entry.tokens.length < 10) entry.tokens.push({ id: t.id, name: t.name, scope: t.scope, createdAt: t.createdAt });
      }
      return result;
    },
    async nameExists(db, name) {
      return (await db.application.count({ where: { name } })) > 0;
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
          ...(changes.redirectUris ? { redirectUris: changes.redirectUris } : {}),
          ...(changes.postLogoutRedirectUris ? { postLogoutRedirectUris: changes.postLogoutRedirectUris } : {}),
          ...(changes.skipAuthorization !== undefined ? { skipAuthorization: changes.skipAuthorization } : {}),
          ...(changes.organizationId !== undefined ? { organizationId: changes.organizationId } : {}),
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

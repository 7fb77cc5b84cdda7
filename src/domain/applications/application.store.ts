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

/** ORDER BY for each listing order; `id` breaks ties, so pages never repeat or skip a row. */
const ORDER_SQL: Record<ApplicationOrder, string> = {
  name: 'a.name ASC, a.id ASC',
  '-name': 'a.name DESC, a.id DESC',
  created: 'a.created_at ASC, a.id ASC',
  '-created': 'a.created_at DESC, a.id DESC',
};

/** What `reach` reaches, as SQL over `applications a` (parameters through `param`). */
function reachSql(reach: ApplicationReach, param: (value: unknown) => string): string {
  if (reach.all) return 'TRUE';
  const own = `a.owner_user_id = ${param(reach.userId)}`;
  if (reach.adminOf.length === 0) return own;
  const orgs = param([...reach.adminOf]);
  return `(${own} OR a.organization_id = ANY(${orgs}::text[]) OR EXISTS (
    SELECT 1 FROM organization_memberships m WHERE m.user_id = a.owner_user_id AND m.organization_id = ANY(${orgs}::text[])))`;
}

interface PageRow {
  id: string;
  client_id: string;
  name: string;
  client_type: string;
  grant_types: string[] | null;
  redirect_uris: string[] | null;
  post_logout_redirect_uris: string[] | null;
  allowed_origins: string[] | null;
  skip_authorization: boolean;
  is_active: boolean;
  owner_user_id: string | null;
  organization_id: string | null;
  secret_hint: string | null;
  secret_rotated_at: Date | null;
  client_secret_digest: string | null;
  created_at: Date;
  updated_at: Date;
  apis: unknown;
  total: bigint | number;
}

interface SummaryToken {
  id: string;
  name: string;
  scope: 'read' | 'write';
  createdAt: string;
}

interface SummaryRow {
  id: string;
  owner_id: string | null;
  owner_username: string | null;
  token_count: bigint | number;
  tokens: unknown;
}

/** json comes back parsed from one driver and as text from the other. */
const parseJson = <T>(value: unknown): T => (typeof value === 'string' ? JSON.parse(value) : value) as T;

function fromPageRow(row: PageRow): ClientRecord {
  return {
    id: row.id,
    clientId: row.client_id,
    name: row.name,
    clientType: row.client_type as ClientRecord['clientType'],
    grantTypes: (row.grant_types ?? []) as GrantType[],
    redirectUris: row.redirect_uris ?? [],
    postLogoutRedirectUris: row.post_logout_redirect_uris ?? [],
    allowedOrigins: row.allowed_origins ?? [],
    skipAuthorization: row.skip_authorization,
    isActive: row.is_active,
    ownerUserId: row.owner_user_id,
    organizationId: row.organization_id,
    apis: parseJson<ClientRecord['apis']>(row.apis).sort((a, b) => a.identifier.localeCompare(b.identifier)),
    secretHint: row.secret_hint,
    secretRotatedAt: row.secret_rotated_at ? new Date(row.secret_rotated_at) : null,
    clientSecretDigest: row.client_secret_digest,
    createdAt: new Date(row.created_at),
    updatedAt: new Date(row.updated_at),
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
  /** owners and tokens of these applications, in one statement whatever their number */
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
      // One statement for the page, its grants and the total: the admin list reads tens of
      // thousands of rows with no more work than a page's (no N+1, no query per row).
      const params: unknown[] = [];
      const param = (value: unknown) => {
        params.push(value);
        return `$${params.length}`;
      };
      const conditions = [reachSql(reach, param)];
      if (filter.clientId) conditions.push(`a.client_id = ${param(filter.clientId)}`);
      if (filter.name) conditions.push(`a.name = ${param(filter.name)}`);
      if (filter.ownerUserId) conditions.push(`a.owner_user_id = ${param(filter.ownerUserId)}`);
      if (filter.organizationId) conditions.push(`a.organization_id = ${param(filter.organizationId)}`);
      const { skip, take } = pageWindow(page);
      const where = conditions.join(' AND ');
      const order = ORDER_SQL[page.orderBy ?? 'created'];
      // The page's ids first (an index walk for the default order), then only its rows are read
      // whole; the total is counted apart (a window count would read every row in full).
      const rows = await db.$queryRawUnsafe<PageRow[]>(
        `WITH page AS (SELECT a.id FROM applications a WHERE ${where} ORDER BY ${order} LIMIT ${param(take)} OFFSET ${param(skip)})
         SELECT a.id, a.client_id, a.name, a.client_type::text AS client_type, a.grant_types, a.redirect_uris, a.post_logout_redirect_uris, a.allowed_origins,
                a.skip_authorization, a.is_active, a.owner_user_id, a.organization_id, a.secret_hint, a.secret_rotated_at,
                a.client_secret_digest, a.created_at, a.updated_at,
                COALESCE((SELECT json_agg(json_build_object('identifier', r.identifier, 'scopes', g.scopes, 'introspect', g.can_introspect))
                          FROM application_api_grants g JOIN api_resources r ON r.id = g.api_resource_id
                          WHERE g.application_id = a.id), '[]'::json) AS apis,
                (SELECT count(*) FROM applications a WHERE ${where}) AS total
         FROM page JOIN applications a ON a.id = page.id
         ORDER BY ${order}`,
        ...params,
      );
      // Past the last page there is no row to carry the total: ask for it alone.
      const count =
        rows[0] !== undefined
          ? Number(rows[0].total)
          : Number(
              (
                await db.$queryRawUnsafe<{ total: bigint | number }[]>(
                  `SELECT count(*) AS total FROM applications a WHERE ${where}`,
                  ...params.slice(0, -2),
                )
              )[0]?.total ?? 0,
            );
      return { items: rows.map(fromPageRow), count };
    },
    async reaches(db, reach, id) {
      if (reach.all) return true;
      return (await db.application.count({ where: { AND: [{ id }, reachWhere(reach)] } })) > 0;
    },
    async findSummaries(db, ids) {
      const list = [...ids];
      if (list.length === 0) return new Map();
      // One statement: each application's owner, token count and newest ten tokens.
      const rows = await db.$queryRawUnsafe<SummaryRow[]>(
        `SELECT a.id, u.id AS owner_id, u.username AS owner_username,
                (SELECT count(*) FROM api_tokens t WHERE t.application_id = a.id) AS token_count,
                COALESCE((SELECT json_agg(json_build_object('id', x.id, 'name', x.name, 'scope', x.scope, 'createdAt', x.created_at)
                                   ORDER BY x.created_at DESC, x.id DESC)
                          FROM (SELECT t.id, t.name, t.scope::text AS scope, t.created_at FROM api_tokens t
                                WHERE t.application_id = a.id ORDER BY t.created_at DESC, t.id DESC LIMIT 10) x), '[]'::json) AS tokens
         FROM applications a LEFT JOIN users u ON u.id = a.owner_user_id
         WHERE a.id = ANY($1::text[])`,
        list,
      );
      const result = new Map<string, ApplicationSummary>();
      for (const row of rows) {
        result.set(row.id, {
          owner: row.owner_id ? { id: row.owner_id, username: row.owner_username as string } : null,
          tokenCount: Number(row.token_count),
          tokens: parseJson<SummaryToken[]>(row.tokens).map((t) => ({ ...t, createdAt: new Date(t.createdAt) })),
        });
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

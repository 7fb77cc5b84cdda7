import type { ChangeBus } from '../../db/change-bus.ts';
import type { ApiToken as ApiTokenRow, Prisma } from '../../db/generated/client.ts';
import type { Executor } from '../../db/storage.ts';
import { pageWindow } from '../../lib/pagination.ts';
import { ApiTokenChanged } from './api-token.changes.ts';
import type { ApiTokenScope, ListApiTokens } from './api-token.schema.ts';

/** A token row as the service needs it (the digest included: it never leaves the service). */
export interface ApiTokenRecord {
  id: string;
  userId: string;
  applicationId: string | null;
  name: string;
  digest: string;
  prefix: string;
  scope: ApiTokenScope;
  permissions: string[];
  isDeclared: boolean;
  expiresAt: Date | null;
  lastUsedAt: Date | null;
  lastUsedIp: string | null;
  revokedAt: Date | null;
  createdAt: Date;
}

export type NewApiTokenRow = Pick<
  ApiTokenRecord,
  'id' | 'userId' | 'applicationId' | 'name' | 'digest' | 'prefix' | 'scope' | 'permissions' | 'isDeclared' | 'expiresAt'
>;

export type ApiTokenPatch = Partial<Pick<ApiTokenRecord, 'userId' | 'scope' | 'permissions' | 'expiresAt' | 'revokedAt' | 'applicationId'>>;

export interface UsageRecord {
  id: string;
  at: Date;
  ip: string | null;
}

export interface ApiTokenStore {
  findById(db: Executor, id: string): Promise<ApiTokenRecord | null>;
  findByDigest(db: Executor, digest: string): Promise<ApiTokenRecord | null>;
  findByDigests(db: Executor, digests: readonly string[]): Promise<ApiTokenRecord[]>;
  /** the digests of every declared token (a handful) */
  findDeclaredDigests(db: Executor): Promise<string[]>;
  /** newest first; `now` decides what `includeInactive: false` leaves out */
  findMany(
    db: Executor,
    filter: { userId?: string; applicationId?: string },
    query: ListApiTokens,
    now: Date,
  ): Promise<{ items: ApiTokenRecord[]; count: number }>;
  /** ConflictError when the digest exists */
  insert(tx: Executor, row: NewApiTokenRow): Promise<ApiTokenRecord>;
  /** NotFoundError when absent */
  update(tx: Executor, id: string, patch: ApiTokenPatch): Promise<ApiTokenRecord>;
  /** NotFoundError when absent */
  delete(tx: Executor, id: string): Promise<ApiTokenRecord>;
  /** deletes every declared token whose digest is not in `keep`; returns them */
  deleteDeclaredExcept(tx: Executor, keep: readonly string[]): Promise<ApiTokenRecord[]>;
  /** last use of many tokens in one statement (no change published: nothing caches it) */
  recordUsage(db: Executor, usage: readonly UsageRecord[]): Promise<void>;
  applicationExists(db: Executor, applicationId: string): Promise<boolean>;
  /** serialises AUTH_TOKENS runs of instances starting together, until the transaction ends */
  lockDeclarations(tx: Executor): Promise<void>;
}

function toRecord(row: ApiTokenRow): ApiTokenRecord {
  return {
    id: row.id,
    userId: row.userId,
    applicationId: row.applicationId,
    name: row.name,
    digest: row.digest,
    prefix: row.prefix,
    scope: row.scope,
    permissions: row.permissions,
    isDeclared: row.isDeclared,
    expiresAt: row.expiresAt,
    lastUsedAt: row.lastUsedAt,
    lastUsedIp: row.lastUsedIp,
    revokedAt: row.revokedAt,
    createdAt: row.createdAt,
  };
}

// Any 64-bit constant; this one spells "ghtokens" in ASCII (the migrator uses "gatehous").
const DECLARATIONS_LOCK_KEY = 0x6768746f6b656e73n;

/** API tokens (table `api_tokens`). Publishes ApiTokenChanged with every write but usage. */
export function createApiTokenStore({ bus }: { bus: ChangeBus }): ApiTokenStore {
  const announce = (tx: Executor, row: ApiTokenRecord) =>
    bus.publish(tx, ApiTokenChanged, { digest: row.digest, userId: row.userId, declared: row.isDeclared });

  return {
    async findById(db, id) {
      const row = await db.apiToken.findUnique({ where: { id } });
      return row ? toRecord(row) : null;
    },
    async findByDigest(db, digest) {
      const row = await db.apiToken.findUnique({ where: { digest } });
      return row ? toRecord(row) : null;
    },
    async findByDigests(db, digests) {
      if (digests.length === 0) return [];
      return (await db.apiToken.findMany({ where: { digest: { in: [...digests] } } })).map(toRecord);
    },
    async findDeclaredDigests(db) {
      return (await db.apiToken.findMany({ where: { isDeclared: true }, select: { digest: true } })).map((r) => r.digest);
    },
    async findMany(db, filter, query, now) {
      const where: Prisma.ApiTokenWhereInput = {
        ...(filter.userId ? { userId: filter.userId } : {}),
        ...(filter.applicationId ? { applicationId: filter.applicationId } : {}),
        ...(query.includeInactive ? {} : { revokedAt: null, OR: [{ expiresAt: null }, { expiresAt: { gt: now } }] }),
      };
      const [rows, count] = await Promise.all([
        db.apiToken.findMany({ where, orderBy: [{ createdAt: 'desc' }, { id: 'desc' }], ...pageWindow(query) }),
        db.apiToken.count({ where }),
      ]);
      return { items: rows.map(toRecord), count };
    },
    async insert(tx, row) {
      const created = toRecord(await tx.apiToken.create({ data: row }));
      await announce(tx, created);
      return created;
    },
    async update(tx, id, patch) {
      const before = await tx.apiToken.findUnique({ where: { id }, select: { userId: true } });
      const updated = toRecord(await tx.apiToken.update({ where: { id }, data: patch }));
      await announce(tx, updated);
      // A token moved to another user: caches keyed by its former user drop it too.
      if (before && before.userId !== updated.userId) await announce(tx, { ...updated, userId: before.userId });
      return updated;
    },
    async delete(tx, id) {
      const deleted = toRecord(await tx.apiToken.delete({ where: { id } }));
      await announce(tx, deleted);
      return deleted;
    },
    async deleteDeclaredExcept(tx, keep) {
      const gone = await tx.apiToken.findMany({ where: { isDeclared: true, digest: { notIn: [...keep] } } });
      if (gone.length === 0) return [];
      await tx.apiToken.deleteMany({ where: { id: { in: gone.map((r) => r.id) } } });
      const records = gone.map(toRecord);
      for (const record of records) await announce(tx, record);
      return records;
    },
    async recordUsage(db, usage) {
      if (usage.length === 0) return;
      // One statement for the whole batch: unnest the three arrays into rows and join on id.
      await db.$executeRaw`
        UPDATE api_tokens AS t SET last_used_at = u.at, last_used_ip = u.ip
        FROM unnest(${usage.map((u) => u.id)}::text[], ${usage.map((u) => u.at.toISOString())}::timestamptz[], ${usage.map((u) => u.ip)}::text[]) AS u(id, at, ip)
        WHERE t.id = u.id`;
    },
    async applicationExists(db, applicationId) {
      return (await db.application.count({ where: { id: applicationId } })) > 0;
    },
    async lockDeclarations(tx) {
      await tx.$executeRaw`SELECT pg_advisory_xact_lock(${DECLARATIONS_LOCK_KEY}::bigint)`;
    },
  };
}

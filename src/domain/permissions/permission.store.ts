import type { ChangeBus } from '../../db/change-bus.ts';
import type { Prisma } from '../../db/generated/client.ts';
import type { Executor } from '../../db/storage.ts';
import { pageWindow } from '../../lib/pagination.ts';
import { ApplicationPermissionsChanged, PermissionsChanged } from './permission.changes.ts';
import type { ListPermissions, Permission } from './permission.schema.ts';

export interface NewPermissionRow {
  id: string;
  codename: string;
  name: string;
  /** the API's identifier; the API must exist (NotFoundError otherwise) */
  apiIdentifier: string | null;
  isBuiltIn: boolean;
}

export interface PermissionStore {
  findById(db: Executor, id: string): Promise<Permission | null>;
  findByCodename(db: Executor, codename: string): Promise<Permission | null>;
  /** those of `codenames` that exist, in codename order */
  findByCodenames(db: Executor, codenames: readonly string[]): Promise<Permission[]>;
  findMany(db: Executor, query: ListPermissions): Promise<{ items: Permission[]; count: number }>;
  /** ConflictError on a taken codename; NotFoundError when the named API does not exist */
  insert(tx: Executor, row: NewPermissionRow): Promise<Permission>;
  /** inserts the rows whose codename is free, skips the others; the number inserted */
  insertMissing(tx: Executor, rows: readonly NewPermissionRow[]): Promise<number>;
  /** marks existing permissions as built-in; the number changed */
  markBuiltIn(tx: Executor, codenames: readonly string[]): Promise<number>;
  /** NotFoundError when absent; role and application grants go with it (ON DELETE CASCADE) */
  delete(tx: Executor, id: string): Promise<void>;
  /** whether the application `applications.id` exists (the grant's other side) */
  applicationExists(db: Executor, applicationId: string): Promise<boolean>;
  findApplicationPermissions(db: Executor, applicationId: string): Promise<Permission[]>;
  /** replaces the permissions granted to an application */
  replaceApplicationPermissions(tx: Executor, applicationId: string, permissionIds: readonly string[]): Promise<void>;
}

const SELECT = {
  id: true,
  codename: true,
  name: true,
  isBuiltIn: true,
  createdAt: true,
  apiResource: { select: { identifier: true } },
} as const satisfies Prisma.PermissionSelect;

type Row = Prisma.PermissionGetPayload<{ select: typeof SELECT }>;

function toPermission(row: Row): Permission {
  return {
    id: row.id,
    codename: row.codename,
    name: row.name,
    api: row.apiResource?.identifier ?? null,
    isBuiltIn: row.isBuiltIn,
    createdAt: row.createdAt,
  };
}

/** Permissions (table `permissions`) and the grants to applications (`application_permissions`). */
export function createPermissionStore({ bus }: { bus: ChangeBus }): PermissionStore {
  return {
    async findById(db, id) {
      const row = await db.permission.findUnique({ where: { id }, select: SELECT });
      return row ? toPermission(row) : null;
    },
    async findByCodename(db, codename) {
      const row = await db.permission.findUnique({ where: { codename }, select: SELECT });
      return row ? toPermission(row) : null;
    },
    async findByCodenames(db, codenames) {
      if (codenames.length === 0) return [];
      const rows = await db.permission.findMany({
        where: { codename: { in: [...codenames] } },
        select: SELECT,
        orderBy: { codename: 'asc' },
      });
      return rows.map(toPermission);
    },
    async findMany(db, query) {
      const where: Prisma.PermissionWhereInput = {
        ...(query.api === undefined ? {} : query.api === null ? { apiResourceId: null } : { apiResource: { identifier: query.api } }),
        ...(query.codenamePrefix ? { codename: { startsWith: query.codenamePrefix } } : {}),
        ...(query.isBuiltIn === undefined ? {} : { isBuiltIn: query.isBuiltIn }),
      };
      const [rows, count] = await Promise.all([
        db.permission.findMany({ where, select: SELECT, orderBy: { codename: 'asc' }, ...pageWindow(query) }),
        db.permission.count({ where }),
      ]);
      return { items: rows.map(toPermission), count };
    },
    async insert(tx, row) {
      const created = await tx.permission.create({
        data: {
          id: row.id,
          codename: row.codename,
          name: row.name,
          isBuiltIn: row.isBuiltIn,
          ...(row.apiIdentifier === null ? {} : { apiResource: { connect: { identifier: row.apiIdentifier } } }),
        },
        select: SELECT,
      });
      await bus.publish(tx, PermissionsChanged, {});
      return toPermission(created);
    },
    async insertMissing(tx, rows) {
      if (rows.length === 0) return 0;
      const global = rows.filter((r) => r.apiIdentifier === null);
      if (global.length !== rows.length) throw new Error('insertMissing takes permissions of no API only');
      const { count } = await tx.permission.createMany({
        data: global.map(({ apiIdentifier: _, ...r }) => r),
        skipDuplicates: true,
      });
      if (count > 0) await bus.publish(tx, PermissionsChanged, {});
      return count;
    },
    async markBuiltIn(tx, codenames) {
      const { count } = await tx.permission.updateMany({
        where: { codename: { in: [...codenames] }, isBuiltIn: false },
        data: { isBuiltIn: true },
      });
      return count;
    },
    async delete(tx, id) {
      await tx.permission.delete({ where: { id } });
      await bus.publish(tx, PermissionsChanged, {});
    },
    async applicationExists(db, applicationId) {
      return (await db.application.count({ where: { id: applicationId } })) > 0;
    },
    async findApplicationPermissions(db, applicationId) {
      const rows = await db.applicationPermission.findMany({
        where: { applicationId },
        select: { permission: { select: SELECT } },
        orderBy: { permission: { codename: 'asc' } },
      });
      return rows.map((r) => toPermission(r.permission));
    },
    async replaceApplicationPermissions(tx, applicationId, permissionIds) {
      await tx.applicationPermission.deleteMany({ where: { applicationId } });
      if (permissionIds.length) {
        await tx.applicationPermission.createMany({ data: permissionIds.map((permissionId) => ({ applicationId, permissionId })) });
      }
      await bus.publish(tx, ApplicationPermissionsChanged, { applicationId });
    },
  };
}

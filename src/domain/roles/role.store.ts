import type { ChangeBus } from '../../db/change-bus.ts';
import type { Prisma } from '../../db/generated/client.ts';
import type { Executor } from '../../db/storage.ts';
import { pageWindow } from '../../lib/pagination.ts';
import { RoleChanged } from './role.changes.ts';
import type { ListRoles, Role } from './role.schema.ts';

export interface RoleStore {
  findById(db: Executor, id: string): Promise<Role | null>;
  findByName(db: Executor, name: string): Promise<Role | null>;
  findMany(db: Executor, query: ListRoles): Promise<{ items: Role[]; count: number }>;
  /** the roles a user holds, by name */
  findByUser(db: Executor, userId: string): Promise<Role[]>;
  /** ConflictError on a taken name */
  insert(tx: Executor, row: { id: string; name: string; description: string }): Promise<Role>;
  /** NotFoundError when absent, ConflictError on a taken name */
  update(tx: Executor, id: string, patch: { name?: string; description?: string }): Promise<Role>;
  /** NotFoundError when absent; its grants to users go with it */
  delete(tx: Executor, id: string): Promise<void>;
  /** adds the permissions (by permission id) the role lacks; the number added */
  addPermissions(tx: Executor, roleId: string, permissionIds: readonly string[]): Promise<number>;
  /** the number removed */
  removePermissions(tx: Executor, roleId: string, permissionIds: readonly string[]): Promise<number>;
  /** whether the user did not hold the role before */
  addUser(tx: Executor, roleId: string, userId: string): Promise<boolean>;
  /** whether the user held the role */
  removeUser(tx: Executor, roleId: string, userId: string): Promise<boolean>;
}

const SELECT = {
  id: true,
  name: true,
  description: true,
  createdAt: true,
  updatedAt: true,
  permissions: { select: { permission: { select: { codename: true } } } },
} as const satisfies Prisma.RoleSelect;

function toRole(row: Prisma.RoleGetPayload<{ select: typeof SELECT }>): Role {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    permissions: row.permissions.map((p) => p.permission.codename).sort(),
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}

/** Roles (table `roles`), their permissions (`role_permissions`) and holders (`user_roles`). */
export function createRoleStore({ bus }: { bus: ChangeBus }): RoleStore {
  return {
    async findById(db, id) {
      const row = await db.role.findUnique({ where: { id }, select: SELECT });
      return row ? toRole(row) : null;
    },
    async findByName(db, name) {
      const row = await db.role.findUnique({ where: { name }, select: SELECT });
      return row ? toRole(row) : null;
    },
    async findMany(db, query) {
      const where: Prisma.RoleWhereInput = query.namePrefix ? { name: { startsWith: query.namePrefix } } : {};
      const [rows, count] = await Promise.all([
        db.role.findMany({ where, select: SELECT, orderBy: { name: 'asc' }, ...pageWindow(query) }),
        db.role.count({ where }),
      ]);
      return { items: rows.map(toRole), count };
    },
    async findByUser(db, userId) {
      const rows = await db.role.findMany({ where: { users: { some: { userId } } }, select: SELECT, orderBy: { name: 'asc' } });
      return rows.map(toRole);
    },
    async insert(tx, row) {
      const created = await tx.role.create({ data: row, select: SELECT });
      await bus.publish(tx, RoleChanged, { roleId: created.id });
      return toRole(created);
    },
    async update(tx, id, patch) {
      const row = await tx.role.update({ where: { id }, data: patch, select: SELECT });
      await bus.publish(tx, RoleChanged, { roleId: id });
      return toRole(row);
    },
    async delete(tx, id) {
      await tx.role.delete({ where: { id } });
      await bus.publish(tx, RoleChanged, { roleId: id });
    },
    async addPermissions(tx, roleId, permissionIds) {
      if (permissionIds.length === 0) return 0;
      const { count } = await tx.rolePermission.createMany({
        data: permissionIds.map((permissionId) => ({ roleId, permissionId })),
        skipDuplicates: true,
      });
      if (count) await bus.publish(tx, RoleChanged, { roleId });
      return count;
    },
    async removePermissions(tx, roleId, permissionIds) {
      if (permissionIds.length === 0) return 0;
      const { count } = await tx.rolePermission.deleteMany({ where: { roleId, permissionId: { in: [...permissionIds] } } });
      if (count) await bus.publish(tx, RoleChanged, { roleId });
      return count;
    },
    async addUser(tx, roleId, userId) {
      const { count } = await tx.userRole.createMany({ data: [{ roleId, userId }], skipDuplicates: true });
      if (count) await bus.publish(tx, RoleChanged, { roleId, userId });
      return count > 0;
    },
    async removeUser(tx, roleId, userId) {
      const { count } = await tx.userRole.deleteMany({ where: { roleId, userId } });
      if (count) await bus.publish(tx, RoleChanged, { roleId, userId });
      return count > 0;
    },
  };
}

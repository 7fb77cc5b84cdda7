import type { Executor } from '../../db/storage.ts';

/**
 * The read model of access control: one place that joins users, their roles, the roles'
 * permissions and their memberships. It only reads; the users, roles, permissions and
 * organizations stores own the writes to these tables (and announce them on the change bus).
 */

export interface AccessRow {
  userId: string;
  username: string;
  isActive: boolean;
  isSuperuser: boolean;
  /** when the user was last deactivated (null: never) */
  deactivatedAt: Date | null;
  roles: { id: string; name: string; codenames: string[] }[];
  organizations: { id: string; name: string; role: 'admin' | 'member' }[];
}

export interface AccessStore {
  /** a user with their roles (and each role's codenames) and memberships; null when absent */
  findAccess(db: Executor, userId: string): Promise<AccessRow | null>;
  /** every codename that exists (what a superuser holds) */
  findAllCodenames(db: Executor): Promise<string[]>;
  /** the codenames belonging to the API with this identifier (empty for an unknown API) */
  findApiCodenames(db: Executor, apiIdentifier: string): Promise<string[]>;
  /** the codenames granted to the application with this id (`applications.id`) */
  findApplicationCodenames(db: Executor, applicationId: string): Promise<string[]>;
}

export function createAccessStore(): AccessStore {
  return {
    async findAccess(db, userId) {
      const row = await db.user.findUnique({
        where: { id: userId },
        select: {
          id: true,
          username: true,
          isActive: true,
          isSuperuser: true,
          deactivatedAt: true,
          roles: {
            select: { role: { select: { id: true, name: true, permissions: { select: { permission: { select: { codename: true } } } } } } },
          },
          memberships: { select: { role: true, organization: { select: { id: true, name: true } } } },
        },
      });
      if (!row) return null;
      return {
        userId: row.id,
        username: row.username,
        isActive: row.isActive,
        isSuperuser: row.isSuperuser,
        deactivatedAt: row.deactivatedAt,
        roles: row.roles.map(({ role }) => ({
          id: role.id,
          name: role.name,
          codenames: role.permissions.map((p) => p.permission.codename),
        })),
        organizations: row.memberships.map((m) => ({ id: m.organization.id, name: m.organization.name, role: m.role })),
      };
    },
    async findAllCodenames(db) {
      const rows = await db.permission.findMany({ select: { codename: true } });
      return rows.map((r) => r.codename);
    },
    async findApiCodenames(db, apiIdentifier) {
      const rows = await db.permission.findMany({ where: { apiResource: { identifier: apiIdentifier } }, select: { codename: true } });
      return rows.map((r) => r.codename);
    },
    async findApplicationCodenames(db, applicationId) {
      const rows = await db.applicationPermission.findMany({
        where: { applicationId },
        select: { permission: { select: { codename: true } } },
      });
      return rows.map((r) => r.permission.codename);
    },
  };
}

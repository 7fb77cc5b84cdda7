import { ConflictError, type Executor, NotFoundError, type Storage } from '../../db/storage.ts';
import { assertThat } from '../../lib/assert-that.ts';
import { newId } from '../../lib/ids.ts';
import type { Page } from '../../lib/pagination.ts';
import { missingPermissions, type Principal } from '../access/principal.ts';
import type { AuditService } from '../audit/audit.service.ts';
import type { PermissionService } from '../permissions/permission.service.ts';
import type { UserService } from '../users/user.service.ts';
import { roleError } from './role.errors.ts';
import type { CreateRole, ListRoles, Role, UpdateRole } from './role.schema.ts';
import type { RoleStore } from './role.store.ts';

export interface RoleServiceDeps {
  storage: Storage;
  store: RoleStore;
  audit: AuditService;
  permissions: PermissionService;
  users: UserService;
}

/**
 * Roles: named bundles of permissions that users hold globally.
 *
 * **No self-escalation.** A principal that is not a superuser may touch a role (rename, delete,
 * edit its permissions, grant it to or withdraw it from a user) only if it holds every permission
 * of the role, and may add to a role only permissions it holds. So nobody can hand anyone,
 * themselves included, a permission they lack.
 */
export function createRoleService({ storage, store, audit, permissions, users }: RoleServiceDeps) {
  async function get(id: string): Promise<Role> {
    const role = await store.findById(storage.db, id);
    assertThat(role, roleError('not_found', { id }));
    return role;
  }

  /** Refuses unless `principal` holds every one of `codenames`. */
  function requireHolding(principal: Principal, codenames: Iterable<string>): void {
    const missing = missingPermissions(principal, codenames);
    assertThat(missing.length === 0, roleError('escalation', { codenames: missing }));
  }

  /** Runs a write, mapping storage errors to the role's. */
  async function write<T>(id: string | undefined, fn: (tx: Executor) => Promise<T>): Promise<T> {
    try {
      return await storage.transaction(fn);
    } catch (err) {
      if (err instanceof ConflictError) throw roleError('name_taken');
      if (err instanceof NotFoundError) throw roleError('not_found', { id });
      throw err;
    }
  }

  async function changePermissions(principal: Principal, id: string, add: readonly string[], remove: readonly string[]): Promise<Role> {
    const role = await get(id);
    const adding = add.length ? await permissions.resolve(add) : [];
    const removing = remove.length ? await permissions.resolve(remove) : [];
    requireHolding(principal, [...role.permissions, ...adding.map((p) => p.codename), ...removing.map((p) => p.codename)]);
    const current = new Set(role.permissions);
    const added = adding.filter((p) => !current.has(p.codename));
    const removed = removing.filter((p) => current.has(p.codename));
    if (added.length === 0 && removed.length === 0) return role;
    return write(id, async (tx) => {
      await store.addPermissions(
        tx,
        id,
        added.map((p) => p.id),
      );
      await store.removePermissions(
        tx,
        id,
        removed.map((p) => p.id),
      );
      await audit.record(tx, {
        actor: principal.actor,
        action: 'role.permissions_changed',
        targetType: 'role',
        targetId: id,
        details: { added: added.map((p) => p.codename), removed: removed.map((p) => p.codename) },
      });
      return (await store.findById(tx, id)) as Role;
    });
  }

  return {
    /** Creates a role, optionally with permissions (each of which the principal must hold). */
    async create(principal: Principal, input: CreateRole): Promise<Role> {
      const granted = input.permissions?.length ? await permissions.resolve(input.permissions) : [];
      requireHolding(
        principal,
        granted.map((p) => p.codename),
      );
      return write(undefined, async (tx) => {
        const role = await store.insert(tx, { id: newId('role'), name: input.name, description: input.description ?? '' });
        await store.addPermissions(
          tx,
          role.id,
          granted.map((p) => p.id),
        );
        await audit.record(tx, {
          actor: principal.actor,
          action: 'role.created',
          targetType: 'role',
          targetId: role.id,
          details: { name: role.name, permissions: granted.map((p) => p.codename) },
        });
        return (await store.findById(tx, role.id)) as Role;
      });
    },

    /** The role with this id; `role.not_found` otherwise. */
    get,

    /** The role with this name, or null. */
    async findByName(name: string): Promise<Role | null> {
      return store.findByName(storage.db, name);
    },

    /** One page of roles by name, optionally filtered by name prefix. */
    async list(query: ListRoles): Promise<Page<Role>> {
      const { items, count } = await store.findMany(storage.db, query);
      return { items, count, page: query.page, pageSize: query.pageSize };
    },

    /** The roles a user holds (`users/{id}/roles`). */
    async listForUser(userId: string): Promise<Role[]> {
      await users.get(userId);
      return store.findByUser(storage.db, userId);
    },

    /** Renames a role or changes its description. */
    async update(principal: Principal, id: string, patch: UpdateRole): Promise<Role> {
      const role = await get(id);
      requireHolding(principal, role.permissions);
      return write(id, async (tx) => {
        const updated = await store.update(tx, id, patch);
        await audit.record(tx, {
          actor: principal.actor,
          action: 'role.updated',
          targetType: 'role',
          targetId: id,
          details: { ...(patch.name === undefined ? {} : { name: { from: role.name, to: patch.name } }) },
        });
        return updated;
      });
    },

    /** Deletes a role: its holders lose its permissions. */
    async delete(principal: Principal, id: string): Promise<void> {
      const role = await get(id);
      requireHolding(principal, role.permissions);
      await write(id, async (tx) => {
        await store.delete(tx, id);
        await audit.record(tx, {
          actor: principal.actor,
          action: 'role.deleted',
          targetType: 'role',
          targetId: id,
          details: { name: role.name },
        });
      });
    },

    /** Adds permissions (by codename) to a role. */
    async addPermissions(principal: Principal, id: string, codenames: readonly string[]): Promise<Role> {
      return changePermissions(principal, id, codenames, []);
    },

    /** Removes permissions (by codename) from a role. */
    async removePermissions(principal: Principal, id: string, codenames: readonly string[]): Promise<Role> {
      return changePermissions(principal, id, [], codenames);
    },

    /** Replaces a role's permissions with `codenames`. */
    async setPermissions(principal: Principal, id: string, codenames: readonly string[]): Promise<Role> {
      const role = await get(id);
      const wanted = new Set(codenames);
      return changePermissions(
        principal,
        id,
        [...wanted],
        role.permissions.filter((c) => !wanted.has(c)),
      );
    },

    /** Grants a role to a user. Idempotent. */
    async assign(principal: Principal, roleId: string, userId: string): Promise<void> {
      const role = await get(roleId);
      requireHolding(principal, role.permissions);
      const user = await users.get(userId);
      await write(roleId, async (tx) => {
        if (!(await store.addUser(tx, roleId, userId))) return;
        await audit.record(tx, {
          actor: principal.actor,
          action: 'role.assigned',
          targetType: 'user',
          targetId: userId,
          details: { role: role.name, roleId, username: user.username },
        });
      });
    },

    /** Withdraws a role from a user. Idempotent. */
    async unassign(principal: Principal, roleId: string, userId: string): Promise<void> {
      const role = await get(roleId);
      requireHolding(principal, role.permissions);
      const user = await users.get(userId);
      await write(roleId, async (tx) => {
        if (!(await store.removeUser(tx, roleId, userId))) return;
        await audit.record(tx, {
          actor: principal.actor,
          action: 'role.unassigned',
          targetType: 'user',
          targetId: userId,
          details: { role: role.name, roleId, username: user.username },
        });
      });
    },
  };
}

export type RoleService = ReturnType<typeof createRoleService>;

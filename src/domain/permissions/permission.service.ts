import { ConflictError, NotFoundError, type Storage } from '../../db/storage.ts';
import { assertThat } from '../../lib/assert-that.ts';
import { newId } from '../../lib/ids.ts';
import type { Page } from '../../lib/pagination.ts';
import { missingPermissions, type Principal } from '../access/principal.ts';
import type { AuditService } from '../audit/audit.service.ts';
import { BUILT_IN_CODENAMES, BUILT_IN_PERMISSIONS, defaultPermissionName } from './codename.ts';
import { permissionError } from './permission.errors.ts';
import type { CodenameList, CreatePermission, ListPermissions, Permission } from './permission.schema.ts';
import type { PermissionStore } from './permission.store.ts';

export interface PermissionServiceDeps {
  storage: Storage;
  store: PermissionStore;
  audit: AuditService;
}

/**
 * Permission codenames: Gatehouse's own (built-in, ensured at start-up) and those of the APIs it
 * protects, plus the permissions granted to applications themselves (client-credentials tokens).
 */
export function createPermissionService({ storage, store, audit }: PermissionServiceDeps) {
  /** The permissions named by `codenames`, all of them, or `permission.unknown_codenames`. */
  async function resolve(codenames: readonly string[]): Promise<Permission[]> {
    const wanted = [...new Set(codenames)];
    const found = await store.findByCodenames(storage.db, wanted);
    const known = new Set(found.map((p) => p.codename));
    const unknown = wanted.filter((c) => !known.has(c));
    assertThat(unknown.length === 0, permissionError('unknown_codenames', { codenames: unknown }));
    return found;
  }

  async function get(id: string): Promise<Permission> {
    const permission = await store.findById(storage.db, id);
    assertThat(permission, permissionError('not_found', { id }));
    return permission;
  }

  return {
    /**
     * Creates Gatehouse's own admin codenames that are missing, and marks them built-in.
     * Idempotent, and only reads when nothing is missing; run at every start.
     * @returns the codenames it created
     */
    async ensureBuiltIn(): Promise<{ created: string[] }> {
      const existing = await store.findByCodenames(storage.db, [...BUILT_IN_CODENAMES]);
      if (existing.length === BUILT_IN_CODENAMES.size && existing.every((p) => p.isBuiltIn)) return { created: [] };
      const have = new Set(existing.map((p) => p.codename));
      const missing = BUILT_IN_PERMISSIONS.filter((p) => !have.has(p.codename));
      await storage.transaction(async (tx) => {
        await store.insertMissing(
          tx,
          missing.map((p) => ({ id: newId('perm'), codename: p.codename, name: p.name, apiIdentifier: null, isBuiltIn: true })),
        );
        // A codename created by hand before it became built-in (an upgrade) is adopted.
        await store.markBuiltIn(tx, [...BUILT_IN_CODENAMES]);
        if (missing.length) {
          await audit.record(tx, {
            actor: 'system',
            action: 'permission.built_in_ensured',
            targetType: 'permission',
            details: { created: missing.map((p) => p.codename) },
          });
        }
      });
      return { created: missing.map((p) => p.codename) };
    },

    /**
     * Creates the permissions of `codenames` that do not exist yet, as global permissions with
     * default names (AUTH_TOKENS declarations).
     * @returns the codenames it created
     */
    async ensure(principal: Principal, codenames: CodenameList): Promise<{ created: string[] }> {
      const wanted = [...new Set(codenames)];
      const have = new Set((await store.findByCodenames(storage.db, wanted)).map((p) => p.codename));
      const missing = wanted.filter((c) => !have.has(c));
      if (missing.length === 0) return { created: [] };
      await storage.transaction(async (tx) => {
        await store.insertMissing(
          tx,
          missing.map((codename) => ({
            id: newId('perm'),
            codename,
            name: defaultPermissionName(codename),
            apiIdentifier: null,
            isBuiltIn: false,
          })),
        );
        for (const codename of missing)
          await audit.record(tx, { actor: principal.actor, action: 'permission.created', targetType: 'permission', details: { codename } });
      });
      return { created: missing };
    },

    /** Creates a permission, optionally belonging to an API (by identifier). */
    async create(principal: Principal, input: CreatePermission): Promise<Permission> {
      try {
        return await storage.transaction(async (tx) => {
          const permission = await store.insert(tx, {
            id: newId('perm'),
            codename: input.codename,
            name: input.name ?? defaultPermissionName(input.codename),
            apiIdentifier: input.api ?? null,
            isBuiltIn: false,
          });
          await audit.record(tx, {
            actor: principal.actor,
            action: 'permission.created',
            targetType: 'permission',
            targetId: permission.id,
            details: { codename: permission.codename, api: permission.api },
          });
          return permission;
        });
      } catch (err) {
        if (err instanceof ConflictError) throw permissionError('codename_taken', { codename: input.codename });
        if (err instanceof NotFoundError) throw permissionError('unknown_api', { api: input.api });
        throw err;
      }
    },

    /** The permission with this id; `permission.not_found` otherwise. */
    get,

    /** The permission with this codename, or null. */
    async findByCodename(codename: string): Promise<Permission | null> {
      return store.findByCodename(storage.db, codename);
    },

    /** The permissions named by `codenames`; `permission.unknown_codenames` lists any that do not exist. */
    resolve,

    /** One page of permissions (by codename), filtered by API, codename prefix and built-in flag. */
    async list(query: ListPermissions): Promise<Page<Permission>> {
      const { items, count } = await store.findMany(storage.db, query);
      return { items, count, page: query.page, pageSize: query.pageSize };
    },

    /**
     * Deletes a permission: roles and applications lose it. Built-in ones stay; a non-superuser may
     * delete only a permission they hold (taking it from others is withdrawing what they lack).
     */
    async delete(principal: Principal, id: string): Promise<void> {
      const permission = await get(id);
      assertThat(!permission.isBuiltIn, permissionError('built_in', { codename: permission.codename }));
      const missing = missingPermissions(principal, [permission.codename]);
      assertThat(missing.length === 0, permissionError('escalation', { codenames: missing }));
      try {
        await storage.transaction(async (tx) => {
          await store.delete(tx, id);
          await audit.record(tx, {
            actor: principal.actor,
            action: 'permission.deleted',
            targetType: 'permission',
            targetId: id,
            details: { codename: permission.codename },
          });
        });
      } catch (err) {
        if (err instanceof NotFoundError) throw permissionError('not_found', { id });
        throw err;
      }
    },

    /** The permissions granted to an application itself (by `applications.id`). */
    async listApplicationPermissions(applicationId: string): Promise<Permission[]> {
      return store.findApplicationPermissions(storage.db, applicationId);
    },

    /**
     * Replaces the permissions granted to an application itself (what its client-credentials
     * tokens carry). A non-superuser may add or withdraw only permissions they hold.
     */
    async setApplicationPermissions(principal: Principal, applicationId: string, codenames: CodenameList): Promise<Permission[]> {
      assertThat(await store.applicationExists(storage.db, applicationId), permissionError('application_not_found', { id: applicationId }));
      const wanted = await resolve(codenames);
      const current = await store.findApplicationPermissions(storage.db, applicationId);
      const wantedSet = new Set(wanted.map((p) => p.codename));
      const currentSet = new Set(current.map((p) => p.codename));
      const added = [...wantedSet].filter((c) => !currentSet.has(c));
      const removed = [...currentSet].filter((c) => !wantedSet.has(c));
      const missing = missingPermissions(principal, [...added, ...removed]);
      assertThat(missing.length === 0, permissionError('escalation', { codenames: missing }));
      if (added.length === 0 && removed.length === 0) return current;
      await storage.transaction(async (tx) => {
        await store.replaceApplicationPermissions(
          tx,
          applicationId,
          wanted.map((p) => p.id),
        );
        await audit.record(tx, {
          actor: principal.actor,
          action: 'application.permissions_changed',
          targetType: 'application',
          targetId: applicationId,
          details: { added, removed },
        });
      });
      return wanted;
    },
  };
}

export type PermissionService = ReturnType<typeof createPermissionService>;

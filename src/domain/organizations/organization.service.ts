import { ConflictError, type Executor, NotFoundError, type Storage } from '../../db/storage.ts';
import { assertThat } from '../../lib/assert-that.ts';
import { newId } from '../../lib/ids.ts';
import type { Page } from '../../lib/pagination.ts';
import type { AccessService } from '../access/access.service.ts';
import { canActOnUser, type Principal } from '../access/principal.ts';
import type { AuditService } from '../audit/audit.service.ts';
import type { UserService } from '../users/user.service.ts';
import { organizationError } from './organization.errors.ts';
import type {
  CreateOrganization,
  ListMembers,
  ListOrganizations,
  Membership,
  MembershipRole,
  Organization,
  UpdateOrganization,
  UserOrganization,
} from './organization.schema.ts';
import type { OrganizationStore } from './organization.store.ts';

export interface OrganizationServiceDeps {
  storage: Storage;
  store: OrganizationStore;
  audit: AuditService;
  users: UserService;
  access: AccessService;
}

/**
 * Organisations and their members (`admin` or `member`).
 *
 * Who may do what (the no-escalation rule for memberships):
 * - Superusers do anything. Anyone else manages an organisation (rename, delete, add, change or
 *   remove members) only as one of its admins; an outsider is told it does not exist.
 * - An admin may add a user, or make a member admin, only if it holds every permission that user
 *   holds and the user is not a superuser (principal.ts `canActOnUser`): admins manage their
 *   members' applications, so bringing someone more powerful under them would be a way up.
 * - Anyone may leave an organisation; an organisation keeps at least one admin.
 * - Whoever creates an organisation (a user, not the operator or the system) becomes its admin.
 * Being an admin of one organisation gives nothing in another.
 */
export function createOrganizationService({ storage, store, audit, users, access }: OrganizationServiceDeps) {
  async function get(id: string): Promise<Organization> {
    const organization = await store.findById(storage.db, id);
    assertThat(organization, organizationError('not_found', { id }));
    return organization;
  }

  /** The organisation, if `principal` administers it (or is a superuser). */
  async function administered(principal: Principal, id: string): Promise<Organization> {
    const organization = await get(id);
    if (principal.isSuperuser) return organization;
    const own = principal.userId ? await store.findMembership(storage.db, id, principal.userId) : null;
    assertThat(own, organizationError('not_found', { id }));
    assertThat(own.role === 'admin', organizationError('not_admin'));
    return organization;
  }

  /** Refuses to bring `userId` under the admins of an organisation unless `principal` may act on them. */
  async function requireActingOn(principal: Principal, userId: string): Promise<void> {
    await users.get(userId);
    const held = await access.grantedPermissions(userId);
    assertThat(held && canActOnUser(principal, held), organizationError('escalation'));
  }

  /**
   * Refuses a change that took the last admin away (run inside the locked transaction, after the
   * write). An organisation made by the operator may have no admin yet: only losing one counts.
   */
  async function keepAnAdmin(tx: Executor, id: string): Promise<void> {
    assertThat((await store.countAdmins(tx, id)) > 0, organizationError('last_admin'));
  }

  /** Runs a membership write; a duplicate membership and a missing one get their own errors. */
  async function writeMembership<T>(fn: (tx: Executor) => Promise<T>): Promise<T> {
    try {
      return await storage.transaction(fn);
    } catch (err) {
      if (err instanceof ConflictError) throw organizationError('already_member');
      if (err instanceof NotFoundError) throw organizationError('not_member');
      throw err;
    }
  }

  return {
    /** Creates an organisation; a user principal becomes its first admin. */
    async create(principal: Principal, input: CreateOrganization): Promise<Organization> {
      try {
        return await storage.transaction(async (tx) => {
          const organization = await store.insert(tx, { id: newId('org'), name: input.name });
          if (principal.userId)
            await store.insertMembership(tx, { organizationId: organization.id, userId: principal.userId, role: 'admin' });
          await audit.record(tx, {
            actor: principal.actor,
            action: 'organization.created',
            targetType: 'organization',
            targetId: organization.id,
            details: { name: organization.name },
          });
          return organization;
        });
      } catch (err) {
        throw err instanceof ConflictError ? organizationError('name_taken') : err;
      }
    },

    /** The organisation with this id; `organization.not_found` otherwise. */
    get,

    /** The organisation with this id, or null. */
    async find(id: string): Promise<Organization | null> {
      return store.findById(storage.db, id);
    },

    /** One page of organisations by name, optionally filtered by name prefix. */
    async list(query: ListOrganizations): Promise<Page<Organization>> {
      const { items, count } = await store.findMany(storage.db, query);
      return { items, count, page: query.page, pageSize: query.pageSize };
    },

    /** A user's organisations with their role in each, by name. */
    async listForUser(userId: string): Promise<UserOrganization[]> {
      return store.findByUser(storage.db, userId);
    },

    /** One page of an organisation's members, by username. */
    async listMembers(id: string, query: ListMembers): Promise<Page<Membership>> {
      await get(id);
      const { items, count } = await store.findMembers(storage.db, id, query);
      return { items, count, page: query.page, pageSize: query.pageSize };
    },

    /** The membership of `userId` in the organisation, or null. */
    async findMembership(id: string, userId: string): Promise<Membership | null> {
      return store.findMembership(storage.db, id, userId);
    },

    /** Renames an organisation (superusers and its admins). */
    async rename(principal: Principal, id: string, input: UpdateOrganization): Promise<Organization> {
      const before = await administered(principal, id);
      try {
        return await storage.transaction(async (tx) => {
          const organization = await store.update(tx, id, { name: input.name });
          await audit.record(tx, {
            actor: principal.actor,
            action: 'organization.renamed',
            targetType: 'organization',
            targetId: id,
            details: { from: before.name, to: organization.name },
          });
          return organization;
        });
      } catch (err) {
        if (err instanceof ConflictError) throw organizationError('name_taken');
        if (err instanceof NotFoundError) throw organizationError('not_found', { id });
        throw err;
      }
    },

    /** Deletes an organisation (superusers and its admins); its applications stay, without one. */
    async delete(principal: Principal, id: string): Promise<void> {
      const organization = await administered(principal, id);
      try {
        await storage.transaction(async (tx) => {
          await store.delete(tx, id);
          await audit.record(tx, {
            actor: principal.actor,
            action: 'organization.deleted',
            targetType: 'organization',
            targetId: id,
            details: { name: organization.name },
          });
        });
      } catch (err) {
        if (err instanceof NotFoundError) throw organizationError('not_found', { id });
        throw err;
      }
    },

    /** Adds a user to an organisation with a role (default `member`). */
    async addMember(principal: Principal, id: string, userId: string, role: MembershipRole = 'member'): Promise<Membership> {
      await administered(principal, id);
      await requireActingOn(principal, userId);
      return writeMembership(async (tx) => {
        assertThat(await store.lock(tx, id), organizationError('not_found', { id }));
        const membership = await store.insertMembership(tx, { organizationId: id, userId, role });
        await audit.record(tx, {
          actor: principal.actor,
          action: 'organization.member_added',
          targetType: 'organization',
          targetId: id,
          details: { userId, username: membership.username, role },
        });
        return membership;
      });
    },

    /** Changes a member's role. */
    async updateMember(principal: Principal, id: string, userId: string, role: MembershipRole): Promise<Membership> {
      await administered(principal, id);
      if (role === 'admin') await requireActingOn(principal, userId);
      return writeMembership(async (tx) => {
        assertThat(await store.lock(tx, id), organizationError('not_found', { id }));
        const before = await store.findMembership(tx, id, userId);
        assertThat(before, organizationError('not_member'));
        if (before.role === role) return before;
        const membership = await store.updateMembership(tx, id, userId, role);
        if (before.role === 'admin') await keepAnAdmin(tx, id);
        await audit.record(tx, {
          actor: principal.actor,
          action: 'organization.member_changed',
          targetType: 'organization',
          targetId: id,
          details: { userId, username: membership.username, from: before.role, to: role },
        });
        return membership;
      });
    },

    /** Removes a member (admins and superusers; anyone may remove themselves: leave). */
    async removeMember(principal: Principal, id: string, userId: string): Promise<void> {
      if (principal.userId !== userId) await administered(principal, id);
      else await get(id);
      await writeMembership(async (tx) => {
        assertThat(await store.lock(tx, id), organizationError('not_found', { id }));
        const before = await store.findMembership(tx, id, userId);
        assertThat(before, organizationError('not_member'));
        await store.deleteMembership(tx, id, userId);
        if (before.role === 'admin') await keepAnAdmin(tx, id);
        await audit.record(tx, {
          actor: principal.actor,
          action: 'organization.member_removed',
          targetType: 'organization',
          targetId: id,
          details: { userId, username: before.username, role: before.role },
        });
      });
    },
  };
}

export type OrganizationService = ReturnType<typeof createOrganizationService>;

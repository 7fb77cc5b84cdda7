import type { ChangeBus } from '../../db/change-bus.ts';
import type { Prisma } from '../../db/generated/client.ts';
import type { Executor } from '../../db/storage.ts';
import { pageWindow } from '../../lib/pagination.ts';
import { MembershipChanged, OrganizationChanged } from './organization.changes.ts';
import type { ListMembers, ListOrganizations, Membership, MembershipRole, Organization, UserOrganization } from './organization.schema.ts';

export interface OrganizationStore {
  findById(db: Executor, id: string): Promise<Organization | null>;
  findByName(db: Executor, name: string): Promise<Organization | null>;
  findMany(db: Executor, query: ListOrganizations): Promise<{ items: Organization[]; count: number }>;
  /** ConflictError on a taken name */
  insert(tx: Executor, row: { id: string; name: string }): Promise<Organization>;
  /** NotFoundError when absent, ConflictError on a taken name */
  update(tx: Executor, id: string, patch: { name: string }): Promise<Organization>;
  /** NotFoundError when absent; memberships go with it, its applications stay (organization unset) */
  delete(tx: Executor, id: string): Promise<void>;
  findMembership(db: Executor, organizationId: string, userId: string): Promise<Membership | null>;
  findMembers(db: Executor, organizationId: string, query: ListMembers): Promise<{ items: Membership[]; count: number }>;
  countAdmins(db: Executor, organizationId: string): Promise<number>;
  /**
   * Locks the organisation's row until the transaction ends, so membership edits of one
   * organisation run one after the other (the last-admin rule reads, then writes). False: absent.
   */
  lock(tx: Executor, organizationId: string): Promise<boolean>;
  /** a user's organisations, by name */
  findByUser(db: Executor, userId: string): Promise<UserOrganization[]>;
  /** ConflictError when already a member */
  insertMembership(tx: Executor, row: { organizationId: string; userId: string; role: MembershipRole }): Promise<Membership>;
  /** NotFoundError when not a member */
  updateMembership(tx: Executor, organizationId: string, userId: string, role: MembershipRole): Promise<Membership>;
  /** NotFoundError when not a member */
  deleteMembership(tx: Executor, organizationId: string, userId: string): Promise<void>;
}

const MEMBERSHIP = {
  organizationId: true,
  userId: true,
  role: true,
  createdAt: true,
  user: { select: { username: true } },
} as const satisfies Prisma.OrganizationMembershipSelect;

function toMembership(row: Prisma.OrganizationMembershipGetPayload<{ select: typeof MEMBERSHIP }>): Membership {
  return { organizationId: row.organizationId, userId: row.userId, username: row.user.username, role: row.role, createdAt: row.createdAt };
}

const ORGANIZATION = { id: true, name: true, createdAt: true, updatedAt: true } as const satisfies Prisma.OrganizationSelect;

/** Organisations (table `organizations`) and their memberships (`organization_memberships`). */
export function createOrganizationStore({ bus }: { bus: ChangeBus }): OrganizationStore {
  return {
    findById: (db, id) => db.organization.findUnique({ where: { id }, select: ORGANIZATION }),
    findByName: (db, name) => db.organization.findUnique({ where: { name }, select: ORGANIZATION }),
    async findMany(db, query) {
      const where: Prisma.OrganizationWhereInput = query.namePrefix ? { name: { startsWith: query.namePrefix } } : {};
      const [items, count] = await Promise.all([
        db.organization.findMany({ where, select: ORGANIZATION, orderBy: { name: 'asc' }, ...pageWindow(query) }),
        db.organization.count({ where }),
      ]);
      return { items, count };
    },
    async insert(tx, row) {
      return tx.organization.create({ data: row, select: ORGANIZATION });
    },
    async update(tx, id, patch) {
      const row = await tx.organization.update({ where: { id }, data: patch, select: ORGANIZATION });
      await bus.publish(tx, OrganizationChanged, { organizationId: id });
      return row;
    },
    async delete(tx, id) {
      await tx.organization.delete({ where: { id } });
      await bus.publish(tx, OrganizationChanged, { organizationId: id });
    },
    async findMembership(db, organizationId, userId) {
      const row = await db.organizationMembership.findUnique({
        where: { organizationId_userId: { organizationId, userId } },
        select: MEMBERSHIP,
      });
      return row ? toMembership(row) : null;
    },
    async findMembers(db, organizationId, query) {
      const where: Prisma.OrganizationMembershipWhereInput = { organizationId, ...(query.role ? { role: query.role } : {}) };
      const [rows, count] = await Promise.all([
        db.organizationMembership.findMany({ where, select: MEMBERSHIP, orderBy: { user: { username: 'asc' } }, ...pageWindow(query) }),
        db.organizationMembership.count({ where }),
      ]);
      return { items: rows.map(toMembership), count };
    },
    countAdmins: (db, organizationId) => db.organizationMembership.count({ where: { organizationId, role: 'admin' } }),
    async lock(tx, organizationId) {
      const rows = await tx.$queryRaw<unknown[]>`SELECT 1 FROM organizations WHERE id = ${organizationId} FOR UPDATE`;
      return rows.length > 0;
    },
    async findByUser(db, userId) {
      const rows = await db.organizationMembership.findMany({
        where: { userId },
        select: { role: true, organization: { select: { id: true, name: true } } },
        orderBy: { organization: { name: 'asc' } },
      });
      return rows.map((r) => ({ id: r.organization.id, name: r.organization.name, role: r.role }));
    },
    async insertMembership(tx, row) {
      const created = await tx.organizationMembership.create({ data: row, select: MEMBERSHIP });
      await bus.publish(tx, MembershipChanged, { organizationId: row.organizationId, userId: row.userId });
      return toMembership(created);
    },
    async updateMembership(tx, organizationId, userId, role) {
      const row = await tx.organizationMembership.update({
        where: { organizationId_userId: { organizationId, userId } },
        data: { role },
        select: MEMBERSHIP,
      });
      await bus.publish(tx, MembershipChanged, { organizationId, userId });
      return toMembership(row);
    },
    async deleteMembership(tx, organizationId, userId) {
      await tx.organizationMembership.delete({ where: { organizationId_userId: { organizationId, userId } } });
      await bus.publish(tx, MembershipChanged, { organizationId, userId });
    },
  };
}

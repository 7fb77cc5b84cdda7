import type { ChangeBus } from '../../db/change-bus.ts';
import type { Prisma, User as UserRow } from '../../db/generated/client.ts';
import type { Executor } from '../../db/storage.ts';
import { pageWindow } from '../../lib/pagination.ts';
import { UserChanged } from './user.changes.ts';
import type { ListUsers, User } from './user.schema.ts';

export interface NewUserRow {
  id: string;
  username: string;
  email: string | null;
  passwordHash: string | null;
  isActive: boolean;
  isSuperuser: boolean;
}

export interface UserPatch {
  email?: string | null;
  passwordHash?: string | null;
  isActive?: boolean;
  isSuperuser?: boolean;
  lastLoginAt?: Date;
  deactivatedAt?: Date;
}

export interface UserStore {
  findById(db: Executor, id: string): Promise<User | null>;
  findByUsername(db: Executor, username: string): Promise<User | null>;
  /** the user and their password hash, for sign-in only */
  findCredentials(db: Executor, username: string): Promise<{ user: User; passwordHash: string | null } | null>;
  findMany(db: Executor, query: ListUsers): Promise<{ items: User[]; count: number }>;
  insert(tx: Executor, row: NewUserRow): Promise<User>;
  /** NotFoundError when absent */
  update(tx: Executor, id: string, patch: UserPatch): Promise<User>;
  /** NotFoundError when absent; roles, memberships and tokens go with the user (ON DELETE CASCADE) */
  delete(tx: Executor, id: string): Promise<void>;
}

function toUser(row: UserRow): User {
  return {
    id: row.id,
    username: row.username,
    email: row.email,
    isActive: row.isActive,
    isSuperuser: row.isSuperuser,
    hasPassword: row.passwordHash !== null,
    lastLoginAt: row.lastLoginAt,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}

const ORDER: Record<NonNullable<ListUsers['orderBy']>, Prisma.UserOrderByWithRelationInput[]> = {
  username: [{ username: 'asc' }],
  '-username': [{ username: 'desc' }],
  // id breaks ties, so pages never repeat or skip a row created in the same millisecond
  createdAt: [{ createdAt: 'asc' }, { id: 'asc' }],
  '-createdAt': [{ createdAt: 'desc' }, { id: 'desc' }],
};

/** Users (table `users`). Publishes UserChanged with every write, inside its transaction. */
export function createUserStore({ bus }: { bus: ChangeBus }): UserStore {
  return {
    async findById(db, id) {
      const row = await db.user.findUnique({ where: { id } });
      return row ? toUser(row) : null;
    },
    async findByUsername(db, username) {
      const row = await db.user.findUnique({ where: { username } });
      return row ? toUser(row) : null;
    },
    async findCredentials(db, username) {
      const row = await db.user.findUnique({ where: { username } });
      return row ? { user: toUser(row), passwordHash: row.passwordHash } : null;
    },
    async findMany(db, query) {
      const where: Prisma.UserWhereInput = {
        ...(query.usernamePrefix ? { username: { startsWith: query.usernamePrefix } } : {}),
        ...(query.isActive === undefined ? {} : { isActive: query.isActive }),
      };
      const [rows, count] = await Promise.all([
        db.user.findMany({ where, orderBy: ORDER[query.orderBy ?? 'username'], ...pageWindow(query) }),
        db.user.count({ where }),
      ]);
      return { items: rows.map(toUser), count };
    },
    async insert(tx, row) {
      const created = await tx.user.create({ data: row });
      await bus.publish(tx, UserChanged, { userId: created.id });
      return toUser(created);
    },
    async update(tx, id, patch) {
      const row = await tx.user.update({ where: { id }, data: patch });
      await bus.publish(tx, UserChanged, { userId: id });
      return toUser(row);
    },
    async delete(tx, id) {
      await tx.user.delete({ where: { id } });
      await bus.publish(tx, UserChanged, { userId: id });
    },
  };
}

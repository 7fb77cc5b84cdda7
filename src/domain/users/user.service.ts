import type { Logger } from 'pino';
import { ConflictError, type Executor, NotFoundError, type Storage } from '../../db/storage.ts';
import { assertThat } from '../../lib/assert-that.ts';
import type { Clock } from '../../lib/clock.ts';
import { newId } from '../../lib/ids.ts';
import type { Page } from '../../lib/pagination.ts';
import type { PasswordHasher } from '../../lib/passwords.ts';
import type { AccessService } from '../access/access.service.ts';
import { canActOnUser, type Principal } from '../access/principal.ts';
import type { AuditService } from '../audit/audit.service.ts';
import { userError } from './user.errors.ts';
import type { CreateUser, ListUsers, Password, UpdateUser, User } from './user.schema.ts';
import type { UserStore } from './user.store.ts';

export interface UserServiceDeps {
  storage: Storage;
  store: UserStore;
  audit: AuditService;
  access: AccessService;
  passwords: PasswordHasher;
  clock: Clock;
  log?: Logger;
  /**
   * Runs inside the transaction that creates a user, after the insert: the composition root gives
   * new users their default application here (DEFAULT_APPLICATION_FOR_NEW_USERS).
   */
  onCreated?: (tx: Executor, user: User, principal: Principal) => Promise<void>;
}

/** Maps a unique violation on users to the field the caller got wrong. */
function conflict(err: unknown): unknown {
  if (!(err instanceof ConflictError)) return err;
  if (err.concerns('email') && !err.concerns('username')) return userError('email_taken');
  return userError('username_taken');
}

/**
 * People: accounts, passwords (argon2id) and the active flag. Every mutation takes the acting
 * principal, refuses to touch a user who holds more than the principal (principal.ts
 * `canActOnUser`), and writes its audit record in the same transaction.
 */
export function createUserService({ storage, store, audit, access, passwords, clock, log, onCreated }: UserServiceDeps) {
  async function get(id: string): Promise<User> {
    const user = await store.findById(storage.db, id);
    assertThat(user, userError('not_found', { id }));
    return user;
  }

  /** The user `id`, if `principal` may act on them; not_found / escalation otherwise. */
  async function target(principal: Principal, id: string): Promise<User> {
    const user = await get(id);
    // What they would hold if active: reactivating a deactivated administrator (or setting their
    // password) must take as much as acting on an active one.
    const held = await access.grantedPermissions(id);
    assertThat(
      canActOnUser(principal, { isSuperuser: user.isSuperuser, permissions: held?.permissions ?? new Set() }),
      userError('escalation'),
    );
    return user;
  }

  async function mutate(principal: Principal, id: string, action: string, patch: Parameters<UserStore['update']>[2], details = {}) {
    // Deactivating is a cut-off: what the user's sign-ins made before it (sessions, refresh and
    // access tokens) stays dead if they are activated again (access.service.ts `isSignInCurrent`).
    const write = patch.isActive === false ? { ...patch, deactivatedAt: clock.now() } : patch;
    try {
      return await storage.transaction(async (tx) => {
        const user = await store.update(tx, id, write);
        await audit.record(tx, { actor: principal.actor, action, targetType: 'user', targetId: id, details });
        return user;
      });
    } catch (err) {
      if (err instanceof NotFoundError) throw userError('not_found', { id });
      throw conflict(err);
    }
  }

  return {
    /**
     * Creates a user. The password, when given, is hashed with argon2id (never stored or logged).
     * @remarks Only a superuser principal may create a superuser.
     */
    async create(principal: Principal, input: CreateUser): Promise<User> {
      assertThat(!input.isSuperuser || principal.isSuperuser, userError('superuser_required'));
      const passwordHash = input.password === undefined ? null : await passwords.hash(input.password);
      try {
        return await storage.transaction(async (tx) => {
          const user = await store.insert(tx, {
            id: newId('usr'),
            username: input.username,
            email: input.email ?? null,
            passwordHash,
            isActive: input.isActive ?? true,
            isSuperuser: input.isSuperuser ?? false,
          });
          await audit.record(tx, {
            actor: principal.actor,
            action: 'user.created',
            targetType: 'user',
            targetId: user.id,
            details: { username: user.username, isSuperuser: user.isSuperuser },
          });
          await onCreated?.(tx, user, principal);
          return user;
        });
      } catch (err) {
        throw conflict(err);
      }
    },

    /** The user with this id, or null. */
    async findById(id: string): Promise<User | null> {
      return store.findById(storage.db, id);
    },

    /** The user with this username (case-sensitive), or null. */
    async findByUsername(username: string): Promise<User | null> {
      return store.findByUsername(storage.db, username);
    },

    /** The user with this id; `user.not_found` otherwise. */
    get,

    /** One page of users, filtered by username prefix and active flag, in the asked order. */
    async list(query: ListUsers): Promise<Page<User>> {
      const { items, count } = await store.findMany(storage.db, query);
      return { items, count, page: query.page, pageSize: query.pageSize };
    },

    /** Changes a user's email and/or active flag. */
    async update(principal: Principal, id: string, patch: UpdateUser): Promise<User> {
      await target(principal, id);
      const changes = {
        ...(patch.email === undefined ? {} : { email: patch.email }),
        ...(patch.isActive === undefined ? {} : { isActive: patch.isActive }),
      };
      return mutate(principal, id, 'user.updated', changes, { fields: Object.keys(changes) });
    },

    /**
     * Changes a user's email, active flag and superuser flag at once (the admin API's PATCH): one
     * transaction, one audit event naming the fields. Changing the superuser flag takes a superuser.
     */
    async change(principal: Principal, id: string, patch: UpdateUser & { isSuperuser?: boolean | undefined }): Promise<User> {
      if (patch.isSuperuser !== undefined) assertThat(principal.isSuperuser, userError('superuser_required'));
      const before = await target(principal, id);
      const changes = {
        ...(patch.email === undefined ? {} : { email: patch.email }),
        ...(patch.isActive === undefined ? {} : { isActive: patch.isActive }),
        ...(patch.isSuperuser === undefined ? {} : { isSuperuser: patch.isSuperuser }),
      };
      if (Object.keys(changes).length === 0) return before;
      const action = Object.keys(changes).length === 1 && patch.isActive === false ? 'user.deactivated' : 'user.updated';
      return mutate(principal, id, action, changes, { fields: Object.keys(changes) });
    },

    /**
     * Deactivates a user: they can no longer sign in, their API tokens stop working at once, and
     * what their sign-ins made so far (sessions, refresh and access tokens) ends for good.
     */
    async deactivate(principal: Principal, id: string): Promise<User> {
      await target(principal, id);
      return mutate(principal, id, 'user.deactivated', { isActive: false });
    },

    /** Sets (or, with null, removes) a user's password. */
    async setPassword(principal: Principal, id: string, password: Password | null): Promise<void> {
      await target(principal, id);
      const passwordHash = password === null ? null : await passwords.hash(password);
      await mutate(principal, id, password === null ? 'user.password_removed' : 'user.password_set', { passwordHash });
    },

    /** Makes a user a superuser, or not. Only a superuser principal may. */
    async setSuperuser(principal: Principal, id: string, isSuperuser: boolean): Promise<User> {
      assertThat(principal.isSuperuser, userError('superuser_required'));
      await get(id);
      return mutate(principal, id, isSuperuser ? 'user.superuser_granted' : 'user.superuser_revoked', { isSuperuser });
    },

    /** Deletes a user with their role assignments, memberships and API tokens. */
    async delete(principal: Principal, id: string): Promise<void> {
      const user = await target(principal, id);
      try {
        await storage.transaction(async (tx) => {
          await store.delete(tx, id);
          await audit.record(tx, {
            actor: principal.actor,
            action: 'user.deleted',
            targetType: 'user',
            targetId: id,
            details: { username: user.username },
          });
        });
      } catch (err) {
        if (err instanceof NotFoundError) throw userError('not_found', { id });
        throw err;
      }
    },

    /**
     * Checks a username and password (login page, HTTP Basic). Returns the user, or null for an
     * unknown user, a user without a password, a wrong password or an inactive user, all in about
     * the time of one argon2 verification, so the answer's timing does not tell them apart.
     * A hash made with older parameters is upgraded on success.
     * @remarks Throttling failed attempts is the caller's job (shared state across instances).
     */
    async verifyPassword(username: string, password: string): Promise<User | null> {
      const found = await store.findCredentials(storage.db, username);
      if (!found?.passwordHash) {
        await passwords.verifyNothing(password);
        return null;
      }
      const ok = await passwords.verify(found.passwordHash, password);
      if (!ok || !found.user.isActive) return null;
      if (passwords.needsRehash(found.passwordHash)) {
        const passwordHash = await passwords.hash(password);
        await storage
          .transaction((tx) => store.update(tx, found.user.id, { passwordHash }))
          .catch((err: unknown) => log?.warn({ err, userId: found.user.id }, 'upgrading a password hash failed'));
      }
      return found.user;
    },

    /** Records a successful interactive sign-in (`lastLoginAt`). */
    async recordLogin(id: string): Promise<void> {
      await storage
        .transaction((tx) => store.update(tx, id, { lastLoginAt: clock.now() }))
        .catch((err: unknown) => {
          if (!(err instanceof NotFoundError)) throw err;
        });
    },
  };
}

export type UserService = ReturnType<typeof createUserService>;

import type { Executor } from '../../db/storage.ts';

/** Server-wide values kept in the database (`settings`): key → text. */
export interface SettingStore {
  find(db: Executor, key: string): Promise<string | null>;
  /** Stores `value` unless the key has one already (instances starting together race here). */
  insertIfAbsent(db: Executor, key: string, value: string): Promise<void>;
}

export function createSettingStore(): SettingStore {
  return {
    async find(db, key) {
      return (await db.setting.findUnique({ where: { key } }))?.value ?? null;
    },
    async insertIfAbsent(db, key, value) {
      // INSERT … ON CONFLICT DO NOTHING: Prisma's upsert is a read then a write, and the loser of a
      // race would fail on the primary key.
      await db.setting.createMany({ data: [{ key, value }], skipDuplicates: true });
    },
  };
}

import type { Storage } from '../../db/storage.ts';
import type { SettingStore } from './setting.store.ts';

const MASTER_KEY_CHECK = 'master_key_check';

/** Server-wide settings kept in the database. */
export function createSettingService(deps: {
  storage: Storage;
  store: SettingStore;
  /** a value derived from this server's master key (DerivedKeys.checkValue), never the key */
  masterKeyCheckValue: string;
}) {
  const { storage, store, masterKeyCheckValue } = deps;
  return {
    /**
     * Records which master key this database belongs to (a value derived from the key, never the
     * key) the first time, and tells whether this server's key is that one: a server given another
     * key would fail every client secret and decrypt no signing key.
     */
    async isMasterKeyOfThisDatabase(): Promise<boolean> {
      const checkValue = masterKeyCheckValue;
      const stored = await store.find(storage.db, MASTER_KEY_CHECK);
      if (stored !== null) return stored === checkValue;
      await store.insertIfAbsent(storage.db, MASTER_KEY_CHECK, checkValue);
      return (await store.find(storage.db, MASTER_KEY_CHECK)) === checkValue;
    },
  };
}

export type SettingService = ReturnType<typeof createSettingService>;

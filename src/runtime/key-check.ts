import type { Database } from '../db/database.ts';
import { MasterKeyError } from './master-key.ts';

/**
 * Records which master key a database belongs to (a derived check value, not the key) and refuses
 * a different one: a wrong key would make every client secret fail and no signing key decrypt.
 */
export async function verifyMasterKey(db: Database, checkValue: string): Promise<void> {
  const stored = await db.prisma.setting.findUnique({ where: { key: 'master_key_check' } });
  if (!stored) {
    // INSERT … ON CONFLICT DO NOTHING: instances starting together on a new database race here, and
    // Prisma's upsert is a read then a write (the loser would fail on the primary key).
    await db.prisma.setting.createMany({ data: [{ key: 'master_key_check', value: checkValue }], skipDuplicates: true });
    const again = await db.prisma.setting.findUnique({ where: { key: 'master_key_check' } });
    if (again?.value === checkValue) return;
  } else if (stored.value === checkValue) {
    return;
  }
  throw new MasterKeyError(
    'this database was set up with a different master key: set MASTER_KEY (or MASTER_KEY_FILE) to the key the other instances use',
  );
}

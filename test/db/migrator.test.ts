import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Database, openDatabase } from '../../src/db/database.ts';
import { type Migration, MigrationError, migrate, pendingMigrations, readMigrations } from '../../src/db/migrator.ts';
import { createLogger } from '../../src/lib/logger.ts';
import { createEmptyPostgresDatabase } from '../support/process.ts';
import { ROOT } from '../support/server.ts';
import { TEST_DB } from '../support/test-database.ts';

// Gatehouse applies prisma/migrations itself, recording them in Prisma's `_prisma_migrations` so
// `prisma migrate status` agrees (DESIGN.md §1). Every test starts from an empty database.

const log = createLogger({ level: 'silent' });
const MIGRATIONS_DIR = join(ROOT, 'prisma', 'migrations');

/** An empty database of the project's kind; `open()` may be called several times on PostgreSQL. */
async function emptyDatabase(): Promise<{ open(): Promise<Database>; drop(): Promise<void> }> {
  if (TEST_DB === 'pglite') {
    const dataDir = mkdtempSync(join(tmpdir(), 'gatehouse-migrator-'));
    return {
      open: () => openDatabase({ kind: 'pglite', dataDir }, { log, role: 'test' }),
      drop: async () => rmSync(dataDir, { recursive: true, force: true }),
    };
  }
  const pg = await createEmptyPostgresDatabase();
  return { open: () => openDatabase({ kind: 'postgres', url: pg.url, poolSize: 2 }, { log, role: 'test' }), drop: pg.drop };
}

interface Row {
  migration_name: string;
  checksum: string;
  finished_at: Date | null;
  rolled_back_at: Date | null;
  applied_steps_count: number;
}

const bookkeeping = (db: Database) =>
  db.rawTransaction((sql) =>
    sql.query<Row>(
      'SELECT migration_name, checksum, finished_at, rolled_back_at, applied_steps_count FROM "_prisma_migrations" ORDER BY migration_name',
    ),
  );

const tableExists = async (db: Database, table: string) =>
  (await db.rawTransaction((sql) => sql.query<{ t: string | null }>('SELECT to_regclass($1)::text AS t', [table])))[0]?.t != null;

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** The shipped migrations, read here independently of the migrator. */
const shipped = readdirSync(MIGRATIONS_DIR, { withFileTypes: true })
  .filter((e) => e.isDirectory())
  .map((e) => e.name)
  .sort();

describe('migrate() on an empty database', () => {
  let empty: Awaited<ReturnType<typeof emptyDatabase>>;
  let db: Database;
  beforeAll(async () => {
    empty = await emptyDatabase();
    db = await empty.open();
  });
  afterAll(async () => {
    await db?.close();
    await empty?.drop();
  });

  it('applies every shipped migration, recording name, sha256 checksum and finish time in _prisma_migrations', async () => {
    expect(shipped.length).toBeGreaterThan(0);
    expect(await pendingMigrations(db)).toEqual(shipped);

    const result = await migrate(db);
    expect(result).toEqual({ applied: shipped, alreadyApplied: 0 });

    const rows = await bookkeeping(db);
    expect(rows.map((r) => r.migration_name)).toEqual(shipped);
    for (const row of rows) {
      expect(row.checksum).toBe(sha256(readFileSync(join(MIGRATIONS_DIR, row.migration_name, 'migration.sql'), 'utf8')));
      expect(row.finished_at).toBeInstanceOf(Date);
      expect(row.rolled_back_at).toBeNull();
      expect(row.applied_steps_count).toBe(1);
    }
    // The schema itself is there: every table the migrations create.
    const tables = shipped.flatMap((name) =>
      [...readFileSync(join(MIGRATIONS_DIR, name, 'migration.sql'), 'utf8').matchAll(/CREATE TABLE "(\w+)"/g)].map((m) => m[1] as string),
    );
    expect(tables).toContain('applications');
    for (const table of tables) expect(await tableExists(db, table), table).toBe(true);
    expect(await pendingMigrations(db)).toEqual([]);
  });

  it('applies nothing the second time', async () => {
    await migrate(db); // idempotent whatever ran before
    const before = await bookkeeping(db);
    expect(await migrate(db)).toEqual({ applied: [], alreadyApplied: shipped.length });
    expect(await bookkeeping(db)).toEqual(before);
    expect(await pendingMigrations(db)).toEqual([]);
  });
});

describe.runIf(TEST_DB === 'postgres')('migrate() from several instances at once', () => {
  let empty: Awaited<ReturnType<typeof emptyDatabase>>;
  const dbs: Database[] = [];
  beforeAll(async () => {
    empty = await emptyDatabase();
  });
  afterAll(async () => {
    await Promise.all(dbs.map((d) => d.close()));
    await empty?.drop();
  });

  it('applies each migration exactly once (serialised by the advisory lock)', async () => {
    dbs.push(...(await Promise.all(Array.from({ length: 4 }, () => empty.open()))));
    const results = await Promise.all(dbs.map((d) => migrate(d)));
    const appliers = results.filter((r) => r.applied.length > 0);
    expect(appliers).toEqual([{ applied: shipped, alreadyApplied: 0 }]);
    expect(results.filter((r) => r.applied.length === 0)).toEqual(Array(3).fill({ applied: [], alreadyApplied: shipped.length }));
    expect((await bookkeeping(dbs[0] as Database)).map((r) => r.migration_name)).toEqual(shipped);
  });
});

describe('migrate() with migrations that do not match the database', () => {
  let empty: Awaited<ReturnType<typeof emptyDatabase>>;
  let db: Database;
  let dir: string;
  const write = (name: string, sql: string) => {
    mkdirSync(join(dir, name), { recursive: true });
    writeFileSync(join(dir, name, 'migration.sql'), sql);
  };
  beforeAll(async () => {
    empty = await emptyDatabase();
    db = await empty.open();
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-migrations-'));
    write('0001_first', 'CREATE TABLE first_table (id INTEGER PRIMARY KEY);\nCREATE INDEX first_idx ON first_table (id);');
    write('0002_second', 'CREATE TABLE second_table (id INTEGER PRIMARY KEY);');
    writeFileSync(join(dir, 'migration_lock.toml'), 'provider = "postgresql"\n');
    expect(await migrate(db, readMigrations(dir))).toEqual({ applied: ['0001_first', '0002_second'], alreadyApplied: 0 });
  });
  afterAll(async () => {
    await db?.close();
    await empty?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  const first = (): Migration => readMigrations(dir)[0] as Migration;
  const second = (): Migration => readMigrations(dir)[1] as Migration;
  const third: Migration = { name: '0003_third', sql: 'CREATE TABLE third_table (id INTEGER);', checksum: sha256('x') };

  it('reads migration directories in name order with the sha256 of migration.sql, ignoring other files', () => {
    const read = readMigrations(dir);
    expect(read.map((m) => m.name)).toEqual(['0001_first', '0002_second']);
    expect(read[1]).toEqual({
      name: '0002_second',
      sql: 'CREATE TABLE second_table (id INTEGER PRIMARY KEY);',
      checksum: sha256('CREATE TABLE second_table (id INTEGER PRIMARY KEY);'),
    });
  });

  it('refuses with MigrationError when an applied migration was changed (checksum mismatch), applying nothing', async () => {
    const changed = { ...first(), sql: `${first().sql}\n-- edited`, checksum: sha256(`${first().sql}\n-- edited`) };
    const attempt = migrate(db, [changed, second(), third]);
    await expect(attempt).rejects.toBeInstanceOf(MigrationError);
    await expect(attempt).rejects.toThrow(/0001_first.*checksum/);
    expect(await tableExists(db, 'third_table')).toBe(false);
    expect(await pendingMigrations(db, [changed, second(), third])).toEqual(['0003_third']);
  });

  it('refuses with MigrationError when the database has a migration this version does not know', async () => {
    const attempt = migrate(db, [first(), third]);
    await expect(attempt).rejects.toBeInstanceOf(MigrationError);
    await expect(attempt).rejects.toThrow(/0002_second.*does not know/);
    expect(await tableExists(db, 'third_table')).toBe(false);
  });

  it('rolls back the whole run when a migration fails, recording none of it', async () => {
    const broken: Migration = { name: '0004_broken', sql: 'CREATE TABLE first_table (id INTEGER);', checksum: sha256('y') };
    const attempt = migrate(db, [first(), second(), third, broken]);
    await expect(attempt).rejects.toBeInstanceOf(MigrationError);
    await expect(attempt).rejects.toThrow(/0004_broken failed/);
    expect(await tableExists(db, 'third_table')).toBe(false);
    expect((await bookkeeping(db)).map((r) => r.migration_name)).toEqual(['0001_first', '0002_second']);
    // and the database is still usable
    expect(await migrate(db, [first(), second()])).toEqual({ applied: [], alreadyApplied: 2 });
  });
});

import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { readLockRecord } from '../../src/db/data-dir-lock.ts';
import { runCli } from '../support/cli.ts';
import { newMasterKey, ROOT } from '../support/server.ts';
import { TEST_DB } from '../support/test-database.ts';

/** The migrations in the checkout, with Prisma's checksum: SHA-256 (hex) of migration.sql. */
function migrationsOnDisk() {
  const dir = join(ROOT, 'prisma', 'migrations');
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort()
    .map((name) => ({
      name,
      checksum: createHash('sha256')
        .update(readFileSync(join(dir, name, 'migration.sql')))
        .digest('hex'),
    }));
}

interface MigrationRow {
  id: string;
  checksum: string;
  migration_name: string;
  finished_at: Date | null;
  rolled_back_at: Date | null;
  applied_steps_count: number;
}

/**
 * `gatehouse migrate` on a database nothing has touched yet (an empty PGlite directory, a new
 * PostgreSQL database), keeping its books in Prisma's `_prisma_migrations` table so that
 * `prisma migrate status` agrees.
 */
describe('gatehouse migrate on a fresh database', { timeout: 90_000 }, () => {
  const scratch = mkdtempSync(join(tmpdir(), 'gatehouse-migrate-'));
  const dataDir = join(scratch, 'data');
  let databaseUrl: string | undefined;
  let adminUrl = '';
  let dbName = '';
  let env: Record<string, string>;

  beforeAll(async () => {
    if (TEST_DB === 'postgres') {
      adminUrl = inject('pgAdminUrl');
      dbName = `gh_fresh_${randomBytes(6).toString('hex')}`;
      const admin = new pg.Client({ connectionString: adminUrl });
      await admin.connect();
      try {
        await admin.query(`CREATE DATABASE ${dbName}`); // from template1: no tables at all
      } finally {
        await admin.end();
      }
      databaseUrl = adminUrl.replace(/\/postgres$/, `/${dbName}`);
    }
    env = { NODE_ENV: 'test', MASTER_KEY: newMasterKey(), DATA_DIR: dataDir, ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}) };
  });

  afterAll(async () => {
    if (dbName) {
      const admin = new pg.Client({ connectionString: adminUrl });
      await admin.connect();
      try {
        await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
      } finally {
        await admin.end();
      }
    }
    rmSync(scratch, { recursive: true, force: true });
  });

  async function migrationRows(): Promise<MigrationRow[]> {
    const sql = `SELECT id, checksum, migration_name, finished_at, rolled_back_at, applied_steps_count
                 FROM "_prisma_migrations" ORDER BY migration_name`;
    if (databaseUrl) {
      const client = new pg.Client({ connectionString: databaseUrl });
      await client.connect();
      try {
        return (await client.query<MigrationRow>(sql)).rows;
      } finally {
        await client.end();
      }
    }
    const pglite = await PGlite.create({ dataDir: join(dataDir, 'pgdata') });
    try {
      return (await pglite.query<MigrationRow>(sql)).rows;
    } finally {
      await pglite.close();
    }
  }

  it('lists pending migrations, applies them, then reports the database up to date', async () => {
    const migrations = migrationsOnDisk();
    expect(migrations.length).toBeGreaterThan(0);

    if (TEST_DB === 'pglite') {
      // --status only reads: where there is no database it says so, and creates none.
      const none = await runCli(['migrate', '--status'], env);
      expect(none.code).toBe(1);
      expect(none.stderr).toContain(`no embedded database in ${dataDir}`);
      expect(existsSync(dataDir)).toBe(false);
      // An empty cluster nothing has migrated yet (PGlite's own initdb).
      mkdirSync(dataDir, { mode: 0o700 });
      await (await PGlite.create({ dataDir: join(dataDir, 'pgdata') })).close();
    }

    const pending = await runCli(['migrate', '--status'], env);
    expect(pending.code, pending.stderr).toBe(1); // documented: exit 1 when migrations are pending
    expect(pending.stdout).toMatch(/^Pending migrations:/);
    for (const m of migrations) expect(pending.stdout).toContain(m.name);

    const applied = await runCli(['migrate'], env);
    expect(applied.code, applied.stderr).toBe(0);
    expect(applied.stdout).toMatch(/^Applied migrations:/);
    for (const m of migrations) expect(applied.stdout).toContain(m.name);

    const status = await runCli(['migrate', '--status'], env);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout.trim()).toBe('The database is up to date.');

    // The CLI let go of the embedded database.
    if (TEST_DB === 'pglite') expect(readLockRecord(dataDir)).toBeNull();

    // Prisma's bookkeeping: one finished row per migration, with Prisma's checksum (SHA-256 of
    // migration.sql), so `prisma migrate status` sees the same history.
    const rows = await migrationRows();
    expect(rows.map((r) => r.migration_name)).toEqual(migrations.map((m) => m.name));
    for (const row of rows) {
      const migration = migrations.find((m) => m.name === row.migration_name);
      expect(row.checksum).toBe(migration?.checksum);
      expect(row.checksum).toMatch(/^[0-9a-f]{64}$/);
      expect(row.id).toMatch(/^[0-9a-f-]{36}$/);
      expect(row.finished_at).not.toBeNull();
      expect(row.rolled_back_at).toBeNull();
      expect(row.applied_steps_count).toBe(1);
    }
  });
});

import { createHash, randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../lib/package-root.ts';
import type { Database, RawSql } from './database.ts';

/**
 * Applies prisma/migrations/<name>/migration.sql in order, each in the same transaction as its
 * bookkeeping row, under a PostgreSQL advisory lock so that instances starting together apply
 * each migration exactly once. Rows go to Prisma's own `_prisma_migrations` table (same columns
 * and checksum), so `prisma migrate status` agrees with what ran here. The Prisma CLI itself is
 * too slow for start-up and cannot run against PGlite without hanging (DESIGN.md §1).
 */

// Any 64-bit constant works; this one spells "gatehous" in ASCII.
export const MIGRATION_LOCK_KEY = 0x6761746568_6f7573n;

export interface Migration {
  name: string;
  sql: string;
  checksum: string;
}

export interface MigrationResult {
  applied: string[];
  alreadyApplied: number;
}

export class MigrationError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'MigrationError';
  }
}

export function migrationsDir(): string {
  return join(packageRoot(), 'prisma', 'migrations');
}

export function readMigrations(dir = migrationsDir()): Migration[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort()
    .map((name) => {
      const sql = readFileSync(join(dir, name, 'migration.sql'), 'utf8');
      return { name, sql, checksum: createHash('sha256').update(sql).digest('hex') };
    });
}

const CREATE_BOOKKEEPING = `
CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
  "id" VARCHAR(36) PRIMARY KEY NOT NULL,
  "checksum" VARCHAR(64) NOT NULL,
  "finished_at" TIMESTAMPTZ,
  "migration_name" VARCHAR(255) NOT NULL,
  "logs" TEXT,
  "rolled_back_at" TIMESTAMPTZ,
  "started_at" TIMESTAMPTZ NOT NULL DEFAULT now(),
  "applied_steps_count" INTEGER NOT NULL DEFAULT 0
)`;

interface AppliedRow {
  migration_name: string;
  checksum: string;
}

async function appliedMigrations(sql: RawSql): Promise<Map<string, string>> {
  const rows = await sql.query<AppliedRow>(
    `SELECT migration_name, checksum FROM "_prisma_migrations" WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL`,
  );
  return new Map(rows.map((r) => [r.migration_name, r.checksum]));
}

/** Applies every pending migration. Safe to call from several processes at once. */
export async function migrate(db: Database, migrations: Migration[] = readMigrations()): Promise<MigrationResult> {
  return db.rawTransaction(async (sql) => {
    await sql.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY.toString()]);
    await sql.exec(CREATE_BOOKKEEPING);
    const applied = await appliedMigrations(sql);
    for (const [name, checksum] of applied) {
      const known = migrations.find((m) => m.name === name);
      if (!known) {
        throw new MigrationError(
          `database has migration ${name}, which this version of Gatehouse does not know: is it older than the database?`,
        );
      }
      if (known.checksum !== checksum) {
        throw new MigrationError(`migration ${name} was changed after it was applied (checksum mismatch)`);
      }
    }
    const pending = migrations.filter((m) => !applied.has(m.name));
    for (const m of pending) {
      try {
        await sql.exec(m.sql);
      } catch (cause) {
        throw new MigrationError(`migration ${m.name} failed: ${(cause as Error).message}`, { cause });
      }
      await sql.query(
        `INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at, finished_at, applied_steps_count)
         VALUES ($1, $2, $3, now(), now(), 1)`,
        [randomUUID(), m.checksum, m.name],
      );
    }
    return { applied: pending.map((m) => m.name), alreadyApplied: applied.size };
  });
}

/** Names of migrations not yet applied (read-only; for /readyz and `gatehouse migrate --status`). */
export async function pendingMigrations(db: Database, migrations: Migration[] = readMigrations()): Promise<string[]> {
  return db.rawTransaction(async (sql) => {
    const exists = await sql.query<{ t: string | null }>(`SELECT to_regclass('"_prisma_migrations"')::text AS t`);
    if (!exists[0]?.t) return migrations.map((m) => m.name);
    const applied = await appliedMigrations(sql);
    return migrations.filter((m) => !applied.has(m.name)).map((m) => m.name);
  });
}

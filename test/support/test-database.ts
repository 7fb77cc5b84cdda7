import { randomBytes } from 'node:crypto';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { inject } from 'vitest';

export type TestDbKind = 'pglite' | 'postgres';

export const TEST_DB: TestDbKind = process.env.TEST_DB === 'postgres' ? 'postgres' : 'pglite';

/** A fresh, migrated database for one test (or file), and the environment that points at it. */
export interface TestDatabase {
  kind: TestDbKind;
  /** environment variables selecting this database (DATA_DIR or DATABASE_URL) */
  env: Record<string, string>;
  /** directory for files the server keeps (PGlite data, key file): always set */
  dataDir: string;
  /** PostgreSQL URL, when kind is postgres */
  url?: string;
  drop(): Promise<void>;
}

const TEMPLATE_DATABASE = 'gatehouse_template';

/** Clones the migrated template of the current project (see global-setup.ts). */
export async function createTestDatabase(): Promise<TestDatabase> {
  const dataDir = mkdtempSync(join(tmpdir(), 'gatehouse-test-'));
  if (TEST_DB === 'pglite') {
    cpSync(inject('pgliteTemplateDir'), dataDir, { recursive: true });
    return {
      kind: 'pglite',
      env: { DATA_DIR: dataDir },
      dataDir,
      drop: async () => rmSync(dataDir, { recursive: true, force: true }),
    };
  }
  const adminUrl = inject('pgAdminUrl');
  const name = `gh_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name} TEMPLATE ${TEMPLATE_DATABASE}`);
  } finally {
    await admin.end();
  }
  const url = adminUrl.replace(/\/postgres$/, `/${name}`);
  return {
    kind: 'postgres',
    env: { DATABASE_URL: url, DATA_DIR: dataDir },
    dataDir,
    url,
    async drop() {
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { ensureBuilt } from '../../scripts/ensure-built.mjs';
import { startCluster } from '../../scripts/pg-cluster.mjs';
import { openDatabase } from '../../src/db/database.ts';
import { migrate } from '../../src/db/migrator.ts';
import { createLogger } from '../../src/lib/logger.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** PostgreSQL superuser URL of the throwaway cluster (postgres project) */
    pgAdminUrl: string;
    /** a migrated PGlite data directory to copy (pglite project) */
    pgliteTemplateDir: string;
  }
}

export const TEMPLATE_DATABASE = 'gatehouse_template';

/**
 * Once per project: a migrated template each test file clones, so no test pays for initdb or
 * migrations. PostgreSQL: a throwaway cluster with a template database. PGlite: a data directory.
 */
export default async function setup(project: TestProject) {
  // Suites that spawn `gatehouse` run the built bundle: build it once here, not in every process.
  await ensureBuilt();
  const log = createLogger({ level: 'silent' });
  if (project.config.env?.TEST_DB === 'postgres') {
    const cluster = await startCluster();
    const admin = new pg.Client({ connectionString: cluster.url });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${TEMPLATE_DATABASE}`);
    await admin.end();
    const db = await openDatabase(
      { kind: 'postgres', url: cluster.url.replace(/\/postgres$/, `/${TEMPLATE_DATABASE}`), poolSize: 2 },
      { log, role: 'test' },
    );
    await migrate(db);
    await db.close();
    project.provide('pgAdminUrl', cluster.url);
    project.provide('pgliteTemplateDir', '');
    return () => cluster.stop();
  }
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-template-'));
  const db = await openDatabase({ kind: 'pglite', dataDir: dir }, { log, role: 'test' });
  await migrate(db);
  await db.close();
  project.provide('pgliteTemplateDir', dir);
  project.provide('pgAdminUrl', '');
  return () => rmSync(dir, { recursive: true, force: true });
}

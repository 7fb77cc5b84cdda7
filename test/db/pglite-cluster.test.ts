import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { clusterTemplatePath, openPgliteCluster, writeClusterTemplate } from '../../src/db/pglite-cluster.ts';
import { createLogger } from '../../src/lib/logger.ts';
import { LogCapture, ROOT } from '../support/server.ts';
import { TEST_DB } from '../support/test-database.ts';

/** New embedded databases are unpacked from a cluster template (src/db/pglite-cluster.ts). */
describe.runIf(TEST_DB === 'pglite')('embedded cluster template', () => {
  const dirs: string[] = [];
  const tempDir = () => {
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-cluster-'));
    dirs.push(dir);
    return dir;
  };
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it('creates a new database from the template, which then opens like any other', async () => {
    if (!existsSync(clusterTemplatePath())) await writeClusterTemplate(); // `npm ci` normally made it
    const logs = new LogCapture();
    const pgdata = join(tempDir(), 'pgdata');
    const first = await openPgliteCluster(pgdata, createLogger({ level: 'debug', destination: logs }));
    await first.exec('CREATE TABLE kept (n int); INSERT INTO kept VALUES (42)');
    await first.close();
    expect(logs.text).toContain('from the cluster template');

    const again = await openPgliteCluster(pgdata, createLogger({ level: 'silent' }));
    expect((await again.query<{ n: number }>('SELECT n FROM kept')).rows).toEqual([{ n: 42 }]);
    await again.close();
  });

  it('keeps the template in dist/, outside node_modules (npm would re-read the whole tree on every npx)', () => {
    expect(dirname(clusterTemplatePath())).toBe(join(ROOT, 'dist'));
    expect(clusterTemplatePath()).not.toContain('node_modules');
  });

  it('runs initdb instead when the template is unusable, and says so', async () => {
    const dir = tempDir();
    const broken = join(dir, 'broken.tar.gz');
    writeFileSync(broken, 'not an archive');
    const logs = new LogCapture();
    const pglite = await openPgliteCluster(join(dir, 'pgdata'), createLogger({ level: 'debug', destination: logs }), broken);
    expect((await pglite.query<{ one: number }>('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    await pglite.close();
    expect(logs.text).toContain('could not be used');
  }, 120_000);
});

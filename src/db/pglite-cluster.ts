import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import type { Logger } from 'pino';
import { packageRoot } from '../lib/package-root.ts';

/**
 * PGlite runs PostgreSQL inside this process's memory, and PostgreSQL touches all of its shared
 * buffers at start: at the default 128 MB they were most of the server's resident memory. Gatehouse's
 * embedded data is a few megabytes, so 16 MB of buffers holds all of it (measured: RSS after open
 * 301 → 181 MB, open 1.15 → 0.6 s).
 */
export const PGLITE_START_PARAMS = [...PGlite.defaultStartParams, '-c', 'shared_buffers=16MB'];

/**
 * A new data directory needs `initdb`, which PGlite runs in WebAssembly: about 5 s here, most of a
 * first start. `npm ci` (the `prepare` script) runs it once into a template, an archive of a fresh,
 * empty cluster; a new data directory is unpacked from it in about 1 s. The template belongs to one
 * PGlite version, so its name carries the version; without one, PGlite runs initdb as before.
 */
export function clusterTemplatePath(): string {
  const root = packageRoot();
  const { version } = JSON.parse(readFileSync(join(root, 'node_modules', '@electric-sql', 'pglite', 'package.json'), 'utf8')) as {
    version: string;
  };
  return join(root, 'node_modules', '.cache', 'gatehouse', `pglite-${version}-cluster.tar.gz`);
}

/** Opens (creating if needed) the cluster in `pgdata`. */
export async function openPgliteCluster(pgdata: string, log: Logger, templatePath = clusterTemplatePath()): Promise<PGlite> {
  if (!existsSync(pgdata)) {
    const template = readTemplate(templatePath);
    if (template) {
      try {
        const pglite = await PGlite.create({ dataDir: pgdata, startParams: PGLITE_START_PARAMS, loadDataDir: new Blob([template]) });
        log.debug({ pgdata }, 'created the embedded database from the cluster template');
        return pglite;
      } catch (err) {
        log.warn({ err }, 'the embedded cluster template could not be used; running initdb instead');
        rmSync(pgdata, { recursive: true, force: true });
      }
    }
  }
  return PGlite.create({ dataDir: pgdata, startParams: PGLITE_START_PARAMS });
}

function readTemplate(path: string): Buffer | undefined {
  try {
    return readFileSync(path);
  } catch {
    return undefined;
  }
}

/** Writes the cluster template (see clusterTemplatePath); returns its path. Atomic: rename into place. */
export async function writeClusterTemplate(): Promise<string> {
  const target = clusterTemplatePath();
  const work = mkdtempSync(join(tmpdir(), 'gatehouse-pglite-template-'));
  try {
    const pglite = await PGlite.create({ dataDir: join(work, 'pgdata'), startParams: PGLITE_START_PARAMS });
    const archive = Buffer.from(await (await pglite.dumpDataDir('gzip')).arrayBuffer());
    await pglite.close();
    mkdirSync(dirname(target), { recursive: true });
    const draft = `${target}.${process.pid}`;
    writeFileSync(draft, archive);
    renameSync(draft, target);
    return target;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

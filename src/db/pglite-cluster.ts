import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, normalize, sep } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { PGlite } from '@electric-sql/pglite';
import type { Logger } from 'pino';
import { packageRoot } from '../lib/package-root.ts';

/**
 * PGlite runs PostgreSQL inside this process's memory, and PostgreSQL touches all of its shared
 * buffers at start: at the default 128 MB they were most of the server's resident memory. Gatehouse's
 * embedded data is a few megabytes and hot rows are cached above the database, so 8 MB of buffers
 * is plenty (measured: RSS after open 301 MB at 128 MB, 181 at 16, 172 at 8; PostgreSQL's resident
 * share of the WebAssembly memory 29 → 21 MB from 16 to 8; no change in any benchmark scenario).
 */
export const PGLITE_START_PARAMS = [...PGlite.defaultStartParams, '-c', 'shared_buffers=8MB'];

/**
 * A new data directory needs `initdb`, which PGlite runs in WebAssembly: about 5 s here, most of a
 * first start. `npm ci` (the `prepare` script) runs it once into a template, an archive of a fresh,
 * empty cluster (PGlite's own `dumpDataDir` format, a gzipped tar); a new data directory is
 * unpacked from it with node:zlib in a fraction of a second and then opened like any other. The
 * template belongs to one PGlite version, so its name carries the version; without one, PGlite
 * runs initdb as before.
 *
 * It lives in dist/, beside the build `npm ci` makes in the same step (and which the Docker image
 * copies), never under node_modules/: anything written there after the install makes npm distrust
 * its record of the installed tree (node_modules/.package-lock.json), so every `npx gatehouse`
 * re-read the whole tree, 1–4 s a call.
 */
export function clusterTemplatePath(): string {
  const root = packageRoot();
  const { version } = JSON.parse(readFileSync(join(root, 'node_modules', '@electric-sql', 'pglite', 'package.json'), 'utf8')) as {
    version: string;
  };
  return join(root, 'dist', `pglite-${version}-cluster.tar.gz`);
}

/** Opens (creating if needed) the cluster in `pgdata`. */
export async function openPgliteCluster(pgdata: string, log: Logger, templatePath = clusterTemplatePath()): Promise<PGlite> {
  if (!existsSync(pgdata)) {
    const template = readTemplate(templatePath);
    if (template) {
      try {
        unpackTar(gunzipSync(template), pgdata);
        const pglite = await PGlite.create({ dataDir: pgdata, startParams: PGLITE_START_PARAMS });
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

/**
 * Extracts a ustar archive (regular files and directories only) into `dest`, with owner-only
 * permissions. Every entry must stay inside `dest`.
 */
function unpackTar(tar: Buffer, dest: string): void {
  mkdirSync(dest, { recursive: true, mode: 0o700 });
  const field = (block: Buffer, start: number, length: number) => block.toString('utf8', start, start + length).replace(/\0.*$/s, '');
  let offset = 0;
  while (offset + 512 <= tar.length) {
    const header = tar.subarray(offset, offset + 512);
    const name = field(header, 0, 100);
    if (!name) break; // two zero blocks end the archive
    const prefix = field(header, 345, 155);
    const size = Number.parseInt(field(header, 124, 12).trim() || '0', 8);
    const type = field(header, 156, 1) || '0';
    const relative = normalize(`${prefix ? `${prefix}/` : ''}${name}`).replace(/^\/+/, '');
    const target = join(dest, relative);
    if (relative.startsWith('..') || (!`${target}${sep}`.startsWith(`${dest}${sep}`) && target !== dest)) {
      throw new Error(`archive entry outside the data directory: ${name}`);
    }
    offset += 512;
    if (type === '5') mkdirSync(target, { recursive: true, mode: 0o700 });
    else if (type === '0') {
      mkdirSync(dirname(target), { recursive: true, mode: 0o700 });
      writeFileSync(target, tar.subarray(offset, offset + size), { mode: 0o600 });
    } else throw new Error(`unsupported archive entry type ${type}: ${name}`);
    offset += Math.ceil(size / 512) * 512;
  }
}

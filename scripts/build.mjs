// Builds dist/ (main.js and its chunks): generates the Prisma client when the schema changed, then bundles src/ with
// esbuild (dependencies stay external). Type checking is separate: `npm run typecheck`.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const schemaPath = join(root, 'prisma', 'schema.prisma');
const generatedDir = join(root, 'src', 'db', 'generated');
const stampPath = join(generatedDir, '.schema-hash');

export function generatePrismaClient({ quiet = false } = {}) {
  const hash = createHash('sha256').update(readFileSync(schemaPath)).digest('hex');
  if (existsSync(stampPath) && readFileSync(stampPath, 'utf8') === hash) return;
  const cli = join(root, 'node_modules', 'prisma', 'build', 'index.js');
  const result = spawnSync(process.execPath, [cli, 'generate', '--no-hints'], {
    cwd: root,
    stdio: quiet ? ['ignore', 'ignore', 'inherit'] : 'inherit',
    // Prisma loads prisma.config.ts through jiti, which caches the transpiled file in
    // node_modules/.cache: a write into node_modules after `npm ci` makes npm distrust its record of
    // the tree, and every `npx gatehouse` then re-reads all of it (see src/db/pglite-cluster.ts).
    env: { ...process.env, PRISMA_HIDE_UPDATE_MESSAGE: '1', JITI_FS_CACHE: 'false' },
  });
  if (result.status !== 0) throw new Error('prisma generate failed');
  mkdirSync(generatedDir, { recursive: true });
  writeFileSync(stampPath, hash);
}

export async function build({ quiet = false } = {}) {
  generatePrismaClient({ quiet });
  const esbuild = await import('esbuild');
  const dist = join(root, 'dist');
  // Split at dynamic imports, so a CLI command loads only what it uses (`serve` alone loads
  // oidc-provider, Koa and Prisma). Chunks are named by their content hash and never overwritten;
  // dist/main.js, which names the chunks it needs, is renamed into place last: a process starting
  // meanwhile (another `gatehouse` command, a test) loads the old build or the new one, never a mix.
  const result = await esbuild.build({
    entryPoints: { main: join(root, 'src', 'main.ts') },
    outdir: dist,
    chunkNames: 'chunks/[name]-[hash]',
    splitting: true,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    // The pages (src/http/pages/*.tsx) are preact components: the automatic runtime imports
    // preact/jsx-runtime itself, as tsconfig's "jsx": "react-jsx" tells tsc and vitest.
    jsx: 'automatic',
    jsxImportSource: 'preact',
    sourcemap: 'linked',
    logLevel: quiet ? 'warning' : 'info',
    legalComments: 'none',
    write: false,
  });
  const entry = join(dist, 'main.js');
  const writeAtomically = (path, contents) => {
    mkdirSync(dirname(path), { recursive: true });
    const draft = `${path}.${process.pid}`;
    writeFileSync(draft, contents);
    renameSync(draft, path);
  };
  const written = new Set();
  for (const file of result.outputFiles) {
    written.add(file.path);
    if (file.path === entry) continue;
    if (file.path.endsWith('.map') || !existsSync(file.path)) writeAtomically(file.path, file.contents);
  }
  writeAtomically(entry, result.outputFiles.find((f) => f.path === entry).contents);
  removeOldChunks(join(dist, 'chunks'), written);
}

/** Chunks no build has written for a day: nothing running still loads them. */
function removeOldChunks(dir, keep) {
  if (!existsSync(dir)) return;
  const dayAgo = Date.now() - 86_400_000;
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (!keep.has(path) && statSync(path).mtimeMs < dayAgo) rmSync(path, { force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const which = process.argv[2];
  if (which === 'generate') generatePrismaClient();
  else await build();
}

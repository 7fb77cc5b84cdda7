// Builds dist/main.js: generates the Prisma client when the schema changed, then bundles src/ with
// esbuild (dependencies stay external). Type checking is separate: `npm run typecheck`.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
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
    env: { ...process.env, PRISMA_HIDE_UPDATE_MESSAGE: '1' },
  });
  if (result.status !== 0) throw new Error('prisma generate failed');
  mkdirSync(generatedDir, { recursive: true });
  writeFileSync(stampPath, hash);
}

export async function build({ quiet = false } = {}) {
  generatePrismaClient({ quiet });
  const esbuild = await import('esbuild');
  // Built under a temporary name and renamed into place: a process starting meanwhile (another
  // `gatehouse` command, a test) imports either the old bundle or the new one, never half of one.
  const outfile = join(root, 'dist', 'main.js');
  const draft = join(root, 'dist', `main.${process.pid}.js`);
  await esbuild.build({
    entryPoints: [join(root, 'src', 'main.ts')],
    outfile: draft,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    sourcemap: 'linked',
    logLevel: quiet ? 'warning' : 'info',
    legalComments: 'none',
  });
  renameSync(`${draft}.map`, `${outfile}.map`);
  // The bundle names its source map; keep pointing at the final name.
  writeFileSync(draft, readFileSync(draft, 'utf8').replace(`main.${process.pid}.js.map`, 'main.js.map'));
  renameSync(draft, outfile);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const which = process.argv[2];
  if (which === 'generate') generatePrismaClient();
  else await build();
}

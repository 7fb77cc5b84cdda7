// Decides whether dist/ is stale and rebuilds it. Kept tiny: it runs before every CLI call.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const output = join(root, 'dist', 'main.js');

function newestMtime(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'generated') continue;
    const path = join(dir, entry.name);
    const mtime = entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs;
    if (mtime > newest) newest = mtime;
  }
  return newest;
}

export function isStale() {
  if (!existsSync(output)) return true;
  // An installed image ships dist/ without sources: nothing to compare against.
  if (!existsSync(join(root, 'src'))) return false;
  const built = statSync(output).mtimeMs;
  const inputs = [newestMtime(join(root, 'src')), statSync(join(root, 'prisma', 'schema.prisma')).mtimeMs];
  return inputs.some((m) => m > built);
}

export async function ensureBuilt() {
  if (!isStale()) return;
  const { build } = await import('./build.mjs');
  await build({ quiet: true });
}

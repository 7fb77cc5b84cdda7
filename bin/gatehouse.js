#!/usr/bin/env -S MALLOC_ARENA_MAX=2 MALLOC_MMAP_THRESHOLD_=131072 node --max-semi-space-size=4 --max-old-space-size=384 --liftoff-only
// Entry point for `npx gatehouse …`, `npm start` and the Docker image. Builds dist/ first when the
// sources are newer (a fresh clone has no dist/), so there is never a separate build step to remember.
//
// The settings above bound a busy server's resident memory (bench/README.md, "Memory"): a small
// young generation and a bounded old generation make V8 collect before it grows; WebAssembly stays
// on its baseline compiler, so PGlite's 9 MB PostgreSQL module is never recompiled by the
// optimising tier (that alone peaked at 700 MB); glibc keeps two malloc arenas and hands blocks of
// 128 KB and more back to the system when they are freed. `node bin/gatehouse.js` starts without them.
import { existsSync } from 'node:fs';
import { ensureBuilt } from '../scripts/ensure-built.mjs';

// A .env file in the working directory fills in variables the environment does not set.
if (existsSync('.env')) process.loadEnvFile('.env');

await ensureBuilt();
const { main } = await import('../dist/main.js');
process.exitCode = await main(process.argv.slice(2));

#!/usr/bin/env node
// Entry point for `npx gatehouse …` and `npm start`. Builds dist/ first when the sources are newer
// (a fresh clone has no dist/), so there is never a separate build step to remember.
import { existsSync } from 'node:fs';
import { ensureBuilt } from '../scripts/ensure-built.mjs';

// A .env file in the working directory fills in variables the environment does not set.
if (existsSync('.env')) process.loadEnvFile('.env');

await ensureBuilt();
const { main } = await import('../dist/main.js');
process.exitCode = await main(process.argv.slice(2));

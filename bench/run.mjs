// `npm run bench`: measures Gatehouse against a bare oidc-provider baseline on this machine.
// See bench/README.md. Every target runs alone (one at a time), each scenario gets a warm-up that
// is not counted, and every non-2xx response is counted and shown.
//
//   npm run bench                                   the full run (about 6 minutes)
//   npm run bench -- --targets baseline,pglite      a subset (also --scenarios cc-basic,jwks)
//   BENCH_SMOKE=1 npm run bench                     seconds: proves the harness works (CI)
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { ensureBuilt } from '../scripts/ensure-built.mjs';
import { findPgBin, startCluster } from '../scripts/pg-cluster.mjs';
import { loadGenerator, runLoad } from './load.mjs';
import { sampleMemory } from './process-stats.mjs';
import { checkBars, formatReport } from './report.mjs';
import { SCENARIOS } from './scenarios.mjs';
import { startTarget, TARGETS } from './targets.mjs';

const { values: args } = parseArgs({
  options: {
    smoke: { type: 'boolean', default: process.env.BENCH_SMOKE === '1' },
    targets: { type: 'string' },
    scenarios: { type: 'string' },
    seconds: { type: 'string' },
    warmup: { type: 'string' },
    connections: { type: 'string', default: '16' },
    load: { type: 'string', default: 'auto' },
    strict: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h' },
  },
});

if (args.help) {
  console.log(`npm run bench [-- options]
  --targets LIST      ${TARGETS.map((t) => t.id).join(',')} (default: all; PostgreSQL ones need DATABASE_URL or local PostgreSQL binaries)
  --scenarios LIST    ${SCENARIOS.map((s) => s.id).join(',')} (default: all)
  --seconds N         measured seconds per scenario (default 10; smoke 1)
  --warmup N          uncounted warm-up seconds per scenario (default 3; smoke 0)
  --connections N     concurrent connections (default 16)
  --load wrk|autocannon   load generator (default: wrk if installed)
  --smoke             a few seconds, baseline and PGlite only (BENCH_SMOKE=1 does the same)
  --strict            exit 1 when a bar is missed (errors always exit 1)`);
  process.exit(0);
}

const pick = (list, all, what) => {
  if (!list) return all;
  const ids = list.split(',').map((s) => s.trim());
  for (const id of ids) if (!all.some((x) => x.id === id)) throw new Error(`unknown ${what} '${id}'`);
  return all.filter((x) => ids.includes(x.id));
};

const options = {
  seconds: Number(args.seconds ?? (args.smoke ? 1 : 10)),
  warmupSeconds: Number(args.warmup ?? (args.smoke ? 0 : 3)),
  connections: Number(args.connections),
  poolSize: args.smoke ? 50 : 4000,
  load: loadGenerator(args.load),
  smoke: args.smoke,
};
const targets = pick(args.targets ?? (args.smoke ? 'baseline,pglite' : undefined), TARGETS, 'target');
const scenarios = pick(args.scenarios, SCENARIOS, 'scenario');

// PostgreSQL: DATABASE_URL if given (shared by the PostgreSQL targets, names kept unique), else a
// throwaway local cluster with a fresh database per target.
function createPostgres() {
  let cluster;
  let counter = 0;
  return {
    available() {
      if (process.env.DATABASE_URL) return true;
      try {
        findPgBin();
        return true;
      } catch {
        return false;
      }
    },
    async newDatabaseUrl() {
      if (process.env.DATABASE_URL) return process.env.DATABASE_URL;
      cluster ??= await startCluster({ fast: false });
      const name = `gatehouse_bench_${process.pid}_${counter++}`;
      const admin = new pg.Client({ connectionString: cluster.url });
      await admin.connect();
      await admin.query(`CREATE DATABASE ${name}`);
      await admin.end();
      return cluster.url.replace(/\/postgres$/, `/${name}`);
    },
    stop: () => cluster?.stop(),
  };
}

const postgres = createPostgres();
const workDir = mkdtempSync(join(tmpdir(), 'gatehouse-bench-'));
let running;
const cleanUp = async () => {
  await running?.stop().catch(() => {});
  postgres.stop();
};
process.on('SIGINT', () => cleanUp().finally(() => process.exit(130)));
process.on('SIGTERM', () => cleanUp().finally(() => process.exit(143)));

const run = {
  startedAt: new Date().toISOString(),
  options,
  environment: { node: process.version, cpus: availableParallelism(), cpuModel: cpus()[0]?.model ?? 'unknown' },
  targets: [],
  rows: [],
};

await ensureBuilt();
const progress = (text) => process.stderr.write(`${text}\n`);

try {
  for (const target of targets) {
    if (target.needs === 'postgres' && !postgres.available()) {
      run.targets.push({ id: target.id, skipped: 'no DATABASE_URL and no local PostgreSQL binaries' });
      continue;
    }
    progress(`starting ${target.label}`);
    const server = await startTarget(target, { workDir, postgres });
    running = server;
    const summary = { id: target.id, label: target.label, readyMs: server.readyMs, firstReadyMs: server.firstReadyMs, peakProcessBytes: 0 };
    run.targets.push(summary);
    for (const scenario of scenarios) {
      const row = { target: target.id, scenario: scenario.id };
      const unsupported = scenario.unsupported?.[target.id];
      if (unsupported) {
        run.rows.push({ ...row, unsupported });
        continue;
      }
      try {
        const prepared = scenario.prepare ? await scenario.prepare(server, { poolSize: options.poolSize }) : {};
        const request = { method: 'GET', ...scenario.request(server, prepared) };
        const load = { baseUrl: server.url, request, connections: options.connections };
        if (options.warmupSeconds > 0) await runLoad(options.load, { ...load, seconds: options.warmupSeconds });
        const memory = sampleMemory(server.pid);
        const result = await runLoad(options.load, { ...load, seconds: options.seconds });
        const { peakProcessBytes } = memory.stop();
        Object.assign(row, result, { peakProcessBytes });
        summary.peakProcessBytes = Math.max(summary.peakProcessBytes, peakProcessBytes);
        progress(
          `  ${scenario.id.padEnd(18)} ${Math.round(result.rps)} req/s, p99 ${result.p99Ms.toFixed(2)} ms, non-2xx ${result.non2xx}`,
        );
      } catch (err) {
        row.failed = err.message.split('\n')[0];
        progress(`  ${scenario.id.padEnd(18)} FAILED: ${err.message}`);
      }
      run.rows.push(row);
    }
    await server.stop();
    running = undefined;
  }
} finally {
  await cleanUp();
}

const bars = checkBars(run);
console.log(formatReport(run, bars));
const resultsDir = join(import.meta.dirname, 'results');
mkdirSync(resultsDir, { recursive: true });
const json = `${JSON.stringify({ ...run, bars }, null, 2)}\n`;
const file = join(resultsDir, `${run.startedAt.replace(/[:.]/g, '-')}${options.smoke ? '-smoke' : ''}.json`);
writeFileSync(file, json);
writeFileSync(join(resultsDir, options.smoke ? 'latest-smoke.json' : 'latest.json'), json);
console.log(`\nwrote ${file}`);
rmSync(workDir, { recursive: true, force: true });

const hadErrors = run.rows.some((r) => r.failed || r.non2xx > 0 || r.errors > 0);
const missed = bars.some((b) => b.results.length && !b.pass);
process.exit(hadErrors || (args.strict && missed) ? 1 : 0);

// `npm run bench`: measures Gatehouse against a bare oidc-provider baseline on this machine.
// See bench/README.md. Every target runs alone (one at a time), each scenario gets a warm-up that
// is not counted, and every non-2xx response is counted and shown.
//
//   npm run bench                                   the full run (about 8 minutes)
//   npm run bench -- --targets baseline,pglite      a subset (also --scenarios cc-basic,jwks)
//   BENCH_SMOKE=1 npm run bench                     seconds: proves the harness works (CI)
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { ensureBuilt } from '../scripts/ensure-built.mjs';
import { findPgBin, startCluster } from '../scripts/pg-cluster.mjs';
import { runFlow } from './flow.mjs';
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
    rounds: { type: 'string' },
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
  --seconds N         measured seconds per target, scenario and round (default 3; smoke 1)
  --warmup N          uncounted warm-up seconds before each of those (default 1; smoke 0)
  --rounds N          rounds per scenario, targets measured in turn (default 3; smoke 1)
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
  seconds: Number(args.seconds ?? (args.smoke ? 1 : 3)),
  warmupSeconds: Number(args.warmup ?? (args.smoke ? 0 : 1)),
  rounds: Number(args.rounds ?? (args.smoke ? 1 : 3)),
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
const servers = new Map(); // target id -> started server
const cleanUp = async () => {
  await Promise.all([...servers.values()].map((s) => s.stop().catch(() => {})));
  servers.clear();
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
const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

try {
  // Every target is started first and stays up; idle servers cost nothing. Each scenario then
  // measures the targets in turn, round after round (the order rotating), so that a ratio
  // compares figures taken moments apart: this machine's speed drifts more than the differences
  // being measured (see README.md, "Reading the figures").
  for (const target of targets) {
    if (target.needs === 'postgres' && !postgres.available()) {
      run.targets.push({ id: target.id, skipped: 'no DATABASE_URL and no local PostgreSQL binaries' });
      continue;
    }
    progress(`starting ${target.label}`);
    const server = await startTarget(target, { workDir, postgres });
    servers.set(target.id, server);
    run.targets.push({
      id: target.id,
      label: target.label,
      readyMs: server.readyMs,
      firstReadyMs: server.firstReadyMs,
      peakProcessBytes: 0,
    });
  }
  const live = run.targets.filter((t) => servers.has(t.id));

  for (const scenario of scenarios) {
    progress(`${scenario.id}: ${scenario.label}`);
    const jobs = [];
    for (const target of live) {
      const row = { target: target.id, scenario: scenario.id };
      run.rows.push(row);
      const unsupported = scenario.unsupported?.[target.id];
      if (unsupported) {
        row.unsupported = unsupported;
        continue;
      }
      const server = servers.get(target.id);
      try {
        const job = { target, row, server, rounds: [] };
        job.prepare = async () => {
          const prepared = scenario.prepare
            ? await scenario.prepare(server, { poolSize: options.poolSize, connections: options.connections })
            : {};
          // A conversation (flow.mjs) runs here; a repeated request goes to the load generator.
          job.load = scenario.step
            ? { step: scenario.step(server, prepared), connections: options.connections }
            : { baseUrl: server.url, request: { method: 'GET', ...scenario.request(server, prepared) }, connections: options.connections };
          if (scenario.flood) {
            // Half the connections legitimate, half flooding; the rate alone uses the same half.
            const half = Math.max(1, options.connections >> 1);
            job.load.connections = half;
            job.flood = { baseUrl: server.url, request: scenario.flood(server, prepared), connections: half };
          }
        };
        await job.prepare();
        jobs.push(job);
      } catch (err) {
        row.failed = err.message.split('\n')[0];
        progress(`  ${target.id.padEnd(18)} FAILED to prepare: ${err.message}`);
      }
    }
    for (let round = 0; round < options.rounds; round++) {
      const order = jobs.map((_, i) => jobs[(i + round) % jobs.length]);
      for (const job of order) {
        if (job.row.failed) continue;
        try {
          // A scenario that uses up what it prepared (revocation) gets a fresh pool each round.
          if (scenario.preparePerRound && round > 0) await job.prepare();
          if (options.warmupSeconds > 0) await measure(job.load, options.warmupSeconds);
          if (job.flood) {
            job.rounds.push(await measureBesideFlood(job));
            continue;
          }
          const memory = sampleMemory(job.server.pid);
          const result = await measure(job.load, options.seconds);
          const { peakProcessBytes } = memory.stop();
          if (result.firstFailure) progress(`  ${job.target.id.padEnd(18)} failed step: ${result.firstFailure}`);
          job.rounds.push({ ...result, peakProcessBytes });
        } catch (err) {
          job.row.failed = err.message.split('\n')[0];
          progress(`  ${job.target.id.padEnd(18)} FAILED: ${err.message}`);
        }
      }
    }
    for (const job of jobs) {
      if (job.row.failed || job.rounds.length === 0) continue;
      const r = job.rounds;
      Object.assign(job.row, {
        rps: median(r.map((x) => x.rps)),
        p50Ms: median(r.map((x) => x.p50Ms)),
        p99Ms: median(r.map((x) => x.p99Ms)),
        requests: r.reduce((n, x) => n + x.requests, 0),
        non2xx: r.reduce((n, x) => n + x.non2xx, 0),
        errors: r.reduce((n, x) => n + x.errors, 0),
        peakProcessBytes: Math.max(...r.map((x) => x.peakProcessBytes)),
        rounds: r.map(({ rps, p50Ms, p99Ms, non2xx, errors, aloneRps, floodRps }) => ({
          rps,
          p50Ms,
          p99Ms,
          non2xx,
          errors,
          aloneRps,
          floodRps,
        })),
      });
      if (job.flood) {
        Object.assign(job.row, {
          aloneRps: median(r.map((x) => x.aloneRps)),
          floodRps: median(r.map((x) => x.floodRps)),
          kept: median(r.map((x) => x.rps / x.aloneRps)),
        });
      }
      job.target.peakProcessBytes = Math.max(job.target.peakProcessBytes, job.row.peakProcessBytes);
      const base = jobs.find((j) => j.target.id === 'baseline' && !j.row.failed && j.rounds.length === r.length);
      // The ratio to the baseline is the median of per-round ratios: each pair was measured moments apart.
      if (base && job !== base) job.row.ratio = median(r.map((x, i) => x.rps / base.rounds[i].rps));
      progress(
        `  ${job.target.id.padEnd(18)} ${Math.round(job.row.rps)} req/s${job.row.ratio ? ` (${job.row.ratio.toFixed(2)}x)` : ''}${job.row.kept ? ` (kept ${job.row.kept.toFixed(2)} of ${Math.round(job.row.aloneRps)} alone, flood answered ${Math.round(job.row.floodRps)}/s)` : ''}, p99 ${job.row.p99Ms.toFixed(2)} ms, non-2xx ${job.row.non2xx}`,
      );
    }
  }
} finally {
  await cleanUp();
}

/** One measurement: a conversation's steps run here (flow.mjs), a repeated request by the load generator. */
function measure(load, seconds) {
  return load.step ? runFlow({ ...load, seconds }) : runLoad(options.load, { ...load, seconds });
}

/**
 * One round of a flood scenario: the legitimate load alone, then the same load with the flood on
 * as many connections. The flood's answers are failures by design (401, or 429 once throttled) and
 * are not counted as errors; the legitimate load's are.
 */
async function measureBesideFlood(job) {
  const alone = await runLoad(options.load, { ...job.load, seconds: options.seconds });
  const memory = sampleMemory(job.server.pid);
  const [beside, flood] = await Promise.all([
    runLoad(options.load, { ...job.load, seconds: options.seconds }),
    runLoad(options.load, { ...job.flood, seconds: options.seconds }),
  ]);
  const { peakProcessBytes } = memory.stop();
  return { ...beside, peakProcessBytes, aloneRps: alone.rps, floodRps: flood.rps };
}

run.elapsedSeconds = Math.round((Date.now() - Date.parse(run.startedAt)) / 1000);
const bars = checkBars(run);
console.log(formatReport(run, bars));
const resultsDir = join(import.meta.dirname, 'results');
mkdirSync(resultsDir, { recursive: true });
const json = `${JSON.stringify({ ...run, bars }, null, 2)}\n`;
const file = join(resultsDir, `${run.startedAt.replace(/[:.]/g, '-')}${options.smoke ? '-smoke' : ''}.json`);
writeFileSync(file, json);
writeFileSync(join(resultsDir, options.smoke ? 'latest-smoke.json' : 'latest.json'), json);
console.log(`\nwrote ${file} (the run took ${Math.floor(run.elapsedSeconds / 60)} min ${run.elapsedSeconds % 60} s)`);
rmSync(workDir, { recursive: true, force: true });

const hadErrors = run.rows.some((r) => r.failed || r.non2xx > 0 || r.errors > 0);
const missed = bars.some((b) => b.results.length && !b.pass);
process.exit(hadErrors || (args.strict && missed) ? 1 : 0);

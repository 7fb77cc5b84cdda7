// Turns the measurements into the printed table, the bar checks and the JSON written to bench/results/.

const MB = 1024 * 1024;

/** The bars of issue #4, each a function of the run's rows. A bar with no data says so. */
export function checkBars(run) {
  const measured = run.rows.filter((r) => !r.unsupported);
  const row = (target, scenario) => measured.find((r) => r.target === target && r.scenario === scenario && !r.failed);
  const base = (scenario) => row('baseline', scenario)?.rps;
  const gatehouse = measured.filter((r) => r.target !== 'baseline' && !r.failed);
  const bars = [];
  const bar = (text, results) => bars.push({ text, results });
  const ratio = (value, reference) => (value && reference ? value / reference : undefined);

  const ccScenarios = ['cc-basic', 'cc-post'];
  bar(
    'client credentials, one process: >= 0.9x baseline',
    ['pglite', 'postgres'].flatMap((t) => ccScenarios.map((s) => ({ what: `${t} ${s}`, value: row(t, s)?.ratio, min: 0.9, unit: 'x' }))),
  );
  bar(
    'client credentials, one worker per core: >= 1.5x baseline',
    ccScenarios.map((s) => ({
      what: `postgres-workers ${s}`,
      value: row('postgres-workers', s)?.ratio,
      min: 1.5,
      unit: 'x',
    })),
  );
  bar(
    'client credentials p99 < 25 ms at 16 connections',
    gatehouse
      .filter((r) => ccScenarios.includes(r.scenario))
      .map((r) => ({ what: `${r.target} ${r.scenario}`, value: r.p99Ms, max: 25, unit: 'ms' })),
  );
  bar(
    'JWT introspection: >= 0.8x baseline client-credentials rate',
    gatehouse
      .filter((r) => r.scenario === 'introspect-jwt')
      .map((r) => ({ what: r.target, value: ratio(r.rps, base('cc-basic')), min: 0.8, unit: 'x' })),
  );
  bar(
    'GET /api/v1/me and POST /api/v1/access-check (Token auth): >= 0.8x baseline client-credentials rate',
    gatehouse
      .filter((r) => r.scenario === 'me-token' || r.scenario === 'access-check')
      .map((r) => ({ what: `${r.target} ${r.scenario}`, value: ratio(r.rps, base('cc-basic')), min: 0.8, unit: 'x' })),
  );
  bar(
    'JWKS and discovery: >= 2x baseline client-credentials rate',
    gatehouse
      .filter((r) => r.scenario === 'jwks' || r.scenario === 'discovery')
      .map((r) => ({ what: `${r.target} ${r.scenario}`, value: ratio(r.rps, base('cc-basic')), min: 2, unit: 'x' })),
  );
  // Issue 8: a flood of unknown client ids must cost no more than one of wrong secrets for a
  // known client (within this machine's noise, 10 %). Each figure is the legitimate rate kept.
  bar(
    'flood of unknown client ids costs no more than a flood of wrong secrets (legitimate rate kept, >= 0.9x the wrong-secret figure)',
    [...new Set(gatehouse.map((r) => r.target))]
      .map((t) => ({ t, unknown: row(t, 'flood-unknown-client')?.kept, wrong: row(t, 'flood-wrong-secret')?.kept }))
      .filter((x) => x.unknown !== undefined && x.wrong !== undefined)
      .map((x) => ({ what: `${x.t} (kept ${fmt(x.unknown, 2)} vs ${fmt(x.wrong, 2)})`, value: x.unknown / x.wrong, min: 0.9, unit: 'x' })),
  );
  // Issue 10: API token introspection beside JWT introspection's bar, and the admin API's list.
  bar(
    'API token introspection: >= 0.8x baseline client-credentials rate',
    gatehouse
      .filter((r) => r.scenario === 'introspect-api-token')
      .map((r) => ({ what: r.target, value: ratio(r.rps, base('cc-basic')), min: 0.8, unit: 'x' })),
  );
  bar(
    'a page of 50 of 10,000 applications: p99 < 25 ms at 16 connections',
    gatehouse.filter((r) => r.scenario === 'list-applications').map((r) => ({ what: r.target, value: r.p99Ms, max: 25, unit: 'ms' })),
  );
  bar(
    'peak RSS per process under load <= 200 MB',
    run.targets
      .filter((t) => t.id !== 'baseline' && t.peakProcessBytes)
      .map((t) => ({ what: t.id, value: t.peakProcessBytes / MB, max: 200, unit: 'MB' })),
  );
  bar(
    'start to ready on the embedded database <= 3 s',
    run.targets
      .filter((t) => t.id === 'pglite' && t.readyMs)
      .flatMap((t) => [
        { what: 'restart', value: t.readyMs / 1000, max: 3, unit: 's' },
        { what: 'first start (empty directory)', value: t.firstReadyMs / 1000, max: 3, unit: 's' },
      ]),
  );
  bar(
    'no errors in any scenario',
    measured.map((r) => ({ what: `${r.target} ${r.scenario}`, value: r.failed ? Number.NaN : r.non2xx + r.errors, max: 0, unit: '' })),
  );
  for (const b of bars) {
    for (const r of b.results)
      r.pass = Number.isFinite(r.value) && (r.min === undefined || r.value >= r.min) && (r.max === undefined || r.value <= r.max);
    b.pass = b.results.length > 0 && b.results.every((r) => r.pass);
  }
  return bars;
}

const fmt = (n, digits = 0) =>
  Number.isFinite(n) ? n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }) : '-';

function table(rows) {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => String(r[i]).length)));
  const numeric = rows[0].map((_, i) => i >= 2);
  return rows
    .map((r, n) => {
      const line = r.map((c, i) => (numeric[i] ? String(c).padStart(widths[i]) : String(c).padEnd(widths[i]))).join('  ');
      return n === 0 ? `${line}\n${widths.map((w) => '-'.repeat(w)).join('  ')}` : line;
    })
    .join('\n');
}

export function formatReport(run, bars) {
  const header = ['scenario', 'server', 'req/s', 'x base', 'p50 ms', 'p99 ms', 'non-2xx', 'errors', 'peak RSS MB'];
  const body = run.rows.map((r) => {
    if (r.failed) return [r.scenario, r.target, 'FAILED', '-', '-', '-', '-', '-', r.failed.slice(0, 60)];
    if (r.unsupported) return [r.scenario, r.target, 'n/a', '', '', '', '', '', ''];
    return [
      r.scenario,
      r.target,
      fmt(r.rps),
      r.ratio ? `${fmt(r.ratio, 2)}x` : r.kept ? `kept ${fmt(r.kept, 2)}` : '',
      fmt(r.p50Ms, 2),
      fmt(r.p99Ms, 2),
      fmt(r.non2xx),
      fmt(r.errors),
      fmt(r.peakProcessBytes / MB, 0),
    ];
  });
  const lines = [
    `Gatehouse benchmark ${run.startedAt}  (${run.options.load}, ${run.options.connections} connections; per scenario ${run.options.rounds} rounds of ${run.options.seconds} s per target after ${run.options.warmupSeconds} s warm-up; medians; node ${run.environment.node}, ${run.environment.cpus} CPUs)`,
    '',
    table([header, ...body]),
    '',
    'start to ready: ' +
      run.targets
        .filter((t) => t.readyMs)
        .map((t) => `${t.id} ${fmt(t.readyMs)} ms${t.firstReadyMs ? ` (first start ${fmt(t.firstReadyMs)} ms)` : ''}`)
        .join(', '),
  ];
  for (const t of run.targets.filter((t) => t.skipped)) lines.push(`skipped ${t.id}: ${t.skipped}`);
  for (const r of run.rows.filter((r) => r.unsupported)) lines.push(`n/a: ${r.scenario} on ${r.target}: ${r.unsupported}`);
  lines.push('', 'bars:');
  for (const b of bars) {
    lines.push(`  [${b.results.length === 0 ? 'n/a ' : b.pass ? 'PASS' : 'MISS'}] ${b.text}`);
    for (const r of b.results.filter((r) => !r.pass)) {
      const limit = r.min !== undefined ? `>= ${r.min}` : `<= ${r.max}`;
      lines.push(`         ${r.what}: ${fmt(r.value, 2)}${r.unit} (want ${limit}${r.unit})`);
    }
  }
  return lines.join('\n');
}

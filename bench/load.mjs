// Drives one HTTP scenario with a real load generator and returns what it measured.
// wrk (Debian package `wrk`, C, one thread) is preferred: it leaves more of a 2-core machine to the
// server under test than autocannon, which runs in this Node process. autocannon is the fallback
// when wrk is not installed, so the benchmark runs anywhere `npm ci` ran.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** @typedef {{ method: string, path: string, headers?: Record<string,string>, bodies?: string[], paths?: string[] }} LoadRequest */
/**
 * @typedef {object} LoadResult
 * @property {number} requests      completed responses
 * @property {number} rps           responses per second
 * @property {number} p50Ms
 * @property {number} p99Ms
 * @property {number} non2xx        responses whose status was not 2xx
 * @property {number} errors        connect/read/write errors and timeouts
 */

export function loadGenerator(preferred) {
  if (preferred === 'autocannon') return 'autocannon';
  const hasWrk = spawnSync('wrk', ['--version']).error === undefined;
  if (preferred === 'wrk' && !hasWrk) throw new Error('--load wrk: wrk is not installed (apt-get install wrk)');
  return hasWrk ? 'wrk' : 'autocannon';
}

/**
 * @param {string} generator 'wrk' | 'autocannon'
 * @param {{ baseUrl: string, request: LoadRequest, connections: number, seconds: number }} options
 * @returns {Promise<LoadResult>}
 */
export function runLoad(generator, options) {
  return generator === 'wrk' ? runWrk(options) : runAutocannon(options);
}

const luaString = (s) => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;

// Each wrk thread loads the script; bodies (or paths) are cycled per request. `response` counts non-2xx
// statuses (wrk's own counter only sees status > 399), and `done` reports per-thread counters.
function wrkScript({ method, headers = {}, bodies = [], paths = [] }, bodiesFile) {
  const headerLines = Object.entries(headers)
    .map(([k, v]) => `wrk.headers[${luaString(k)}] = ${luaString(v)}`)
    .join('\n');
  return `
wrk.method = ${luaString(method)}
${headerLines}
local bodies = {}
${bodies.length ? `for line in io.lines(${luaString(bodiesFile)}) do bodies[#bodies + 1] = line end` : ''}
local paths = { ${paths.map(luaString).join(', ')} }
local i = 0
non2xx = 0
local threads = {}
function setup(thread) threads[#threads + 1] = thread end
${
  bodies.length
    ? `function request()
  i = i % #bodies + 1
  return wrk.format(nil, nil, nil, bodies[i])
end`
    : paths.length
      ? `function request()
  i = i % #paths + 1
  return wrk.format(nil, paths[i])
end`
      : ''
}
function response(status, headers, body)
  if status < 200 or status > 299 then non2xx = non2xx + 1 end
end
function done(summary, latency, requests)
  local n = 0
  for _, t in ipairs(threads) do n = n + t:get("non2xx") end
  local e = summary.errors
  io.write(string.format('\\n@@RESULT {"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"non2xx":%d,"errors":%d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), n,
    e.connect + e.read + e.write + e.timeout))
end
`;
}

async function runWrk({ baseUrl, request, connections, seconds }) {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-bench-wrk-'));
  try {
    const bodiesFile = join(dir, 'bodies.txt');
    if (request.bodies?.length) writeFileSync(bodiesFile, `${request.bodies.join('\n')}\n`);
    const script = join(dir, 'script.lua');
    writeFileSync(script, wrkScript(request, bodiesFile));
    const args = [
      '-t1',
      `-c${connections}`,
      `-d${Math.max(1, Math.round(seconds))}s`,
      '--timeout',
      '10s',
      '-s',
      script,
      baseUrl + request.path,
    ];
    const output = await new Promise((resolve, reject) => {
      const child = spawn('wrk', args, { stdio: ['ignore', 'pipe', 'pipe'] });
      let text = '';
      child.stdout.on('data', (d) => {
        text += d;
      });
      child.stderr.on('data', (d) => {
        text += d;
      });
      child.on('error', reject);
      child.on('exit', (code) => (code === 0 ? resolve(text) : reject(new Error(`wrk exited with ${code}:\n${text}`))));
    });
    const line = output.split('\n').find((l) => l.startsWith('@@RESULT '));
    if (!line) throw new Error(`wrk printed no result:\n${output}`);
    const r = JSON.parse(line.slice('@@RESULT '.length));
    return {
      requests: r.requests,
      rps: r.requests / (r.duration_us / 1e6),
      p50Ms: r.p50_us / 1000,
      p99Ms: r.p99_us / 1000,
      non2xx: r.non2xx,
      errors: r.errors,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function runAutocannon({ baseUrl, request, connections, seconds }) {
  const { default: autocannon } = await import('autocannon');
  const bodies = request.bodies ?? [];
  const paths = request.paths ?? [];
  let i = 0;
  const result = await autocannon({
    url: baseUrl,
    connections,
    duration: seconds,
    timeout: 10,
    requests: [
      {
        method: request.method,
        path: request.path,
        headers: request.headers ?? {},
        ...(bodies.length
          ? {
              setupRequest: (req) => {
                i = (i + 1) % bodies.length;
                return { ...req, body: bodies[i] };
              },
            }
          : paths.length
            ? {
                setupRequest: (req) => {
                  i = (i + 1) % paths.length;
                  return { ...req, path: paths[i] };
                },
              }
            : {}),
      },
    ],
  });
  const requests = result.requests.total;
  return {
    requests,
    rps: requests / (result.duration || seconds),
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
  };
}

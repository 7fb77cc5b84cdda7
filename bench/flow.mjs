// Drives a scenario that is a conversation, not one request repeated: a person signing in (several
// requests carrying cookies and form fields from one answer to the next), or a client rotating its
// refresh token (each request needs what the previous answer returned). wrk and autocannon repeat
// fixed requests, so these run here: `connections` workers, each doing `step` again and again for
// `seconds`, one HTTP connection's worth of concurrency each. A step's latency is the whole
// conversation's; a step that throws counts as non-2xx (the first failure's message is kept).
//
// The steps run in this Node process, so they take some CPU from the server under test on a
// 2-core machine: these figures compare Gatehouse with itself, never with wrk-driven ones.

/**
 * @param {{ step: (worker: number) => Promise<void>, connections: number, seconds: number }} options
 * @returns {Promise<import('./load.mjs').LoadResult & { firstFailure?: string }>}
 */
export async function runFlow({ step, connections, seconds }) {
  const latencies = [];
  let failures = 0;
  let firstFailure;
  const started = performance.now();
  const deadline = started + seconds * 1000;
  const worker = async (index) => {
    while (performance.now() < deadline) {
      const t0 = performance.now();
      try {
        await step(index);
        latencies.push(performance.now() - t0);
      } catch (err) {
        failures++;
        firstFailure ??= err instanceof Error ? err.message : String(err);
      }
    }
  };
  await Promise.all(Array.from({ length: connections }, (_, i) => worker(i)));
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (q) => (latencies.length ? latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] : Number.NaN);
  return {
    requests: latencies.length,
    rps: latencies.length / elapsed,
    p50Ms: at(0.5),
    p99Ms: at(0.99),
    non2xx: failures,
    errors: 0,
    ...(firstFailure ? { firstFailure } : {}),
  };
}

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Cluster, startCluster } from '../../scripts/pg-cluster.mjs';
import { type CliClient, introspect, isAlive, issueToken, revoke, seedMachineClient, waitFor } from '../support/process.ts';
import { newMasterKey, type SpawnedServer, spawnServer } from '../support/server.ts';
import { TEST_DB } from '../support/test-database.ts';

/**
 * Issue 8 item 2: PostgreSQL restarted under a running server (`pg_ctl -m fast stop`, then start)
 * must not kill it. Fast shutdown ends every backend with 57P01 and closes its socket; a pool
 * connection that was checked out at that moment (for /readyz, a raw transaction, a Prisma query)
 * had no 'error' listener, so the event was unhandled and the process died (4 of 6 trials).
 * /readyz is polled hard while the cluster goes down, so connections are checked out when it does;
 * the stop and start are repeated to make a miss unlikely.
 *
 * The server runs as its own process on its own cluster: this test stops that cluster.
 */
const RESTARTS = 3;
const POLLERS = 6;

// PostgreSQL only: the embedded database (PGlite) lives inside the server process and cannot be
// restarted under it.
describe.skipIf(TEST_DB !== 'postgres')('a PostgreSQL restart under a running server [PostgreSQL only]', { timeout: 180_000 }, () => {
  let cluster: Cluster | undefined;
  let server: SpawnedServer | undefined;
  let dataDir: string | undefined;
  let client: CliClient;

  beforeAll(async () => {
    cluster = await startCluster();
    dataDir = mkdtempSync(join(tmpdir(), 'gatehouse-pg-restart-'));
    const env = { DATABASE_URL: cluster.url, DATA_DIR: dataDir, MASTER_KEY: newMasterKey(), DATABASE_POOL_SIZE: '4' };
    server = await spawnServer(env);
    client = await seedMachineClient(server.env);
  });

  afterAll(async () => {
    // Never hangs: the server gets SIGTERM, then SIGKILL, each with a bounded wait; the cluster is
    // stopped with pg_ctl's own timeout.
    if (server) await stopWithin(server, 5_000);
    try {
      cluster?.stop();
    } catch {}
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it(`stays up, answers /readyz 503 while the database is down and serves again after it is back [${RESTARTS} restarts]`, async () => {
    const live = server as SpawnedServer;
    const pg = cluster as Cluster;
    expect((await fetch(`${live.url}/readyz`)).status).toBe(200);

    for (let round = 1; round <= RESTARTS; round++) {
      const polling = pollReadiness(live.url, POLLERS);
      // Let the pollers get connections checked out before the shutdown starts.
      await new Promise((r) => setTimeout(r, 300));
      await pg.halt({ mode: 'fast' });
      const exited = () => live.child.exitCode !== null || live.child.signalCode !== null;
      await waitFor(() => polling.statuses.includes(503) || exited(), `/readyz 503 while PostgreSQL is down [round ${round}]`, {
        timeoutMs: 10_000,
      });
      // Keep polling a while with the database gone: the process must stay alive throughout.
      await new Promise((r) => setTimeout(r, 500));
      expect(exited() || !isAlive(live.child.pid as number), `server died with PostgreSQL [round ${round}]:\n${notableOutput(live)}`).toBe(
        false,
      );
      const down = await fetch(`${live.url}/readyz`);
      expect(down.status).toBe(503);
      expect(((await down.json()) as { checks: Record<string, string> }).checks.database).toBe('failing');

      await pg.resume();
      await waitFor(async () => (await fetch(`${live.url}/readyz`)).status === 200, `/readyz 200 after the restart [round ${round}]`, {
        timeoutMs: 20_000,
        intervalMs: 100,
      });
      const results = await polling.stop();
      expect(live.child.exitCode, notableOutput(live)).toBeNull();
      expect(live.child.signalCode).toBeNull();
      // Every poll got an HTTP answer: no connection was refused or cut by a dying process.
      expect(results.failures, `failed polls [round ${round}]`).toStrictEqual([]);
      expect(results.statuses.every((s) => s === 200 || s === 503)).toBe(true);

      // It serves again, database included: a token, its introspection and its revocation (a write).
      const token = await issueToken(live.url, client);
      expect(await introspect(live.url, client, token)).toMatchObject({ active: true, client_id: client.clientId });
      expect(await revoke(live.url, client, token)).toBe(200);
      expect((await introspect(live.url, client, token)).active).toBe(false);
    }
  });
});

/** `n` loops fetching /readyz back to back until stopped, recording statuses and failures. */
function pollReadiness(url: string, n: number) {
  const statuses: number[] = [];
  const failures: string[] = [];
  let running = true;
  const loops = Array.from({ length: n }, async () => {
    while (running) {
      try {
        const res = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(5_000) });
        await res.arrayBuffer();
        statuses.push(res.status);
      } catch (err) {
        failures.push(String((err as { cause?: unknown }).cause ?? err));
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  });
  return {
    statuses,
    async stop() {
      running = false;
      await Promise.all(loops);
      return { statuses, failures };
    },
  };
}

/** What a spawned server printed, minus its access lines (the pollers make thousands). */
function notableOutput(server: SpawnedServer): string {
  return server
    .output()
    .split('\n')
    .filter((line) => !line.includes('"msg":"request"'))
    .slice(-40)
    .join('\n');
}

/** SIGTERM, then SIGKILL after `ms`, then give up waiting after another `ms`. */
async function stopWithin(server: SpawnedServer, ms: number): Promise<void> {
  const { child } = server;
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const within = (t: number) => Promise.race([exited.then(() => true), new Promise<boolean>((r) => setTimeout(r, t, false).unref())]);
  child.kill('SIGTERM');
  if (await within(ms)) return;
  child.kill('SIGKILL');
  await within(ms);
}

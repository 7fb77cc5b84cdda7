import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basicAuth } from '../support/fixtures.ts';
import { type CliClient, isAlive, logRecords, rawRequest, seedMachineClient, stopAll, waitFor } from '../support/process.ts';
import { newMasterKey, type SpawnedServer, spawnServer } from '../support/server.ts';
import { createTestDatabase, TEST_DB, type TestDatabase } from '../support/test-database.ts';

// WORKERS=2 (PostgreSQL only) runs a supervisor that forks two HTTP workers sharing one port
// (node:cluster). Every log line carries the pid of the process that wrote it.

/** A fresh database with a machine client, and a WORKERS=2 server on it, for one describe block. */
function workersServer() {
  const state: { db?: TestDatabase; client?: CliClient; server?: SpawnedServer } = {};
  beforeAll(async () => {
    state.db = await createTestDatabase();
    const env = { ...state.db.env, MASTER_KEY: newMasterKey() };
    state.client = await seedMachineClient(env);
    state.server = await spawnServer({ ...env, WORKERS: '2' });
  });
  afterAll(async () => {
    await stopAll(state.server);
    await state.db?.drop();
  });
  return {
    get client() {
      return state.client as CliClient;
    },
    get server() {
      return state.server as SpawnedServer;
    },
  };
}

/** Pids of the workers that logged being ready (each worker announces itself once it listens). */
function readyWorkers(running: SpawnedServer): number[] {
  return [
    ...new Set(
      logRecords(running)
        .filter((r) => typeof r.msg === 'string' && r.msg.startsWith('gatehouse ready'))
        .map((r) => r.pid as number),
    ),
  ];
}

/** `count` concurrent client-credentials requests, answered by status (or by how they failed). */
async function tokenBurst(running: SpawnedServer, client: CliClient, count: number, requestId?: (i: number) => string) {
  const form = new URLSearchParams({ grant_type: 'client_credentials', audience: client.identifier }).toString();
  const results = await Promise.all(
    Array.from({ length: count }, (_, i) =>
      rawRequest(running.url, {
        method: 'POST',
        path: '/oauth/token',
        headers: {
          authorization: basicAuth(client.clientId, client.clientSecret),
          'content-type': 'application/x-www-form-urlencoded',
          ...(requestId ? { 'x-request-id': requestId(i) } : {}),
        },
        body: form,
      }),
    ),
  );
  return results.map((r) => (r.ok ? r.status : `${r.phase}:${r.code}`));
}

describe.runIf(TEST_DB === 'postgres')('WORKERS=2', { timeout: 90_000 }, () => {
  const setup = workersServer();

  it('serves a burst of token requests on one port from both workers, and SIGTERM stops supervisor and workers with exit 0', async () => {
    const running = setup.server;
    const supervisor = running.child.pid as number;
    // spawnServer returned when the first worker was ready; wait for the second.
    const workerPids = await waitFor(
      () => (readyWorkers(running).length === 2 ? readyWorkers(running) : undefined),
      'two workers to be ready',
      {
        timeoutMs: 30_000,
      },
    );
    expect(workerPids).not.toContain(supervisor);

    expect(await tokenBurst(running, setup.client, 40, (i) => `worker-burst-${i}`)).toEqual(Array(40).fill(200));

    // Each connection went to one worker or the other (round-robin), never to the supervisor.
    const servedBy = await waitFor(
      () => {
        const byId = new Map(
          logRecords(running)
            .filter((r) => typeof r.reqId === 'string' && r.reqId.startsWith('worker-burst-') && r.msg === 'request')
            .map((r) => [r.reqId as string, r.pid as number]),
        );
        return byId.size === 40 ? byId : undefined;
      },
      'a log line for every request',
      { timeoutMs: 5_000 },
    );
    expect(new Set(servedBy.values())).toEqual(new Set(workerPids));

    expect(await running.stop('SIGTERM')).toBe(0);
    expect(isAlive(supervisor)).toBe(false);
    await waitFor(() => workerPids.every((pid) => !isAlive(pid)), 'the worker processes to be gone', { timeoutMs: 5_000 });
  });
});

describe.runIf(TEST_DB === 'postgres')('WORKERS=2, a worker crashing', { timeout: 90_000 }, () => {
  const setup = workersServer();

  it('is replaced by the supervisor, and the port keeps answering token requests', async () => {
    const running = setup.server;
    const [victim, survivor] = await waitFor(
      () => (readyWorkers(running).length === 2 ? readyWorkers(running) : undefined),
      'two workers',
      {
        timeoutMs: 30_000,
      },
    );
    process.kill(victim as number, 'SIGKILL');

    const replacement = await waitFor(
      () => readyWorkers(running).find((pid) => pid !== victim && pid !== survivor),
      'a replacement worker to be ready',
      { timeoutMs: 30_000 },
    );
    expect(isAlive(victim as number)).toBe(false);
    expect(isAlive(replacement)).toBe(true);
    const crashLine = logRecords(running).find((r) => r.msg === 'worker exited; starting a replacement');
    expect(crashLine).toMatchObject({ signal: 'SIGKILL', level: 'error' });

    expect(await tokenBurst(running, setup.client, 20)).toEqual(Array(20).fill(200));
    expect(await running.stop('SIGTERM')).toBe(0);
  });
});

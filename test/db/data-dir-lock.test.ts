import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../scripts/pg-cluster.mjs';
import { acquireDataDirLock, type DataDirLock, DataDirLockedError, lockPath, readLockOwner } from '../../src/db/data-dir-lock.ts';
import {
  type CliClient,
  cliJson,
  introspect,
  issueToken,
  requestToken,
  runGatehouse,
  seedMachineClient,
  stopAll,
} from '../support/process.ts';
import { newMasterKey, type SpawnedServer, spawnServer } from '../support/server.ts';
import { createTestDatabase, TEST_DB, type TestDatabase } from '../support/test-database.ts';

// PGlite is one process per data directory; a second opener corrupts it (DESIGN.md §1). The lock
// file makes a second process refuse instead, and a lock left by a crash is taken over.

/** The pid of a process that has exited (and been reaped), so certainly not alive. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(child.stdout);
}

function writeLock(dir: string, owner: Record<string, unknown>) {
  writeFileSync(lockPath(dir), JSON.stringify({ hostname: hostname(), role: 'server', since: new Date().toISOString(), ...owner }));
}

describe.runIf(TEST_DB === 'pglite')('data-directory lock', () => {
  let dir: string;
  const held: DataDirLock[] = [];
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-lock-'));
  });
  afterEach(() => {
    for (const lock of held.splice(0)) lock.release();
    rmSync(lockPath(dir), { force: true });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes a lock file naming this process and removes it on release', () => {
    const lock = acquireDataDirLock(dir, 'server');
    held.push(lock);
    const owner = JSON.parse(readFileSync(lockPath(dir), 'utf8'));
    expect(owner).toMatchObject({ pid: process.pid, hostname: hostname(), role: 'server' });
    expect(new Date(owner.since).getTime()).toBeGreaterThan(Date.now() - 60_000);
    expect(statSync(lockPath(dir)).mode & 0o777).toBe(0o600);
    expect(readLockOwner(dir)).toEqual(owner);
    lock.release();
    expect(existsSync(lockPath(dir))).toBe(false);
    expect(readLockOwner(dir)).toBeNull();
    // No temporary draft files are left beside it.
    expect(readdirSync(dir)).toEqual([]);
  });

  it('can be acquired again after it is released', () => {
    acquireDataDirLock(dir, 'server').release();
    const again = acquireDataDirLock(dir, 'cli apis.list');
    held.push(again);
    expect(readLockOwner(dir)).toMatchObject({ pid: process.pid, role: 'cli apis.list' });
  });

  it('creates a missing data directory with mode 0700', () => {
    const nested = join(dir, 'new', 'data');
    const lock = acquireDataDirLock(nested, 'server');
    held.push(lock);
    expect(statSync(nested).mode & 0o777).toBe(0o700);
    lock.release();
    rmSync(join(dir, 'new'), { recursive: true });
  });

  it('refuses while the lock is held, naming the holder, and leaves its lock alone', () => {
    const lock = acquireDataDirLock(dir, 'server');
    held.push(lock);
    const before = readFileSync(lockPath(dir), 'utf8');
    let error: unknown;
    try {
      acquireDataDirLock(dir, 'cli keys.rotate');
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(DataDirLockedError);
    expect((error as DataDirLockedError).owner).toMatchObject({ pid: process.pid, role: 'server' });
    expect((error as Error).message).toContain(`pid ${process.pid}`);
    expect(readFileSync(lockPath(dir), 'utf8')).toBe(before);
  });

  it('refuses a lock held by another live process', async () => {
    const sleeper = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      writeLock(dir, { pid: sleeper.pid });
      expect(() => acquireDataDirLock(dir, 'server')).toThrow(new RegExp(`pid ${sleeper.pid}, server`));
      expect(readLockOwner(dir)?.pid).toBe(sleeper.pid);
    } finally {
      sleeper.kill('SIGKILL');
    }
  });

  it('takes over a stale lock whose process is gone (a crash or kill -9)', () => {
    const pid = deadPid();
    writeLock(dir, { pid });
    expect(readLockOwner(dir)).toBeNull();
    const lock = acquireDataDirLock(dir, 'server');
    held.push(lock);
    expect(readLockOwner(dir)).toMatchObject({ pid: process.pid, role: 'server' });
  });

  const takeoverRight = (content: string, generation: number) =>
    `${lockPath(dir)}.takeover-${createHash('sha256').update(content).digest('hex').slice(0, 16)}-${generation}`;

  it('leaves a stale lock alone while another live process holds the right to take it over', async () => {
    writeLock(dir, { pid: deadPid() });
    const stale = readFileSync(lockPath(dir), 'utf8');
    const sleeper = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      writeFileSync(takeoverRight(stale, 0), JSON.stringify({ pid: sleeper.pid, hostname: hostname(), role: 'takeover', since: '' }));
      expect(() => acquireDataDirLock(dir, 'server')).toThrow(/could not lock data directory/);
      expect(readFileSync(lockPath(dir), 'utf8')).toBe(stale);
    } finally {
      sleeper.kill('SIGKILL');
      rmSync(takeoverRight(stale, 0), { force: true });
    }
  });

  it('takes over a stale lock whose previous taker died mid-takeover, and clears the leftovers', () => {
    writeLock(dir, { pid: deadPid() });
    const stale = readFileSync(lockPath(dir), 'utf8');
    writeFileSync(takeoverRight(stale, 0), JSON.stringify({ pid: deadPid(), hostname: hostname(), role: 'takeover', since: '' }));
    writeFileSync(takeoverRight(stale, 1), ''); // died between creating and writing it
    const lock = acquireDataDirLock(dir, 'server');
    held.push(lock);
    expect(readLockOwner(dir)).toMatchObject({ pid: process.pid });
    expect(readdirSync(dir)).toEqual(['gatehouse.lock']);
  });

  it('treats a lock from another host as held (its pid cannot be checked from here)', () => {
    writeLock(dir, { pid: deadPid(), hostname: `not-${hostname()}` });
    expect(() => acquireDataDirLock(dir, 'server')).toThrow(DataDirLockedError);
  });

  it('lets exactly one of several processes racing for a directory take it, free or stale-locked', async () => {
    // Each racer walks the same directories in lock-step (a shared schedule on the wall clock), so
    // they contend for each one within microseconds. Even directories start with a stale lock.
    const count = 200;
    const root = mkdtempSync(join(tmpdir(), 'gatehouse-race-'));
    try {
      const dead = deadPid();
      for (let i = 0; i < count; i += 2) {
        mkdirSync(join(root, String(i)));
        writeLock(join(root, String(i)), { pid: dead });
      }
      const script = `
        const { acquireDataDirLock } = await import(${JSON.stringify(new URL('../../src/db/data-dir-lock.ts', import.meta.url).href)});
        const now = () => performance.timeOrigin + performance.now();
        process.stdout.write('ready\\n');
        process.stdin.once('data', (d) => {
          const t0 = Number(String(d));
          const won = [];
          for (let i = 0; i < ${count}; i++) {
            while (now() < t0 + i * 2) {}
            try { acquireDataDirLock(process.argv[1] + '/' + i, 'racer'); won.push(i); }
            catch (err) { if (err.name !== 'DataDirLockedError') throw err; }
          }
          // Report, then keep holding the locks until every racer is done.
          process.stdout.write(JSON.stringify(won) + '\\n');
        });
      `;
      const racers = Array.from({ length: 3 }, () => {
        const child = spawn(
          process.execPath,
          ['--experimental-transform-types', '--no-warnings', '--input-type=module', '-e', script, root],
          {
            stdio: ['pipe', 'pipe', 'inherit'],
          },
        );
        const lines: string[] = [];
        const waiters: Array<() => void> = [];
        let buffer = '';
        child.stdout.on('data', (d: Buffer) => {
          buffer += d.toString();
          const parts = buffer.split('\n');
          buffer = parts.pop() ?? '';
          lines.push(...parts);
          for (const w of waiters.splice(0)) w();
        });
        const line = (n: number) =>
          new Promise<string>((resolve, reject) => {
            const check = () => (lines.length > n ? resolve(lines[n] as string) : waiters.push(check));
            child.once('exit', (code) => reject(new Error(`racer exited with ${code}`)));
            check();
          });
        return { child, line };
      });
      try {
        await Promise.all(racers.map((r) => r.line(0)));
        const t0 = Date.now() + 100;
        for (const r of racers) r.child.stdin?.write(String(t0));
        const won = (await Promise.all(racers.map((r) => r.line(1)))).map((l) => JSON.parse(l) as number[]);
        const winners = Array.from({ length: count }, (_, i) => won.filter((w) => w.includes(i)).length);
        expect(winners.flatMap((n, i) => (n === 1 ? [] : [`directory ${i}: ${n} winners`]))).toEqual([]);
        expect(readdirSync(join(root, '0'))).toEqual(['gatehouse.lock']);
      } finally {
        for (const r of racers) r.child.kill('SIGKILL');
      }
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe.runIf(TEST_DB === 'pglite')('a second gatehouse serve on a data directory in use', { timeout: 120_000 }, () => {
  let db: TestDatabase;
  let env: Record<string, string>;
  let client: CliClient;
  let first: SpawnedServer | undefined;
  let third: SpawnedServer | undefined;
  beforeAll(async () => {
    db = await createTestDatabase();
    env = { ...db.env, MASTER_KEY: newMasterKey(), PORT: String(await freePort()) };
    client = await seedMachineClient(env);
  });
  afterAll(async () => {
    await stopAll(first, third);
    await db?.drop();
  });

  it('exits 1 naming the pid that holds it, and leaves the running server and the directory intact', async () => {
    first = await spawnServer(env);
    const pid = first.child.pid as number;
    const token = await issueToken(first.url, client);

    const second = await runGatehouse({ ...env, PORT: String(await freePort()) }, ['serve'], { timeoutMs: 60_000 });
    expect(second.code).toBe(1);
    expect(`${second.stdout}${second.stderr}`).toContain(`pid ${pid}`);
    expect(JSON.parse(readFileSync(lockPath(db.dataDir), 'utf8')).pid).toBe(pid);

    // The first server still serves, and the CLI still reaches it through its control socket.
    expect((await requestToken(first.url, client)).status).toBe(200);
    expect(await introspect(first.url, client, token)).toMatchObject({ active: true });
    const apis = await cliJson<Array<{ identifier: string }>>(env, ['apis', 'list']);
    expect(apis.map((a) => a.identifier)).toContain(client.identifier);

    expect(await first.stop('SIGTERM')).toBe(0);
    third = await spawnServer(env);
    expect((await requestToken(third.url, client)).status).toBe(200);
    expect(await introspect(third.url, client, token)).toMatchObject({ active: true });
  });
});

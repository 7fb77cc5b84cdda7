import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../scripts/pg-cluster.mjs';
import { acquireDataDirLock, type DataDirLock, DataDirLockedError, lockPath, readLockRecord } from '../../src/db/data-dir-lock.ts';
import {
  type CliClient,
  cliJson,
  introspect,
  issueToken,
  requestToken,
  runGatehouse,
  seedMachineClient,
  stopAll,
  waitFor,
} from '../support/process.ts';
import { newMasterKey, type SpawnedServer, spawnServer } from '../support/server.ts';
import { createTestDatabase, TEST_DB, type TestDatabase } from '../support/test-database.ts';

// PGlite is one process per data directory; a second opener corrupts it (DESIGN.md §1). A kernel
// lock (flock on $DATA_DIR/gatehouse.lock) makes a second process refuse, and the kernel releases
// it when its holder dies, whatever pid the next holder has. The lock file's record only names the
// holder for the error message.

const LOCK_MODULE = JSON.stringify(new URL('../../src/db/data-dir-lock.ts', import.meta.url).href);

function writeRecord(dir: string, owner: Record<string, unknown>) {
  writeFileSync(lockPath(dir), JSON.stringify({ hostname: hostname(), role: 'server', since: new Date().toISOString(), ...owner }));
}

/** A separate Node process running `script` (ESM, with `acquireDataDirLock` in scope); resolves once it prints `ready`. */
async function nodeProcess(
  script: string,
  args: string[],
  options: { detached?: boolean; env?: Record<string, string> } = {},
): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    [
      '--experimental-transform-types',
      '--no-warnings',
      '--input-type=module',
      '-e',
      `const { acquireDataDirLock } = await import(${LOCK_MODULE});\n${script}`,
      ...args,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'], detached: options.detached ?? false, env: options.env ?? process.env },
  );
  let out = '';
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  await waitFor(() => {
    if (child.exitCode !== null) throw new Error(`exited with ${child.exitCode}: ${out}`);
    return out.includes('ready');
  }, 'the child to take the lock');
  return child;
}

/** Whether the kernel lock on `dir` is free, asked of flock(1) directly (it takes and drops it). */
function isLockFree(dir: string): boolean {
  return spawnSync('flock', ['--nonblock', '--conflict-exit-code', '75', lockPath(dir), 'true']).status === 0;
}

describe.runIf(TEST_DB === 'pglite')('data-directory lock', () => {
  let dir: string;
  const held: DataDirLock[] = [];
  const children: ChildProcess[] = [];
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-lock-'));
  });
  afterEach(async () => {
    await Promise.all(held.splice(0).map((lock) => lock.release()));
    for (const child of children.splice(0)) child.kill('SIGKILL');
    rmSync(lockPath(dir), { force: true });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('records this process as the holder while held, and empties the record on release', async () => {
    const lock = await acquireDataDirLock(dir, 'server');
    held.push(lock);
    const owner = JSON.parse(readFileSync(lockPath(dir), 'utf8'));
    expect(owner).toMatchObject({ pid: process.pid, hostname: hostname(), role: 'server' });
    expect(new Date(owner.since).getTime()).toBeGreaterThan(Date.now() - 60_000);
    expect(statSync(lockPath(dir)).mode & 0o777).toBe(0o600);
    expect(readLockRecord(dir)).toEqual(owner);
    expect(isLockFree(dir)).toBe(false);
    await lock.release();
    expect(isLockFree(dir)).toBe(true);
    // The file stays (deleting a lock file races with its next taker); it names nobody.
    expect(readFileSync(lockPath(dir), 'utf8')).toBe('');
    expect(readLockRecord(dir)).toBeNull();
    expect(readdirSync(dir)).toEqual(['gatehouse.lock']);
  });

  it('can be acquired again after it is released', async () => {
    await (await acquireDataDirLock(dir, 'server')).release();
    const again = await acquireDataDirLock(dir, 'cli apis.list');
    held.push(again);
    expect(readLockRecord(dir)).toMatchObject({ pid: process.pid, role: 'cli apis.list' });
  });

  it('creates a missing data directory with mode 0700', async () => {
    const nested = join(dir, 'new', 'data');
    const lock = await acquireDataDirLock(nested, 'server');
    expect(statSync(nested).mode & 0o777).toBe(0o700);
    await lock.release();
    rmSync(join(dir, 'new'), { recursive: true });
  });

  it('refuses while the lock is held, naming the holder and how to recover, and leaves its record alone', async () => {
    const lock = await acquireDataDirLock(dir, 'server');
    held.push(lock);
    const before = readFileSync(lockPath(dir), 'utf8');
    const error = await acquireDataDirLock(dir, 'cli keys.rotate').catch((err: unknown) => err);
    expect(error).toBeInstanceOf(DataDirLockedError);
    expect((error as DataDirLockedError).owner).toMatchObject({ pid: process.pid, role: 'server' });
    const message = (error as Error).message;
    expect(message).toContain(`another Gatehouse process is using DATA_DIR ${dir}`);
    expect(message).toContain(`pid ${process.pid} on ${hostname()}, server`);
    expect(message).toContain(`fuser -v ${lockPath(dir)}`);
    expect(readFileSync(lockPath(dir), 'utf8')).toBe(before);
  });

  it('refuses while another process holds it, and is free as soon as that process is killed with SIGKILL', async () => {
    const holder = await nodeProcess(
      `await acquireDataDirLock(process.argv[1], 'server'); process.stdout.write('ready\\n'); setInterval(() => {}, 1000);`,
      [dir],
    );
    children.push(holder);
    await expect(acquireDataDirLock(dir, 'server')).rejects.toThrow(new RegExp(`pid ${holder.pid} on .*, server`));
    holder.kill('SIGKILL');
    // Nothing to take over: the kernel released the lock with its holder. The record still names it.
    const lock = await waitFor(() => acquireDataDirLock(dir, 'server'), 'the lock to be released', { timeoutMs: 5000 });
    held.push(lock);
    expect(readLockRecord(dir)).toMatchObject({ pid: process.pid });
  });

  it('does not keep its process alive, and is released when that process exits without releasing it', async () => {
    const started = Date.now();
    const child = spawn(
      process.execPath,
      [
        '--experimental-transform-types',
        '--no-warnings',
        '--input-type=module',
        '-e',
        `const { acquireDataDirLock } = await import(${LOCK_MODULE}); await acquireDataDirLock(process.argv[1], 'server');`,
        dir,
      ],
      { stdio: 'ignore' },
    );
    children.push(child);
    const code = await new Promise((resolve) => child.once('exit', resolve));
    expect(code).toBe(0);
    expect(Date.now() - started).toBeLessThan(10_000);
    await waitFor(() => isLockFree(dir), 'the lock to be released', { timeoutMs: 5000 });
  });

  it('stays held when its process group gets a Ctrl-C the process handles (a graceful shutdown still needs it)', async () => {
    const holder = await nodeProcess(
      `process.on('SIGINT', () => {}); await acquireDataDirLock(process.argv[1], 'server'); process.stdout.write('ready\\n'); setInterval(() => {}, 1000);`,
      [dir],
      { detached: true },
    );
    children.push(holder);
    process.kill(-(holder.pid as number), 'SIGINT');
    await new Promise((r) => setTimeout(r, 300));
    expect(holder.exitCode).toBeNull();
    expect(isLockFree(dir)).toBe(false);
  });

  it('reports a lost lock when its holder process is killed, and still releases cleanly', async () => {
    let lost = '';
    const lock = await acquireDataDirLock(dir, 'server', { onLost: (reason) => (lost = reason) });
    held.push(lock);
    const children = readFileSync(`/proc/${process.pid}/task/${process.pid}/children`, 'utf8').trim().split(/\s+/);
    const holder = children.map(Number).find((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(lockPath(dir));
      } catch {
        return false;
      }
    });
    expect(holder).toBeGreaterThan(0);
    process.kill(holder as number, 'SIGKILL');
    await waitFor(() => lost, 'onLost');
    expect(lost).toMatch(new RegExp(`lock holder \\(pid ${holder}\\) exited unexpectedly \\(SIGKILL\\)`));
    expect(isLockFree(dir)).toBe(true);
    await lock.release();
  });

  const perl = spawnSync('perl', ['-e', '1']).status === 0;
  it.skipIf(!perl)('falls back to perl where flock(1) is missing (macOS), with the same kernel lock', async () => {
    const bin = mkdtempSync(join(tmpdir(), 'gatehouse-bin-'));
    try {
      symlinkSync(spawnSync('sh', ['-c', 'command -v perl'], { encoding: 'utf8' }).stdout.trim(), join(bin, 'perl'));
      const holder = await nodeProcess(
        `await acquireDataDirLock(process.argv[1], 'server'); process.stdout.write('ready\\n'); setInterval(() => {}, 1000);`,
        [dir],
        { env: { PATH: bin } },
      );
      children.push(holder);
      expect(isLockFree(dir)).toBe(false);
      await expect(acquireDataDirLock(dir, 'server')).rejects.toThrow(new RegExp(`pid ${holder.pid} on .*, server`));
      holder.kill('SIGKILL');
      await waitFor(() => isLockFree(dir), 'the lock to be released', { timeoutMs: 5000 });
    } finally {
      rmSync(bin, { recursive: true, force: true });
    }
  });

  it('is not blocked by a record naming a live process: only the kernel lock counts', async () => {
    // Before: a live pid in the record (PID 1 after a container restart, or any reused pid) looked held.
    writeRecord(dir, { pid: process.pid });
    const lock = await acquireDataDirLock(dir, 'server');
    held.push(lock);
    await lock.release();
    writeRecord(dir, { pid: 1 });
    held.push(await acquireDataDirLock(dir, 'server'));
    expect(readLockRecord(dir)).toMatchObject({ pid: process.pid, role: 'server' });
  });

  it('is not blocked by a record from another host (a recreated container, a rescheduled pod)', async () => {
    writeRecord(dir, { pid: 1, hostname: `not-${hostname()}` });
    const lock = await acquireDataDirLock(dir, 'server');
    held.push(lock);
    expect(readLockRecord(dir)).toMatchObject({ pid: process.pid, hostname: hostname() });
  });

  it('lets exactly one of several processes racing for a directory take it', async () => {
    // Each racer walks the same directories in lock-step (a shared schedule on the wall clock), so
    // they contend for each one within a millisecond or so. Even directories start with a record
    // naming a dead process, which must make no difference.
    const count = 40;
    const root = mkdtempSync(join(tmpdir(), 'gatehouse-race-'));
    try {
      for (let i = 0; i < count; i++) {
        mkdirSync(join(root, String(i)));
        if (i % 2 === 0) writeRecord(join(root, String(i)), { pid: 2 ** 22 + 1 });
      }
      const script = `
        const now = () => performance.timeOrigin + performance.now();
        process.stdout.write('ready\\n');
        process.stdin.once('data', async (d) => {
          const t0 = Number(String(d));
          const won = [];
          for (let i = 0; i < ${count}; i++) {
            while (now() < t0 + i * 40) {}
            try { await acquireDataDirLock(process.argv[1] + '/' + i, 'racer'); won.push(i); }
            catch (err) { if (err.name !== 'DataDirLockedError') throw err; }
          }
          // Report, then keep holding the locks until every racer is done.
          process.stdout.write(JSON.stringify(won) + '\\n');
          setInterval(() => {}, 1000);
        });
      `;
      const racers = Array.from({ length: 3 }, () => {
        const child = spawn(
          process.execPath,
          [
            '--experimental-transform-types',
            '--no-warnings',
            '--input-type=module',
            '-e',
            `const { acquireDataDirLock } = await import(${LOCK_MODULE});\n${script}`,
            root,
          ],
          { stdio: ['pipe', 'pipe', 'inherit'] },
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
        const t0 = Date.now() + 200;
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
  }, 60_000);
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
    expect(`${second.stdout}${second.stderr}`).toContain('fuser -v');
    expect(JSON.parse(readFileSync(lockPath(db.dataDir), 'utf8')).pid).toBe(pid);

    // The first server still serves, and the CLI still reaches it through its control socket.
    expect((await requestToken(first.url, client)).status).toBe(200);
    expect(await introspect(first.url, client, token)).toMatchObject({ active: true });
    const apis = await cliJson<Array<{ identifier: string }>>(env, ['apis', 'list']);
    expect(apis.map((a) => a.identifier)).toContain(client.identifier);

    expect(await first.stop('SIGTERM')).toBe(0);
    expect(readLockRecord(db.dataDir)).toBeNull();
    third = await spawnServer(env);
    expect((await requestToken(third.url, client)).status).toBe(200);
    expect(await introspect(third.url, client, token)).toMatchObject({ active: true });
  });
});

/** Whether this machine lets us run a process as PID 1 of a new PID namespace (root, or user namespaces). */
const canUnshare = spawnSync('unshare', ['--pid', '--fork', '--mount-proc', 'true']).status === 0;

/** The pid, as seen from here, of the first child of `pid` (unshare --fork's child: PID 1 inside). */
function firstChild(pid: number): number {
  const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
  if (children.length === 0) throw new Error(`process ${pid} has no children`);
  return Number(children[0]);
}

// A container's server is PID 1; after kill -9 or the OOM killer, the restarted container's server
// is PID 1 again. A lock that trusted a recorded pid saw `{pid: 1}`, found it alive (itself), and
// refused forever. `unshare --pid --fork --mount-proc` reproduces exactly that, as root.
describe.runIf(TEST_DB === 'pglite')(
  'a server that is PID 1 of its namespace, killed with SIGKILL and started again as PID 1',
  {
    timeout: 180_000,
  },
  () => {
    let db: TestDatabase;
    let env: Record<string, string>;
    const servers: SpawnedServer[] = [];
    beforeAll(async () => {
      db = await createTestDatabase();
      env = { ...db.env, MASTER_KEY: newMasterKey(), PORT: String(await freePort()) };
    });
    afterAll(async () => {
      // unshare ignores SIGTERM: signal the server inside; --kill-child ends the rest with unshare.
      for (const server of servers) {
        if (server.child.exitCode !== null || server.child.signalCode !== null) continue;
        const exited = new Promise((resolve) => server.child.once('exit', resolve));
        try {
          process.kill(firstChild(server.child.pid as number), 'SIGTERM');
        } catch {}
        const timer = setTimeout(() => server.child.kill('SIGKILL'), 15_000);
        await exited;
        clearTimeout(timer);
      }
      await db?.drop();
    });

    it.skipIf(!canUnshare)('starts on the same data directory with its data intact [needs root for unshare --pid]', async () => {
      const client = await seedMachineClient(env);
      const inNamespace = { wrapper: ['unshare', '--pid', '--fork', '--mount-proc', '--kill-child'] };

      const first = await spawnServer(env, inNamespace);
      servers.push(first);
      expect(readLockRecord(db.dataDir)).toMatchObject({ pid: 1, role: 'server' });
      const token = await issueToken(first.url, client);

      const server = firstChild(first.child.pid as number);
      process.kill(server, 'SIGKILL');
      await new Promise((resolve) =>
        first.child.exitCode !== null || first.child.signalCode !== null ? resolve(null) : first.child.once('exit', resolve),
      );
      // The crash left its record behind: `{pid: 1}`, which is also the pid of the next server.
      expect(readLockRecord(db.dataDir)).toMatchObject({ pid: 1, role: 'server' });

      const second = await spawnServer(env, inNamespace);
      servers.push(second);
      expect(readLockRecord(db.dataDir)).toMatchObject({ pid: 1, role: 'server' });
      expect((await requestToken(second.url, client)).status).toBe(200);
      expect(await introspect(second.url, client, token)).toMatchObject({ active: true, client_id: client.clientId });
      // And the CLI still finds the server behind the lock, through its control socket.
      const apis = await cliJson<Array<{ identifier: string }>>(env, ['apis', 'list']);
      expect(apis.map((a) => a.identifier)).toContain(client.identifier);
      expect(existsSync(join(db.dataDir, 'gatehouse.sock'))).toBe(true);
    });
  },
);

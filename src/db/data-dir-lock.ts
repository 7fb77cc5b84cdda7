import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';

/**
 * PGlite is one process per data directory and nothing stops a second one: two processes on one
 * directory corrupt it (DESIGN.md §1). This lock makes the second process refuse instead.
 *
 * It is a kernel lock, flock(2) on `$DATA_DIR/gatehouse.lock`, so liveness is the kernel's business:
 * the lock is released when its holder dies, however it dies (kill -9, OOM), and nothing ever
 * compares a pid. A pid check cannot work in containers: after a crash the restarted server is
 * PID 1 again (the old lock `{pid: 1}` looks alive: it is itself), and a recreated container has
 * another hostname.
 *
 * Node has no flock/fcntl API, so a child (`flock(1)` from util-linux, else perl) takes the lock
 * without waiting and holds it until its stdin reaches end of file: when we release it, or when
 * this process dies and the kernel closes our end of the pipe. The child is in its own process
 * group, so a Ctrl-C meant for the server (which then shuts down gracefully, database last) does
 * not release the lock early.
 *
 * The file's content, written once the lock is held, names the holder (pid, hostname, role,
 * since) for the error message only; it is emptied on release, and never decides anything. The
 * file itself is never deleted: a process that opened it just before a deletion could lock the
 * unlinked file while another locks a new one, and both would think they own the directory.
 */
export interface DataDirLock {
  /** Empties the record and releases the lock; resolves once the kernel has released it. */
  release(): Promise<void>;
}

export interface LockOwner {
  pid: number;
  hostname: string;
  role: string;
  since: string;
}

export class DataDirLockedError extends Error {
  constructor(
    readonly dataDir: string,
    /** who the lock file names, if it names anyone (informational: it may be stale or half-written) */
    readonly owner: LockOwner | null,
  ) {
    const file = lockPath(dataDir);
    const who = owner ? `pid ${owner.pid} on ${owner.hostname}, ${owner.role}, since ${owner.since}` : 'holder unknown';
    super(
      `another Gatehouse process is using DATA_DIR ${dataDir} (${who}); stop it first. If none runs, nothing holds the lock: ` +
        `the kernel releases it when its holder exits, so look for a hung process with 'fuser -v ${file}'`,
    );
    this.name = 'DataDirLockedError';
  }
}

export function lockPath(dataDir: string): string {
  return join(dataDir, 'gatehouse.lock');
}

/** flock(1)'s exit status when the lock is held elsewhere (its --conflict-exit-code; EX_TEMPFAIL). */
const CONFLICT = 75;
const LOCKED_SIGNAL = 'locked\n';
const START_TIMEOUT_MS = 10_000;

/**
 * What the lock file says about its holder, or null if it names nobody. Informational only: after
 * a crash it names a process that is gone, and just after another process took the lock it may
 * still name the previous holder. Only acquireDataDirLock tells whether the lock is held.
 */
export function readLockRecord(dataDir: string): LockOwner | null {
  let text: string;
  try {
    text = readFileSync(lockPath(dataDir), 'utf8');
  } catch {
    return null;
  }
  try {
    const record = JSON.parse(text) as Partial<LockOwner>;
    return typeof record.pid === 'number' && typeof record.role === 'string'
      ? { pid: record.pid, hostname: String(record.hostname ?? ''), role: record.role, since: String(record.since ?? '') }
      : null;
  } catch {
    return null; // empty (released) or being written
  }
}

export interface AcquireOptions {
  /** called if the lock is lost while held (its holder process died: someone killed it) */
  onLost?: (reason: string) => void;
}

/**
 * Takes the data-directory lock (creating the directory, mode 0700, if needed) or throws
 * DataDirLockedError at once if another process holds it. `role` is recorded for that error.
 */
export async function acquireDataDirLock(dataDir: string, role: string, { onLost }: AcquireOptions = {}): Promise<DataDirLock> {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const path = lockPath(dataDir);
  // Created here with owner-only permissions; flock(1) would create it world-readable.
  closeSync(openSync(path, 'a', 0o600));

  const holder = await spawnHolder(path, dataDir);

  // Holding the lock must not keep this process alive; the pipe to the holder stays open until
  // release() or our death closes it.
  holder.unref();
  for (const stream of [holder.stdin, holder.stdout, holder.stderr]) (stream as { unref?: () => void } | null)?.unref?.();
  // Closing stdin of a holder that already died (see onLost) fails with EPIPE: nothing to do then.
  holder.stdin?.on('error', () => {});

  let released = false;
  const exited = new Promise<void>((resolve) => {
    if (holder.exitCode !== null || holder.signalCode !== null) resolve();
    else holder.once('exit', () => resolve());
  });
  holder.once('exit', (code, signal) => {
    if (!released) onLost?.(`the lock holder (pid ${holder.pid}) exited unexpectedly (${signal ?? `code ${code}`})`);
  });
  const me: LockOwner = { pid: process.pid, hostname: hostname(), role, since: new Date().toISOString() };
  writeFileSync(path, `${JSON.stringify(me)}\n`);

  let releasing: Promise<void> | undefined;
  return {
    release() {
      releasing ??= (async () => {
        released = true;
        // Emptied while still held, so the record never names a holder that let go.
        try {
          writeFileSync(path, '');
        } catch {}
        holder.ref(); // wait for the holder to exit, as promised
        holder.stdin?.end();
        await exited;
      })();
      return releasing;
    },
  };
}

/**
 * Programs that can hold a flock(2) lock for us, in order of preference: flock(1) from util-linux
 * (Debian and node:24-slim have it), else perl, whose flock is built in (macOS has perl but no
 * flock(1); perl-base is essential in Debian too). Each takes the lock without waiting, exits
 * CONFLICT if it is held, prints LOCKED_SIGNAL once it holds it, and holds it until stdin closes.
 */
const HOLDERS: ReadonlyArray<{ command: string; args: (path: string) => string[] }> = [
  {
    command: 'flock',
    // --close: the lock belongs to flock itself, our direct child, so its exit is the lock's end.
    args: (path) => [
      '--exclusive',
      '--nonblock',
      '--conflict-exit-code',
      String(CONFLICT),
      '--close',
      path,
      'sh',
      '-c',
      'echo locked && exec cat >/dev/null',
    ],
  },
  {
    command: 'perl',
    args: (path) => [
      '-MFcntl=:flock',
      '-e',
      `open(my $fh, '<', $ARGV[0]) or die "cannot open $ARGV[0]: $!\n"; flock($fh, LOCK_EX | LOCK_NB) or exit ${CONFLICT}; ` +
        `$| = 1; print "locked\n"; 1 while sysread(STDIN, my $buf, 4096);`,
      path,
    ],
  },
];

class HolderNotFound extends Error {}

async function spawnHolder(path: string, dataDir: string): Promise<ChildProcess> {
  for (const { command, args } of HOLDERS) {
    // Its own process group: a Ctrl-C meant for us must not end the lock before our graceful stop.
    const holder = spawn(command, args(path), { stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    try {
      await waitUntilLocked(holder, dataDir);
      return holder;
    } catch (err) {
      if (!(err instanceof HolderNotFound)) throw err;
    }
  }
  throw new Error(`could not lock data directory ${dataDir}: the embedded database needs flock(1) (util-linux) or perl on the PATH`);
}

function waitUntilLocked(holder: ChildProcess, dataDir: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    const done = (err?: Error) => {
      clearTimeout(timer);
      holder.stdout?.removeListener('data', onStdout);
      holder.removeListener('exit', onExit);
      holder.removeListener('error', onError);
      if (err) reject(err);
      else resolve();
    };
    const onStdout = (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
      if (stdout.startsWith(LOCKED_SIGNAL)) done();
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null) => {
      if (code === CONFLICT) done(new DataDirLockedError(dataDir, readLockRecord(dataDir)));
      else
        done(
          new Error(
            `could not lock data directory ${dataDir}: flock ${signal ?? `exited with ${code}`}${stderr ? `: ${stderr.trim()}` : ''}`,
          ),
        );
    };
    const onError = (err: NodeJS.ErrnoException) => done(err.code === 'ENOENT' ? new HolderNotFound(err.message) : err);
    const timer = setTimeout(() => {
      holder.kill('SIGKILL');
      done(new Error(`could not lock data directory ${dataDir}: ${holder.spawnfile} did not answer within ${START_TIMEOUT_MS / 1000} s`));
    }, START_TIMEOUT_MS);
    holder.stdout?.on('data', onStdout);
    holder.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    holder.once('exit', onExit);
    holder.once('error', onError);
  });
}

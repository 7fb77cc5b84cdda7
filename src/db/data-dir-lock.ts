import { createHash } from 'node:crypto';
import { linkSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';

/**
 * PGlite is one process per data directory and nothing stops a second one: two processes on one
 * directory corrupt it (DESIGN.md §1). This lock file makes the second process refuse instead.
 *
 * The lock is a file holding the owner's pid, written whole to a temporary name and then hard-linked
 * into place (link(2) fails if the name exists), so nobody ever reads a half-written lock. A lock
 * whose pid is no longer alive (a crash, `kill -9`) is stale and taken over (see breakStaleLock).
 */
export interface DataDirLock {
  release(): void;
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
    readonly owner: LockOwner,
  ) {
    super(`data directory ${dataDir} is in use by another Gatehouse process (pid ${owner.pid}, ${owner.role}, since ${owner.since})`);
    this.name = 'DataDirLockedError';
  }
}

export function lockPath(dataDir: string): string {
  return join(dataDir, 'gatehouse.lock');
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The live process holding the lock, or null if the directory is free (or the lock is stale). */
export function readLockOwner(dataDir: string): LockOwner | null {
  return liveOwner(readText(lockPath(dataDir)));
}

function liveOwner(content: string | null): LockOwner | null {
  let owner: LockOwner;
  try {
    owner = JSON.parse(content ?? '') as LockOwner;
  } catch {
    return null;
  }
  if (owner.hostname !== hostname()) return owner; // cannot check a pid on another host: assume live
  return isAlive(owner.pid) ? owner : null;
}

function readText(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

export function acquireDataDirLock(dataDir: string, role: string): DataDirLock {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const path = lockPath(dataDir);
  const me: LockOwner = { pid: process.pid, hostname: hostname(), role, since: new Date().toISOString() };
  const draft = `${path}.${process.pid}`;
  writeFileSync(draft, JSON.stringify(me), { mode: 0o600 });
  try {
    return linkInto(draft, path, dataDir);
  } finally {
    rmSync(draft, { force: true });
  }
}

function linkInto(draft: string, path: string, dataDir: string): DataDirLock {
  // Each round either takes the lock, finds a live owner, or clears away one stale lock.
  for (let attempt = 0; attempt < 20; attempt++) {
    try {
      linkSync(draft, path);
      removeTakeoverLeftovers(dataDir);
      let released = false;
      return {
        release() {
          if (released) return;
          released = true;
          rmSync(path, { force: true });
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const content = readText(path);
      const owner = liveOwner(content);
      if (owner) throw new DataDirLockedError(dataDir, owner);
      if (content !== null) breakStaleLock(path, content);
    }
  }
  throw new Error(`could not lock data directory ${dataDir}`);
}

/**
 * Removes the stale lock at `path`, whose content is `stale`. Several processes can find the same
 * stale lock at once, and removing it by name would let a slow one delete the lock a faster one has
 * just taken in its place (two owners: a corrupt directory). So the right to remove one particular
 * lock is itself exclusive: a file named after that lock's content, created with O_EXCL. Only its
 * holder may remove that lock, so if the holder still reads the same content, it is still the stale
 * lock. A right left behind by a process that died holding it is never removed (that would race
 * again); the next generation of the right is used instead.
 */
function breakStaleLock(path: string, stale: string): void {
  const base = `${path}.takeover-${createHash('sha256').update(stale).digest('hex').slice(0, 16)}`;
  for (let generation = 0; generation < 10; generation++) {
    const right = `${base}-${generation}`;
    const me: LockOwner = { pid: process.pid, hostname: hostname(), role: 'takeover', since: new Date().toISOString() };
    try {
      writeFileSync(right, JSON.stringify(me), { flag: 'wx', mode: 0o600 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      if (liveOwner(readText(right)) === null) continue; // its holder died: use the next generation
      // Another process is taking this lock over right now: give it a moment, then look again.
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
      return;
    }
    try {
      if (readText(path) === stale) rmSync(path, { force: true });
    } finally {
      rmSync(right, { force: true });
    }
    return;
  }
}

/** Once we hold the lock, the stale lock is gone for good and so is any use for rights to remove it. */
function removeTakeoverLeftovers(dataDir: string): void {
  for (const name of readdirSync(dataDir)) {
    if (name.startsWith('gatehouse.lock.takeover-')) rmSync(join(dataDir, name), { force: true });
  }
}

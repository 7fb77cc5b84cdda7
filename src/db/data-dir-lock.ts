import { linkSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';

/**
 * PGlite is one process per data directory and nothing stops a second one: two processes on one
 * directory corrupt it (DESIGN.md §1). This lock file makes the second process refuse instead.
 *
 * The lock is a file holding the owner's pid, written whole to a temporary name and then hard-linked
 * into place (link(2) fails if the name exists), so nobody ever reads a half-written lock. A lock
 * whose pid is no longer alive (a crash, `kill -9`) is stale and taken over.
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
  let owner: LockOwner;
  try {
    owner = JSON.parse(readFileSync(lockPath(dataDir), 'utf8')) as LockOwner;
  } catch {
    return null;
  }
  if (owner.hostname !== hostname()) return owner; // cannot check a pid on another host: assume live
  return isAlive(owner.pid) ? owner : null;
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
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      linkSync(draft, path);
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
      const owner = readLockOwner(dataDir);
      if (owner) throw new DataDirLockedError(dataDir, owner);
      rmSync(path, { force: true }); // stale: its process is gone
    }
  }
  throw new Error(`could not lock data directory ${dataDir}`);
}

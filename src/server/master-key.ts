import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import type { Config } from '../config/config.ts';

export class MasterKeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MasterKeyError';
  }
}

/**
 * Loads the master key: MASTER_KEY, else the key file (generated with mode 0600 when absent and
 * generating is acceptable). On PostgreSQL in production a generated per-machine key would split
 * a cluster into instances that cannot read each other's keys, so there it must be configured.
 */
export function loadMasterKey(config: Config, log: Logger, { mayGenerate = true } = {}): Buffer {
  const source = config.masterKey;
  if (source.kind === 'value') return source.value;

  let existing: string | undefined;
  try {
    existing = readFileSync(source.path, 'utf8').trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  if (existing !== undefined) {
    const key = Buffer.from(existing, 'base64url');
    if (key.length < 32) throw new MasterKeyError(`master key file ${source.path} must hold at least 32 bytes, base64url`);
    const mode = statSync(source.path).mode & 0o777;
    if (mode & 0o077) log.warn({ path: source.path, mode: mode.toString(8) }, 'master key file is readable by other users; chmod 600 it');
    return key;
  }

  if (config.database.kind === 'postgres' && config.env === 'production') {
    throw new MasterKeyError(
      'MASTER_KEY (or MASTER_KEY_FILE) must be set in production on PostgreSQL: every instance sharing the database needs the same key',
    );
  }
  if (!mayGenerate) throw new MasterKeyError(`no master key: ${source.path} does not exist and MASTER_KEY is unset`);
  const key = randomBytes(32);
  mkdirSync(dirname(source.path), { recursive: true, mode: 0o700 });
  writeFileSync(source.path, `${key.toString('base64url')}\n`, { mode: 0o600, flag: 'wx' });
  log.warn(
    { path: source.path },
    'generated a master key file (mode 0600); it encrypts signing keys and keys client-secret digests: back it up, or set MASTER_KEY',
  );
  return key;
}

import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../../scripts/pg-cluster.mjs';
import { ConfigError, loadConfig } from '../../src/config/config.ts';
import { runCli } from '../support/cli.ts';
import { newMasterKey } from '../support/server.ts';

/**
 * Configuration comes from the environment only, and a wrong value stops start-up with a message
 * naming the variable. `loadConfig` is the unit (the matrix below); a few spawned `gatehouse serve`
 * processes prove the message reaches stderr and the process exits before it opens or listens on
 * anything.
 */

/** The issues loadConfig reports for `env`, or fails if it accepts it. */
function issuesFor(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).issues;
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(env)}`);
}

const named = (issues: string[], variable: string) => issues.some((i) => i.startsWith(`${variable}: `));

describe('loadConfig rejects a wrong value, naming the variable', () => {
  const cases: Array<[string, Record<string, string>, string]> = [
    ['PORT=abc', { PORT: 'abc' }, 'PORT'],
    ['PORT=70000', { PORT: '70000' }, 'PORT'],
    ['PORT=-1', { PORT: '-1' }, 'PORT'],
    ['PORT=80.5', { PORT: '80.5' }, 'PORT'],
    ['ISSUER=not-a-url', { ISSUER: 'not-a-url' }, 'ISSUER'],
    ['ISSUER with a query', { ISSUER: 'https://x.test/?q=1' }, 'ISSUER'],
    ['ISSUER with a fragment', { ISSUER: 'https://x.test/#top' }, 'ISSUER'],
    ['ISSUER that is not http(s)', { ISSUER: 'ftp://x.test' }, 'ISSUER'],
    ['DATABASE_URL=mysql://…', { DATABASE_URL: 'mysql://user:pw@db.example.test/gatehouse' }, 'DATABASE_URL'],
    ['MASTER_KEY=short', { MASTER_KEY: 'short' }, 'MASTER_KEY'],
    ['MASTER_KEY that is not base64url', { MASTER_KEY: `${'a'.repeat(40)}+/+/` }, 'MASTER_KEY'],
    ['WORKERS=2 without DATABASE_URL', { WORKERS: '2' }, 'WORKERS'],
    ['WORKERS=0', { WORKERS: '0', DATABASE_URL: 'postgresql://db.example.test/gatehouse' }, 'WORKERS'],
    ['LOG_LEVEL=loud', { LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
    ['NODE_ENV=staging', { NODE_ENV: 'staging' }, 'NODE_ENV'],
    ['NODE_ENV=production with an http ISSUER on a public host', { NODE_ENV: 'production', ISSUER: 'http://auth.example.com' }, 'ISSUER'],
    ['TRUST_PROXY=maybe', { TRUST_PROXY: 'maybe' }, 'TRUST_PROXY'],
    ['DEFAULT_SIGNING_ALG=HS256', { DEFAULT_SIGNING_ALG: 'HS256' }, 'DEFAULT_SIGNING_ALG'],
    ['ACCESS_TOKEN_TTL_SECONDS=10', { ACCESS_TOKEN_TTL_SECONDS: '10' }, 'ACCESS_TOKEN_TTL_SECONDS'],
    ['DATABASE_POOL_SIZE=0', { DATABASE_POOL_SIZE: '0' }, 'DATABASE_POOL_SIZE'],
    ['SHUTDOWN_GRACE_SECONDS=soon', { SHUTDOWN_GRACE_SECONDS: 'soon' }, 'SHUTDOWN_GRACE_SECONDS'],
    ['REQUEST_BODY_LIMIT_BYTES=10', { REQUEST_BODY_LIMIT_BYTES: '10' }, 'REQUEST_BODY_LIMIT_BYTES'],
    [
      'CLIENT_AUTH_MAX_FAILURES_PER_CLIENT_PER_MINUTE=-1',
      { CLIENT_AUTH_MAX_FAILURES_PER_CLIENT_PER_MINUTE: '-1' },
      'CLIENT_AUTH_MAX_FAILURES_PER_CLIENT_PER_MINUTE',
    ],
    [
      'CLIENT_AUTH_MAX_FAILURES_PER_IP_PER_MINUTE=many',
      { CLIENT_AUTH_MAX_FAILURES_PER_IP_PER_MINUTE: 'many' },
      'CLIENT_AUTH_MAX_FAILURES_PER_IP_PER_MINUTE',
    ],
    ['CLIENT_AUTH_BLOCK_SECONDS=0', { CLIENT_AUTH_BLOCK_SECONDS: '0' }, 'CLIENT_AUTH_BLOCK_SECONDS'],
    ['CLIENT_AUTH_MAX_BLOCK_SECONDS below the default block', { CLIENT_AUTH_MAX_BLOCK_SECONDS: '30' }, 'CLIENT_AUTH_MAX_BLOCK_SECONDS'],
    ['PASSWORD_HASH_ITERATIONS=0', { PASSWORD_HASH_ITERATIONS: '0' }, 'PASSWORD_HASH_ITERATIONS'],
    [
      'PASSWORD_HASH_MEMORY_KIB below 8 KiB per lane',
      { PASSWORD_HASH_MEMORY_KIB: '16', PASSWORD_HASH_PARALLELISM: '4' },
      'PASSWORD_HASH_MEMORY_KIB',
    ],
    ['API_TOKEN_MAX_LIFETIME_SECONDS=-1', { API_TOKEN_MAX_LIFETIME_SECONDS: '-1' }, 'API_TOKEN_MAX_LIFETIME_SECONDS'],
    ['ACCENT_COLOR=red', { ACCENT_COLOR: 'red' }, 'ACCENT_COLOR'],
    ['ACCENT_COLOR with a CSS injection', { ACCENT_COLOR: '#fff;}body{display:none' }, 'ACCENT_COLOR'],
    ['LOGO_URL over http', { LOGO_URL: 'http://cdn.example.test/logo.png' }, 'LOGO_URL'],
    ['LOGO_URL scheme-relative', { LOGO_URL: '//cdn.example.test/logo.png' }, 'LOGO_URL'],
    ['LOGO_URL=javascript:…', { LOGO_URL: 'javascript:alert(1)' }, 'LOGO_URL'],
    ['LOGO_URL relative', { LOGO_URL: 'logo.png' }, 'LOGO_URL'],
    ['PRODUCT_NAME with a control character', { PRODUCT_NAME: 'Acme\u0007' }, 'PRODUCT_NAME'],
    ['PRODUCT_NAME of spaces', { PRODUCT_NAME: '   ' }, 'PRODUCT_NAME'],
  ];
  for (const [title, env, variable] of cases) {
    it(`[${title}] names ${variable}`, () => {
      const issues = issuesFor(env);
      expect(issues, issues.join('\n')).toHaveLength(1);
      expect(named(issues, variable), issues.join('\n')).toBe(true);
    });
  }

  it('names every wrong variable when several are wrong', () => {
    const issues = issuesFor({ PORT: 'abc', LOG_LEVEL: 'loud', DATABASE_URL: 'mysql://db.example.test/x', MASTER_KEY: 'short' });
    for (const variable of ['PORT', 'LOG_LEVEL', 'DATABASE_URL', 'MASTER_KEY'])
      expect(named(issues, variable), issues.join('\n')).toBe(true);
    expect(issues).toHaveLength(4);
  });

  it('names every wrong variable when malformed values and inconsistent ones are mixed', () => {
    // A malformed value (PORT) must not hide the checks that compare variables (ISSUER, WORKERS).
    const issues = issuesFor({ PORT: 'abc', ISSUER: 'https://x.test/?q=1', WORKERS: '2', LOG_LEVEL: 'loud' });
    for (const variable of ['PORT', 'ISSUER', 'WORKERS', 'LOG_LEVEL']) expect(named(issues, variable), issues.join('\n')).toBe(true);
  });

  it('never echoes a secret value in its message', () => {
    const error = (() => {
      try {
        loadConfig({ MASTER_KEY: 'not-long-but-secret', DATABASE_URL: 'mysql://admin:hunter2@db.example.test/x' });
      } catch (err) {
        return err as Error;
      }
      throw new Error('accepted');
    })();
    expect(error.message).toMatch(/MASTER_KEY/);
    expect(error.message).not.toContain('not-long-but-secret');
    expect(error.message).not.toContain('hunter2');
  });
});

describe('loadConfig accepts', () => {
  it('an empty environment, with the documented defaults', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      env: 'development',
      port: 3000,
      host: undefined,
      issuer: 'http://localhost:3000',
      database: { kind: 'pglite' },
      masterKey: { kind: 'file', isDefault: true },
      logLevel: 'info',
      accessTokenTtlSeconds: 3600,
      defaultSigningAlg: 'ES256',
      trustProxy: false,
      workers: 1,
      clientAuthThrottle: { maxFailuresPerClientPerMinute: 20, maxFailuresPerIpPerMinute: 100, blockSeconds: 60, maxBlockSeconds: 3600 },
      passwordHash: { memoryKiB: 19456, iterations: 2, parallelism: 1 },
      apiTokenMaxLifetimeSeconds: 0,
      authTokens: undefined,
      branding: { productName: 'Gatehouse', logoUrl: null, accentColor: '#1f5fae' },
    });
    expect(config.dataDir).toBe(join(process.cwd(), 'data'));
    expect(config.masterKey).toMatchObject({ path: join(process.cwd(), 'data', 'master.key') });
  });

  it('an empty string as unset', () => {
    const empty = loadConfig({
      NODE_ENV: '',
      PORT: '',
      HOST: '',
      ISSUER: '',
      DATA_DIR: '',
      DATABASE_URL: '',
      MASTER_KEY: '',
      MASTER_KEY_FILE: '',
      LOG_LEVEL: '',
      WORKERS: '',
      TRUST_PROXY: '',
      PRODUCT_NAME: '',
      LOGO_URL: '',
      ACCENT_COLOR: '',
    });
    expect(empty).toEqual(loadConfig({}));
  });

  it('branding: a product name, a logo on this server or over https, a hex accent (lower-cased)', () => {
    expect(loadConfig({ PRODUCT_NAME: ' Acme Login ', LOGO_URL: '/static/logo.svg', ACCENT_COLOR: '#FFD700' }).branding).toEqual({
      productName: 'Acme Login',
      logoUrl: '/static/logo.svg',
      accentColor: '#ffd700',
    });
    expect(loadConfig({ LOGO_URL: 'https://cdn.example.test/logo.png', ACCENT_COLOR: '#15a' }).branding).toMatchObject({
      logoUrl: 'https://cdn.example.test/logo.png',
      accentColor: '#15a',
    });
  });

  it('an issuer with a trailing slash, without the slash', () => {
    expect(loadConfig({ ISSUER: 'https://auth.example.test/' }).issuer).toBe('https://auth.example.test');
    expect(loadConfig({ ISSUER: 'https://auth.example.test/tenant/' }).issuer).toBe('https://auth.example.test/tenant');
  });

  it('production with an https issuer, or http on a loopback host', () => {
    const key = newMasterKey();
    expect(loadConfig({ NODE_ENV: 'production', ISSUER: 'https://auth.example.com', MASTER_KEY: key }).env).toBe('production');
    expect(loadConfig({ NODE_ENV: 'production', ISSUER: 'http://127.0.0.1:3000' }).issuer).toBe('http://127.0.0.1:3000');
    expect(loadConfig({ NODE_ENV: 'production', ISSUER: 'http://localhost:3000' }).issuer).toBe('http://localhost:3000');
  });

  it('WORKERS=2 on PostgreSQL, and a MASTER_KEY of 32 bytes', () => {
    const key = newMasterKey();
    const config = loadConfig({ WORKERS: '2', DATABASE_URL: 'postgresql://db.example.test/gatehouse', MASTER_KEY: key });
    expect(config.workers).toBe(2);
    expect(config.database).toEqual({ kind: 'postgres', url: 'postgresql://db.example.test/gatehouse', poolSize: 10 });
    expect(config.masterKey).toEqual({ kind: 'value', value: Buffer.from(key, 'base64url') });
  });
});

describe('gatehouse serve with a wrong configuration', { timeout: 60_000 }, () => {
  const scratch = mkdtempSync(join(tmpdir(), 'gatehouse-config-'));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  /** Runs `gatehouse serve` and checks it stopped before opening or listening on anything. */
  async function serveFails(env: Record<string, string>, cwd?: string) {
    const port = await freePort();
    const dataDir = join(scratch, `data-${port}`);
    const result = await runCli(['serve'], { NODE_ENV: 'test', HOST: '127.0.0.1', PORT: String(port), DATA_DIR: dataDir, ...env }, { cwd });
    expect(result.code, result.stdout + result.stderr).not.toBe(0);
    expect(result.code).not.toBeNull(); // it exited, it did not crash on a signal
    expect(result.stderr).toMatch(/invalid configuration/);
    expect(result.stderr).not.toMatch(/^\s+at /m);
    // No log line at all: it never got as far as the database, the key or the socket.
    expect(result.stdout).toBe('');
    expect(existsSync(dataDir)).toBe(false);
    return result;
  }

  it('exits non-zero naming PORT=abc on stderr', async () => {
    const { stderr } = await serveFails({ PORT: 'abc' });
    expect(stderr).toMatch(/^ {2}- PORT: /m);
  });

  it('exits non-zero naming every wrong variable, and never listens', async () => {
    const port = await freePort();
    const { stderr } = await serveFails({
      PORT: String(port),
      ISSUER: 'not-a-url',
      LOG_LEVEL: 'loud',
      MASTER_KEY: 'short',
    });
    for (const variable of ['ISSUER', 'LOG_LEVEL', 'MASTER_KEY']) expect(stderr).toMatch(new RegExp(`^ {2}- ${variable}: `, 'm'));
    await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();
  });

  it('reads a .env file in the working directory, the environment winning over it', async () => {
    const cwd = mkdtempSync(join(scratch, 'cwd-'));
    writeFileSync(join(cwd, '.env'), 'LOG_LEVEL=loud\n');
    const fromFile = await serveFails({}, cwd);
    expect(fromFile.stderr).toMatch(/^ {2}- LOG_LEVEL: /m);

    // LOG_LEVEL from the environment wins over the file's; only the environment's bad ISSUER remains.
    const overridden = await serveFails({ LOG_LEVEL: 'info', ISSUER: 'not-a-url' }, cwd);
    expect(overridden.stderr).toMatch(/^ {2}- ISSUER: /m);
    expect(overridden.stderr).not.toMatch(/LOG_LEVEL/);
  });
});

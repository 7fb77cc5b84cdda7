import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../scripts/pg-cluster.mjs';
import { runCli } from '../support/cli.ts';
import { runGatehouse } from '../support/process.ts';
import { newMasterKey } from '../support/server.ts';
import { createTestDatabase, TEST_DB, type TestDatabase } from '../support/test-database.ts';

/**
 * Gatehouse as a new user meets it: run from the wrong directory, with no arguments, or pointed at
 * a PostgreSQL that is not there. Each answer is one line saying what was looked at and what to
 * check, and nothing is created that the user did not ask for.
 */

const READ_ONLY_COMMANDS = [
  ['apis', 'list'],
  ['clients', 'list'],
  ['clients', 'show', '--client-id', 'nobody'],
  ['keys', 'list'],
];

/** One line on stderr, no stack trace. */
function expectOneLine(stderr: string) {
  expect(stderr.trimEnd().split('\n'), stderr).toHaveLength(1);
  expect(stderr).not.toMatch(/\n\s+at /);
}

describe('gatehouse run where there is no database', { timeout: 120_000 }, () => {
  const scratches: string[] = [];
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  // A fresh working directory per test: DATA_DIR is unset, so the default ./data is resolved from it.
  const workdir = () => {
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-newuser-'));
    scratches.push(dir);
    return dir;
  };
  afterAll(async () => {
    for (const dir of scratches) rmSync(dir, { recursive: true, force: true });
    await db?.drop();
  });

  it('prints the help with no arguments, and starts no server', async () => {
    const cwd = workdir();
    const result = await runCli([], { PORT: String(await freePort()) }, { cwd, timeoutMs: 15_000 });
    expect(result.code).toBe(2);
    expect(result.stdout).toMatch(/^Usage: gatehouse <command>/m);
    expect(result.stdout).toMatch(/^ {2}serve +start the server$/m);
    expect(existsSync(join(cwd, 'data'))).toBe(false);
  });

  it.skipIf(TEST_DB !== 'pglite')(
    'read-only commands create no data directory or master key, and name the directory they looked at',
    async () => {
      const cwd = workdir();
      for (const args of [...READ_ONLY_COMMANDS, ['migrate', '--status']]) {
        const result = await runCli(args, { NODE_ENV: 'test' }, { cwd });
        expect(result.code, `${args.join(' ')}: ${result.stdout}${result.stderr}`).toBe(1);
        expectOneLine(result.stderr);
        expect(result.stderr).toContain(`no embedded database in ${join(cwd, 'data')}`);
        expect(existsSync(join(cwd, 'data')), args.join(' ')).toBe(false);
      }
    },
  );

  it.skipIf(TEST_DB !== 'postgres')(
    'read-only commands on PostgreSQL create no master key file: they say which one is missing',
    async () => {
      const cwd = workdir();
      const env = { NODE_ENV: 'test', DATABASE_URL: db.url as string };
      for (const args of READ_ONLY_COMMANDS) {
        const result = await runCli(args, env, { cwd });
        expect(result.code, `${args.join(' ')}: ${result.stdout}${result.stderr}`).toBe(1);
        expectOneLine(result.stderr);
        expect(result.stderr).toContain(`no master key: ${join(cwd, 'data', 'master.key')} does not exist and MASTER_KEY is unset`);
        expect(existsSync(join(cwd, 'data')), args.join(' ')).toBe(false);
      }
      const status = await runCli(['migrate', '--status'], env, { cwd });
      expect(status.code, status.stderr).toBe(0);
      expect(existsSync(join(cwd, 'data'))).toBe(false);
    },
  );

  it.skipIf(TEST_DB !== 'pglite')('a write command creates the embedded database and says where, on stderr', async () => {
    const cwd = workdir();
    const created = await runCli(
      ['apis', 'create', '--identifier', 'https://new.example.test', '--name', 'New'],
      { NODE_ENV: 'test' },
      { cwd },
    );
    expect(created.code, created.stderr).toBe(0);
    expect(created.stderr).toContain(`gatehouse: created a new embedded database in ${join(cwd, 'data')}\n`);
    expect(existsSync(join(cwd, 'data', 'pgdata'))).toBe(true);
    expect(existsSync(join(cwd, 'data', 'master.key'))).toBe(true);
    // The next command finds it, and says nothing about it.
    const listed = await runCli(['apis', 'list'], { NODE_ENV: 'test' }, { cwd });
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toContain('https://new.example.test');
    expect(listed.stderr).toBe('');

    const migrateDir = join(cwd, 'other');
    const migrated = await runCli(['migrate'], { NODE_ENV: 'test', DATA_DIR: migrateDir }, { cwd });
    expect(migrated.code, migrated.stderr).toBe(0);
    expect(migrated.stderr).toBe(`gatehouse: created a new embedded database in ${migrateDir}\n`);
  });
});

describe('gatehouse with an unreachable PostgreSQL', { timeout: 60_000 }, () => {
  const password = 'pw-that-must-not-show';
  let closedPort: number;
  beforeAll(async () => {
    closedPort = await freePort();
  });
  const env = (url: string) => ({ NODE_ENV: 'test', MASTER_KEY: newMasterKey(), DATABASE_URL: url });

  it('the CLI prints one line naming the server and what to check, exit 1, no password', async () => {
    const url = `postgresql://gatehouse:${password}@127.0.0.1:${closedPort}/gatehouse`;
    for (const args of [['apis', 'list'], ['apis', 'create', '--identifier', 'https://x.example.test', '--name', 'X'], ['migrate']]) {
      const result = await runCli(args, env(url));
      expect(result.code, args.join(' ')).toBe(1);
      expectOneLine(result.stderr);
      expect(result.stderr).toContain(`cannot connect to PostgreSQL at 127.0.0.1:${closedPort}/gatehouse as gatehouse: connection refused`);
      expect(result.stderr).toContain("check that PostgreSQL runs there and DATABASE_URL's host and port");
      expect(`${result.stdout}${result.stderr}`).not.toContain(password);
    }
  });

  it('the CLI names an unknown host', async () => {
    const result = await runCli(['apis', 'list'], env(`postgresql://gatehouse:${password}@db.invalid:5432/gatehouse`));
    expect(result.code).toBe(1);
    expectOneLine(result.stderr);
    expect(result.stderr).toContain('cannot connect to PostgreSQL at db.invalid:5432/gatehouse as gatehouse: unknown host');
    expect(result.stderr).not.toContain(password);
  });

  it('the server logs one fatal line naming the server and exits 1', async () => {
    const url = `postgresql://gatehouse:${password}@127.0.0.1:${closedPort}/gatehouse`;
    const result = await runGatehouse({ ...env(url), PORT: String(await freePort()), HOST: '127.0.0.1' }, ['serve']);
    expect(result.code).toBe(1);
    const output = `${result.stdout}${result.stderr}`;
    const lines = output.trimEnd().split('\n');
    const fatal = lines.filter((l) => l.includes('"level":"fatal"'));
    expect(fatal, output).toHaveLength(1);
    expect(JSON.parse(fatal[0] as string).msg).toContain(`cannot connect to PostgreSQL at 127.0.0.1:${closedPort}/gatehouse`);
    expect(output).not.toContain(password);
    expect(output).not.toContain('"stack"');
  });
});

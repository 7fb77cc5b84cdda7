import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliResult, runCli, runCliJson } from '../support/cli.ts';
import { newMasterKey, startTestServer, type TestServer } from '../support/server.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-database.ts';

/**
 * `gatehouse create-admin` (issue 11, "Accounts"): the first superuser, through the admin API like
 * every command — a running server's control socket on PGlite, the database itself otherwise (and
 * with no server running). The password comes from stdin or is generated and printed once, never
 * from a flag; a taken username is refused and the account left as it was.
 */
let n = 0;
const name = (prefix: string) => `${prefix}${Date.now().toString(36)}${(n++).toString(36)}`;

function expectOneLineError(result: CliResult, code: number, mentions: RegExp) {
  expect(result.code, result.stderr).toBe(code);
  const lines = result.stderr.trimEnd().split('\n');
  expect(lines, result.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(mentions);
  expect(result.stdout).toBe('');
}

/** GET /api/v1/me with HTTP Basic: who the password signs in as. */
async function me(url: string, username: string, password: string) {
  const res = await fetch(`${url}/api/v1/me`, {
    headers: { authorization: `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}` },
  });
  return { status: res.status, body: (await res.json()) as { user?: { username: string }; is_superuser?: boolean } };
}

describe('gatehouse create-admin with a server running', { timeout: 120_000 }, () => {
  let server: TestServer;
  const cli = (args: string[], input?: string) => runCli(args, server.env, input === undefined ? {} : { input });

  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server?.close());

  it('creates a superuser with the password from stdin, who signs in and holds everything', async () => {
    const admin = name('root');
    const created = await cli(
      ['create-admin', '--username', admin, '--email', `${admin}@example.test`, '--password-stdin'],
      'a long admin secret\n',
    );
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toMatch(new RegExp(`^Created superuser ${admin} \\(usr_`));
    expect(created.stdout).not.toContain('a long admin secret');
    const user = await server.services.users.findByUsername(admin);
    expect(user).toMatchObject({ isSuperuser: true, isActive: true, email: `${admin}@example.test` });
    const signedIn = await me(server.url, admin, 'a long admin secret');
    expect(signedIn.status).toBe(200);
    expect(signedIn.body).toMatchObject({ user: { username: admin }, is_superuser: true });
  });

  it('generates a password and prints it once (--json too)', async () => {
    const admin = name('gen');
    const text = await cli(['create-admin', '--username', admin, '--generate-password']);
    expect(text.code, text.stderr).toBe(0);
    const password = /password: ([\w-]{24})\n\nThe password is shown only this once/.exec(text.stdout)?.[1];
    expect(password).toBeDefined();
    expect((await me(server.url, admin, password as string)).body.is_superuser).toBe(true);

    const other = name('genjson');
    const json = await runCliJson<{ username: string; is_superuser: boolean; password: string }>(
      ['create-admin', '--username', other, '--generate-password', '--json'],
      server.env,
    );
    expect(json).toMatchObject({ username: other, is_superuser: true });
    expect((await me(server.url, other, json.password)).status).toBe(200);
  });

  it('refuses a username that exists, and leaves that account (and its password) alone', async () => {
    const admin = name('taken');
    expect((await cli(['create-admin', '--username', admin, '--password-stdin'], 'the first password\n')).code).toBe(0);
    const again = await cli(['create-admin', '--username', admin, '--password-stdin'], 'another password\n');
    expectOneLineError(again, 1, new RegExp(`^gatehouse: a user named ${admin} already exists; create-admin changes no existing account`));
    expect((await me(server.url, admin, 'the first password')).status).toBe(200);
    expect((await me(server.url, admin, 'another password')).status).toBe(401);

    // A person who is not a superuser is not made one either.
    const person = name('person');
    expect((await cli(['users', 'create', '--username', person, '--no-password'])).code).toBe(0);
    expectOneLineError(await cli(['create-admin', '--username', person, '--generate-password']), 1, /already exists/);
    expect((await server.services.users.findByUsername(person))?.isSuperuser).toBe(false);
  });

  it('takes no password from a flag or a missing terminal, and checks the username first', async () => {
    expectOneLineError(await cli(['create-admin', '--username', name('nopw')]), 2, /--password-stdin or --generate-password/);
    expectOneLineError(await cli(['create-admin', '--username', name('x'), '--password', 'x']), 2, /Unknown option '--password'/);
    expectOneLineError(await cli(['create-admin', '--username', 'bad name', '--generate-password']), 2, /--username: /);
    expectOneLineError(await cli(['create-admin', '--generate-password']), 2, /--username is required/);
    expectOneLineError(await cli(['create-admin', '--username', name('short'), '--password-stdin'], 'short\n'), 2, /password: /);
    const help = await cli(['create-admin', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: gatehouse create-admin \[options\]/);
    expect((await cli(['--help'])).stdout).toMatch(/^ {2}create-admin +create a superuser/m);
  });
});

describe('gatehouse create-admin with no server running', { timeout: 120_000 }, () => {
  let db: TestDatabase;
  let env: Record<string, string>;
  beforeAll(async () => {
    db = await createTestDatabase();
    env = { NODE_ENV: 'test', MASTER_KEY: newMasterKey(), ...db.env };
  });
  afterAll(() => db?.drop());

  it('works on the database itself; a server started afterwards lets the superuser sign in', async () => {
    const created = await runCli(['create-admin', '--username', 'first-admin', '--password-stdin'], env, {
      input: 'first admin password\n',
    });
    expect(created.code, created.stderr).toBe(0);
    const server = await startTestServer({ db, env: { MASTER_KEY: env.MASTER_KEY as string } });
    try {
      const signedIn = await me(server.url, 'first-admin', 'first admin password');
      expect(signedIn.status).toBe(200);
      expect(signedIn.body.is_superuser).toBe(true);
    } finally {
      await server.close();
    }
  });
});

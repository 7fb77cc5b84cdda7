import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliResult, runCli, runCliJson } from '../support/cli.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

/**
 * The identity commands against a running server (issue 10, "The CLI covers the same operations
 * for scripts"): on PGlite through its control socket, on PostgreSQL in-process. `--json` prints
 * the API's JSON; usage errors exit 2, failures 1, each with one line on stderr.
 */
function expectOneLineError(result: CliResult, code: number, mentions: RegExp) {
  expect(result.code, result.stderr).toBe(code);
  const lines = result.stderr.trimEnd().split('\n');
  expect(lines, result.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^gatehouse: /);
  expect(lines[0]).toMatch(mentions);
  expect(result.stdout).toBe('');
}

let n = 0;
const name = (prefix: string) => `${prefix}${Date.now().toString(36)}${(n++).toString(36)}`;

describe('gatehouse tokens | users | roles | orgs | permissions', { timeout: 120_000 }, () => {
  let server: TestServer;
  const cli = (args: string[], input?: string) => runCli(args, server.env, input === undefined ? {} : { input });
  const json = <T = Record<string, unknown>>(...args: string[]) => runCliJson<T>(args, server.env);

  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server?.close());

  it('users create takes the password from stdin, or generates one and prints it once; never from a flag', async () => {
    const alice = name('alice');
    const created = await cli(
      ['users', 'create', '--username', alice, '--email', `${alice}@example.test`, '--password-stdin', '--json'],
      'correct horse battery\n',
    );
    expect(created.code, created.stderr).toBe(0);
    const user = JSON.parse(created.stdout) as { id: string; username: string; has_password: boolean };
    expect(user).toMatchObject({ username: alice, has_password: true });
    expect(created.stdout).not.toContain('correct horse');
    expect(await server.services.users.verifyPassword(alice, 'correct horse battery')).not.toBeNull();

    const bob = name('bob');
    const generated = await json<{ username: string; password: string }>(
      'users',
      'create',
      '--username',
      bob,
      '--generate-password',
      '--json',
    );
    expect(generated.password).toMatch(/^[\w-]{24}$/);
    expect(await server.services.users.verifyPassword(bob, generated.password)).not.toBeNull();
    const text = await cli(['users', 'create', '--username', name('dora'), '--generate-password']);
    expect(text.stdout).toMatch(/password: [\w-]{24}\n\nThe password is shown only this once/);

    expectOneLineError(await cli(['users', 'create', '--username', name('carol')]), 2, /--password-stdin or --generate-password/);
    expectOneLineError(await cli(['users', 'create', '--username', name('e'), '--password-stdin'], 'short\n'), 2, /password: /);
    expectOneLineError(await cli(['users', 'create', '--username', 'bad name', '--no-password']), 2, /--username: /);
    expectOneLineError(await cli(['users', 'create', '--username', alice, '--no-password']), 1, /already exists/);

    const shown = await json<{ id: string }>('users', 'show', alice);
    expect(shown.id).toBe(user.id);
    const listed = await json<{ username: string }[]>('users', 'list', '--json');
    expect(listed.map((u) => u.username)).toEqual(expect.arrayContaining([alice, bob]));

    expect((await cli(['users', 'set-password', '--username', alice, '--password-stdin'], 'another long one\n')).code).toBe(0);
    expect(await server.services.users.verifyPassword(alice, 'another long one')).not.toBeNull();
  });

  it('tokens create --user alice --scope read --json prints the secret once; list masks it; revoke stops it', async () => {
    const alice = name('alice');
    await cli(['users', 'create', '--username', alice, '--no-password']);
    const token = await json<{ id: string; token: string; scope: string }>(
      'tokens',
      'create',
      '--user',
      alice,
      '--scope',
      'read',
      '--json',
    );
    expect(token.scope).toBe('read');
    expect(token.token).toMatch(/^ghat_/);
    expect(await server.services.apiTokens.authenticate(token.token)).not.toBeNull();

    const listed = await cli(['tokens', 'list', '--user', alice, '--json']);
    expect(listed.code, listed.stderr).toBe(0);
    expect(JSON.parse(listed.stdout)).toEqual([expect.objectContaining({ id: token.id, token: '************' })]);
    expect(listed.stdout).not.toContain(token.token);
    const table = await cli(['tokens', 'list']);
    expect(table.stdout).toContain(token.id);
    expect(table.stdout).not.toContain(token.token);

    const revoked = await cli(['tokens', 'revoke', token.id]);
    expect(revoked.code, revoked.stderr).toBe(0);
    expect(await server.services.apiTokens.authenticate(token.token)).toBeNull();
    expect(JSON.parse((await cli(['tokens', 'list', '--user', alice, '--json'])).stdout)).toEqual([]);
    expect(JSON.parse((await cli(['tokens', 'list', '--user', alice, '--all', '--json'])).stdout)).toHaveLength(1);

    expectOneLineError(await cli(['tokens', 'create', '--user', alice, '--scope', 'admin']), 2, /--scope: /);
    expectOneLineError(await cli(['tokens', 'create', '--user', name('nobody')]), 1, /no user has this username/);
    expectOneLineError(await cli(['tokens', 'create', '--user', alice, '--permissions', 'delete_user']), 2, /permissions/);
    expectOneLineError(await cli(['tokens', 'revoke', 'tok_nope']), 1, /no API token has this id/);
  });

  it('roles create | grant | add-permission | remove-permission | revoke | list change what a user holds', async () => {
    const alice = name('alice');
    const user = await json<{ user?: { id: string }; id?: string }>('users', 'create', '--username', alice, '--no-password', '--json');
    const userId = (user.id ?? user.user?.id) as string;
    const role = name('editors');
    const created = await json<{ permissions: string[] }>(
      'roles',
      'create',
      '--name',
      role,
      '--permissions',
      'view_user,change_user',
      '--json',
    );
    expect(created.permissions).toEqual(['change_user', 'view_user']);
    expect((await cli(['roles', 'grant', '--role', role, '--user', alice])).code).toBe(0);
    expect((await server.services.access.effectivePermissions(userId))?.permissions.has('change_user')).toBe(true);
    const added = await json<{ permissions: string[] }>('roles', 'add-permission', '--role', role, '--permissions', 'view_role', '--json');
    expect(added.permissions).toContain('view_role');
    const removed = await json<{ permissions: string[] }>(
      'roles',
      'remove-permission',
      '--role',
      role,
      '--permissions',
      'change_user',
      '--json',
    );
    expect(removed.permissions).toEqual(['view_role', 'view_user']);
    const listed = await json<{ name: string }[]>('roles', 'list', '--json');
    expect(listed.map((r) => r.name)).toContain(role);
    expect((await cli(['roles', 'revoke', '--role', role, '--user', alice])).code).toBe(0);
    expect((await server.services.access.effectivePermissions(userId))?.permissions.size).toBe(0);

    expectOneLineError(await cli(['roles', 'grant', '--role', name('none'), '--user', alice]), 1, /no role has this name/);
    expectOneLineError(await cli(['roles', 'add-permission', '--role', role, '--permissions', 'Bad Codename']), 2, /--permissions: /);
    expectOneLineError(await cli(['roles', 'add-permission', '--role', role, '--permissions', 'fly_plane']), 2, /permission/);
  });

  it('orgs create | add-member | list | remove-member; permissions create | list', async () => {
    const org = name('acme');
    const alice = name('alice');
    const bob = name('bob');
    await cli(['users', 'create', '--username', alice, '--no-password']);
    await cli(['users', 'create', '--username', bob, '--no-password']);
    expect((await cli(['orgs', 'create', '--name', org])).code).toBe(0);
    const admin = await json<{ role: string; username: string }>(
      'orgs',
      'add-member',
      '--org',
      org,
      '--user',
      alice,
      '--role',
      'admin',
      '--json',
    );
    expect(admin).toMatchObject({ role: 'admin', username: alice });
    expect((await cli(['orgs', 'add-member', '--org', org, '--user', bob])).code).toBe(0);
    expect((await json<{ name: string }[]>('orgs', 'list', '--json')).map((o) => o.name)).toContain(org);
    expect((await cli(['orgs', 'remove-member', '--org', org, '--user', bob])).code).toBe(0);
    expectOneLineError(await cli(['orgs', 'remove-member', '--org', org, '--user', alice]), 1, /at least one admin/);
    expectOneLineError(await cli(['orgs', 'add-member', '--org', org, '--user', bob, '--role', 'owner']), 2, /--role/);

    const codename = `add_${name('media')}`.toLowerCase();
    const created = await json<{ codename: string; name: string }>('permissions', 'create', '--codename', codename, '--json');
    expect(created).toMatchObject({ codename, name: expect.stringMatching(/^Can add /) });
    expect((await json<{ codename: string }[]>('permissions', 'list', '--json')).map((p) => p.codename)).toContain(codename);
    expectOneLineError(await cli(['permissions', 'create', '--codename', 'NotOne']), 2, /--codename: /);
  });

  it('clients create --user names the owner; without it the gatehouse-operator account owns the client', async () => {
    const alice = name('alice');
    const user = await json<{ id: string }>('users', 'create', '--username', alice, '--no-password', '--json');
    const owned = await json<{ user: string }>('clients', 'create', '--name', name('c'), '--user', alice, '--json');
    expect(owned.user).toBe(user.id);
    const byOperator = await json<{ user: string }>('clients', 'create', '--name', name('c'), '--json');
    const operator = await server.services.users.findByUsername('gatehouse-operator');
    expect(operator).toMatchObject({ hasPassword: false });
    expect(byOperator.user).toBe(operator?.id);
    expectOneLineError(await cli(['clients', 'create', '--name', name('c'), '--user', name('ghost')]), 1, /no user has this username/);
  });
});

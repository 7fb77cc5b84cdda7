import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { commandName } from '../../src/cli/command-kit.ts';
import { COMMANDS, type CommandSpec } from '../../src/cli/commands.ts';
import { type CliResult, runCli } from '../support/cli.ts';
import { TEST_DB } from '../support/test-database.ts';

/**
 * `--help` and usage errors. Nothing here reaches a database: the CLI must answer these before it
 * opens anything (the tests point DATA_DIR at a directory that must never be created), so the
 * file runs once, on the pglite project; the database-dependent errors (unknown API, duplicate
 * names) are in cli.test.ts and run on both databases.
 */

const scratch = mkdtempSync(join(tmpdir(), 'gatehouse-usage-'));
const untouched = join(scratch, 'never-created');
const ENV = { NODE_ENV: 'test', DATA_DIR: untouched, MASTER_KEY: 'x'.repeat(43) };
const cli = (...args: string[]) => runCli(args, ENV);

afterAll(() => {
  // Nothing may have opened (or created) the data directory.
  expect(existsSync(untouched)).toBe(false);
  rmSync(scratch, { recursive: true, force: true });
});

/** The `--flag` names a help text documents, from its option lines. */
function documentedFlags(help: string): string[] {
  return [...help.matchAll(/^ {2}--([a-z][a-z-]*)/gm)].map((m) => m[1] as string).sort();
}

/** Every flag of a command with a placeholder value, as a user could type them all at once. */
function everyFlag(command: CommandSpec): string[] {
  return Object.entries(command.options).flatMap(([flag, spec]) => (spec.type === 'boolean' ? [`--${flag}`] : [`--${flag}`, 'x']));
}

function expectUsageError(result: CliResult, mentions: RegExp) {
  expect(result.code, result.stderr).toBe(2);
  const lines = result.stderr.trimEnd().split('\n');
  expect(lines, result.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^gatehouse: /);
  expect(lines[0]).toMatch(mentions);
  expect(result.stderr).not.toMatch(/^\s+at /m);
  expect(result.stdout).toBe('');
}

describe.skipIf(TEST_DB !== 'pglite').concurrent('gatehouse --help', { timeout: 60_000 }, () => {
  it('the root help exits 0 and lists serve, migrate and every command', async () => {
    const result = await cli('--help');
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^Usage: gatehouse <command>/m);
    expect(result.stdout).toMatch(/^ {2}serve\b/m);
    expect(result.stdout).toMatch(/^ {2}migrate \[--status\]/m);
    for (const command of COMMANDS) {
      expect(result.stdout).toMatch(new RegExp(`^ {2}${commandName(command)}\\s+${escapeRegExp(command.summary)}$`, 'm'));
    }
  });

  // A command of one word (create-admin) has no group help: its --help is the command's (below).
  for (const group of [...new Set(COMMANDS.filter((c) => c.name !== '').map((c) => c.group))]) {
    it(`${group} --help exits 0 and lists every ${group} command`, async () => {
      const result = await cli(group, '--help');
      expect(result.code, result.stderr).toBe(0);
      for (const command of COMMANDS.filter((c) => c.group === group)) {
        expect(result.stdout).toMatch(new RegExp(`^ {2}${command.name}\\s+${escapeRegExp(command.summary)}$`, 'm'));
      }
    });
  }

  for (const command of COMMANDS) {
    it(`${commandName(command)} --help exits 0 and documents exactly the flags it accepts`, async () => {
      // Every flag of the spec at once: the parser must accept them all (strict parsing rejects
      // an unknown one before --help is honoured), and the help must list exactly those.
      const result = await cli(...commandName(command).split(' '), ...everyFlag(command), '--help');
      expect(result.code, result.stderr).toBe(0);
      expect(result.stderr).toBe('');
      expect(result.stdout).toContain(`Usage: gatehouse ${commandName(command)} [options]`);
      expect(documentedFlags(result.stdout)).toEqual([...Object.keys(command.options), 'help'].sort());
      for (const [flag, spec] of Object.entries(command.options)) {
        const line = result.stdout.split('\n').find((l) => l.startsWith(`  --${flag} `) || l === `  --${flag}`) ?? '';
        expect(line, flag).toContain(spec.description);
        if (spec.value) expect(line, flag).toContain(`--${flag} ${spec.value}`);
        expect(line.includes('required'), `${flag} marked required`).toBe(spec.required === true);
        expect(line.includes('repeatable'), `${flag} marked repeatable`).toBe(spec.multiple === true);
      }
    });
  }

  it('serve --help and migrate --help exit 0; migrate documents --status', async () => {
    const serve = await cli('serve', '--help');
    expect(serve.code, serve.stderr).toBe(0);
    expect(serve.stdout).toMatch(/^Usage: gatehouse serve/m);
    const migrate = await cli('migrate', '--help');
    expect(migrate.code, migrate.stderr).toBe(0);
    expect(documentedFlags(migrate.stdout)).toEqual(['help', 'status']);
  });
});

describe.skipIf(TEST_DB !== 'pglite').concurrent('gatehouse usage errors exit 2 with one line on stderr', { timeout: 60_000 }, () => {
  it('an unknown command', async () => {
    expectUsageError(await cli('frobnicate'), /unknown command 'frobnicate'/);
  });

  it('an unknown subcommand', async () => {
    expectUsageError(await cli('apis', 'frobnicate'), /unknown command 'apis frobnicate'/);
  });

  it('an unknown flag', async () => {
    expectUsageError(await cli('apis', 'list', '--bogus'), /--bogus/);
  });

  it('an argument to serve', async () => {
    expectUsageError(await cli('serve', 'now'), /serve takes no arguments/);
  });

  it('a stray positional argument', async () => {
    expectUsageError(await cli('clients', 'list', 'everything'), /everything/);
  });

  it('a missing required flag', async () => {
    expectUsageError(await cli('apis', 'create', '--name', 'No identifier'), /--identifier is required/);
  });

  it('a flag without its value', async () => {
    expectUsageError(await cli('apis', 'create', '--name', 'x', '--identifier'), /--identifier/);
  });

  it('a value starting with a dash, which must be written --flag=value', async () => {
    expectUsageError(await cli('clients', 'show', '--client-id', '-abc'), /--client-id' argument is ambiguous.*'--client-id=-XYZ'/);
  });

  it('--identifier that is not an absolute URI (RFC 8707 §2)', async () => {
    expectUsageError(await cli('apis', 'create', '--identifier', 'not a uri', '--name', 'Bad'), /--identifier: .*absolute URI/);
    expectUsageError(await cli('apis', 'create', '--identifier', 'https://a.example.test/#f', '--name', 'Bad'), /--identifier: .*fragment/);
  });

  it('an unknown grant type', async () => {
    expectUsageError(await cli('clients', 'create', '--name', 'g', '--grant-types', 'password'), /--grant-types: /);
  });

  it('an --allowed-origin that is not an origin (a path, a wildcard, plain http to a remote host)', async () => {
    for (const origin of [
      'https://app.example.test/callback',
      '*',
      'http://app.example.test',
      'https://App.Example.test',
      'https://a.example.test,nope',
    ]) {
      expectUsageError(await cli('clients', 'create', '--name', 'o', '--allowed-origin', origin), /--allowed-origin: .*origin/);
    }
  });

  it('an --api that is not a URI', async () => {
    expectUsageError(await cli('clients', 'create', '--name', 'g', '--api', 'nope'), /--api: /);
  });

  it('--token-ttl abc, and a lifetime out of range', async () => {
    expectUsageError(
      await cli('apis', 'create', '--identifier', 'https://a.example.test', '--name', 'T', '--token-ttl', 'abc'),
      /--token-ttl .*"abc"/,
    );
    expectUsageError(
      await cli('apis', 'create', '--identifier', 'https://a.example.test', '--name', 'T', '--token-ttl', '5'),
      /--token-ttl: /,
    );
  });

  it('an unknown --signing-alg or --token-format', async () => {
    expectUsageError(
      await cli('apis', 'create', '--identifier', 'https://a.example.test', '--name', 'T', '--signing-alg', 'HS256'),
      /--signing-alg: /,
    );
    expectUsageError(
      await cli('apis', 'create', '--identifier', 'https://a.example.test', '--name', 'T', '--token-format', 'xml'),
      /--token-format: /,
    );
  });

  it('--scopes without --api', async () => {
    expectUsageError(await cli('clients', 'create', '--name', 's', '--scopes', 'read'), /--scopes needs at least one --api/);
  });

  it('clients create --introspect without --api (the right is given per API)', async () => {
    expectUsageError(await cli('clients', 'create', '--name', 'rs', '--introspect'), /--introspect needs at least one --api/);
  });

  it('clients update without --client-id, or with nothing to change', async () => {
    expectUsageError(await cli('clients', 'update', '--introspect'), /--client-id is required/);
    expectUsageError(
      await cli('clients', 'update', '--client-id', 'abc'),
      /nothing to change: give --name, --api, --introspect, --no-introspect, --allowed-origin or --no-allowed-origins/,
    );
    expectUsageError(await cli('clients', 'update', '--client-id', 'abc', '--json'), /nothing to change/);
  });

  it('clients update with --allowed-origin and --no-allowed-origins together, or an origin with a path', async () => {
    expectUsageError(
      await cli('clients', 'update', '--client-id', 'abc', '--allowed-origin', 'https://a.example.test', '--no-allowed-origins'),
      /--allowed-origin or --no-allowed-origins, not both/,
    );
    expectUsageError(
      await cli('clients', 'update', '--client-id', 'abc', '--allowed-origin', 'https://a.example.test/app'),
      /--allowed-origin: .*origin/,
    );
  });

  it('clients update with --introspect and --no-introspect together', async () => {
    expectUsageError(await cli('clients', 'update', '--client-id', 'abc', '--introspect', '--no-introspect'), /not both/);
  });

  it('clients update --scopes without --api', async () => {
    expectUsageError(await cli('clients', 'update', '--client-id', 'abc', '--scopes', 'read'), /--scopes needs at least one --api/);
  });

  it('clients update with a bad value names its flag', async () => {
    expectUsageError(await cli('clients', 'update', '--client-id', 'abc', '--api', 'nope'), /--api: /);
    expectUsageError(await cli('clients', 'update', '--client-id', 'abc', '--name', '   '), /--name: /);
    expectUsageError(await cli('clients', 'update', '--client-id', 'abc', '--introspect=yes'), /--introspect/);
  });
});

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

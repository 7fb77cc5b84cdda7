import { userInfo } from 'node:os';
import { parseArgs } from 'node:util';
import { type Config, ConfigError, loadConfig } from '../config/config.ts';
import { acquireDataDirLock, type DataDirLock, DataDirLockedError } from '../db/data-dir-lock.ts';
import type { Database } from '../db/database.ts';
import { DatabaseUnreachableError, embeddedDatabaseExists, NoDatabaseError } from '../db/database-location.ts';
import { MigrationError, migrate, pendingMigrations } from '../db/migrator.ts';
import { AppError } from '../lib/app-error.ts';
import { createLogger, type Logger } from '../lib/logger.ts';
import { MasterKeyError } from '../server/master-key.ts';
import { AdminApiError, withAdminApi } from './admin-client.ts';
import { commandName } from './command-kit.ts';
import { COMMANDS, type CommandSpec, UsageError } from './commands.ts';
import { commandHelp, groupHelp, MIGRATE_HELP, rootHelp, SERVE_HELP } from './help.ts';

/** CLI entry point: returns the process exit code. 0 ok, 1 failed, 2 usage error. */
export async function main(argv: string[], env: Record<string, string | undefined> = process.env): Promise<number> {
  const out = (text: string) => process.stdout.write(`${text}\n`);
  const fail = (text: string, code = 1) => {
    process.stderr.write(`gatehouse: ${text}\n`);
    return code;
  };

  const [first, second, ...rest] = argv;
  if (first === '--help' || first === '-h' || first === 'help') {
    out(rootHelp());
    return 0;
  }
  // No command is a question, not an order to start a server (which could create a database here).
  if (first === undefined) {
    out(rootHelp());
    return 2;
  }
  if (first === '--version') {
    out((await import('../../package.json', { with: { type: 'json' } })).default.version);
    return 0;
  }

  let config: Config;
  try {
    config = loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return fail(err.message);
    throw err;
  }

  try {
    if (first === 'serve') {
      if (second === '--help' || second === '-h') {
        out(SERVE_HELP);
        return 0;
      }
      if (second !== undefined) return fail(`serve takes no arguments (got '${second}'); configure it with environment variables`, 2);
      // The server's modules (oidc-provider, Koa, Prisma…) load only here: other commands start fast.
      const { serve } = await import('../server/serve.ts');
      return await serve(config);
    }
    // CLI commands log only warnings, to stderr, so stdout stays machine-readable.
    const log = createLogger({ level: env.LOG_LEVEL ?? 'warn', destination: process.stderr as never, name: 'gatehouse-cli' });
    if (first === 'migrate') return await runMigrate(config, log, argv.slice(1), out, fail);

    const group = COMMANDS.filter((c) => c.group === first);
    if (group.length === 0) return fail(`unknown command '${first}'. Run 'gatehouse --help' for the list.`, 2);
    // A command of one word (`create-admin`): everything after it is its flags.
    const single = group.find((c) => c.name === '');
    if (single) return await runCommand(single, argv.slice(1), config, log, out, fail);
    if (second === undefined || second === '--help' || second === '-h') {
      out(groupHelp(first));
      return second === undefined ? 2 : 0;
    }
    const command = group.find((c) => c.name === second);
    if (!command) return fail(`unknown command '${first} ${second}'. Run 'gatehouse ${first} --help' for the list.`, 2);
    return await runCommand(command, rest, config, log, out, fail);
  } catch (err) {
    if (err instanceof UsageError) return fail(err.message, 2);
    if (
      err instanceof ConfigError ||
      err instanceof MasterKeyError ||
      err instanceof MigrationError ||
      err instanceof DataDirLockedError ||
      err instanceof NoDatabaseError ||
      err instanceof DatabaseUnreachableError
    )
      return fail(err.message);
    if (err instanceof AppError) return fail(`${err.message}${describeDetails(err.details)}`);
    throw err;
  }
}

function describeDetails(details: Record<string, unknown> | undefined): string {
  if (!details) return '';
  const parts = Object.entries(details)
    .filter(([, v]) => v !== undefined && typeof v !== 'object')
    .map(([k, v]) => `${k}=${v}`);
  return parts.length ? ` (${parts.join(', ')})` : '';
}

async function runCommand(
  command: CommandSpec,
  args: string[],
  config: Config,
  log: Logger,
  out: (t: string) => void,
  fail: (t: string, code?: number) => number,
): Promise<number> {
  const options = Object.fromEntries(
    Object.entries(command.options).map(([flag, spec]) => [flag, { type: spec.type, ...(spec.multiple ? { multiple: true } : {}) }]),
  );
  let values: Record<string, string | boolean | string[] | undefined>;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args,
      options: { ...options, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: command.positional !== undefined,
    }) as {
      values: Record<string, string | boolean | string[] | undefined>;
      positionals: string[];
    });
  } catch (err) {
    // parseArgs explains on later lines how to pass a value that starts with a dash: keep that line.
    const [reason, ...more] = (err as Error).message.split('\n');
    const dashHint = more.find((line) => line.includes('starting with a dash'));
    const text = dashHint ? `${reason} ${dashHint.trim()}` : (reason ?? '');
    return fail(`${text.endsWith('.') ? text : `${text}.`} Run 'gatehouse ${commandName(command)} --help'.`, 2);
  }
  if (values.help) {
    out(commandHelp(command));
    return 0;
  }
  if (command.positional && positionals.length > 0) {
    const flag = command.positional;
    if (positionals.length > 1 || values[flag] !== undefined)
      return fail(
        `give one ${command.options[flag]?.value ?? flag}, as the argument or as --${flag}: got ${[...(values[flag] === undefined ? [] : [values[flag]]), ...positionals].map((p) => `'${p}'`).join(', ')}.`,
        2,
      );
    values[flag] = positionals[0];
  }
  for (const [flag, spec] of Object.entries(command.options)) {
    if (spec.required && (values[flag] === undefined || values[flag] === ''))
      return fail(`--${flag} is required. Run 'gatehouse ${commandName(command)} --help'.`, 2);
  }
  command.check?.(values);
  await command.prepare?.(values);
  const actor = `cli:${safeUsername()}`;
  let result: unknown;
  try {
    const session = { readOnly: command.readOnly === true, actor, label: `cli ${commandName(command)}` };
    result = await withAdminApi(config, log, session, (call) => command.run(values, call));
  } catch (err) {
    // The admin API names a bad field as it calls it; say which flag sets it.
    if (err instanceof AdminApiError && err.code === 'guard.invalid_input') return fail(describeIssues(err.details, command), 2);
    // A value the domain rejects (an unknown --api, a scope the API lacks) is a wrong value too.
    if (err instanceof AppError && err.status === 400) return fail(`${err.message}${describeDetails(err.details)}`, 2);
    throw err;
  }
  out(command.print(result, values.json === true));
  return 0;
}

/** The first issue of a 400 `guard.invalid_input` problem, named by the flag that sets its field. */
function describeIssues(details: Record<string, unknown> | undefined, command: CommandSpec): string {
  const [issue] = (details?.issues ?? []) as { path?: string; message?: string }[];
  if (!issue) return 'invalid input';
  const field = String(issue.path ?? '').split('.')[0] ?? '';
  const flag = command.flagFor?.[field];
  return `${flag ? `--${flag}` : field || 'input'}: ${issue.message}`;
}

function safeUsername(): string {
  try {
    return userInfo().username;
  } catch {
    return 'unknown';
  }
}

async function runMigrate(
  config: Config,
  log: Logger,
  args: string[],
  out: (t: string) => void,
  fail: (t: string, code?: number) => number,
): Promise<number> {
  let values: { status?: boolean; help?: boolean };
  try {
    ({ values } = parseArgs({
      args,
      options: { status: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    return fail(`${(err as Error).message.split('\n')[0]}. Run 'gatehouse migrate --help'.`, 2);
  }
  if (values.help) {
    out(MIGRATE_HELP);
    return 0;
  }
  let lock: DataDirLock | undefined;
  let isNew = false;
  if (config.database.kind === 'pglite') {
    isNew = !embeddedDatabaseExists(config.dataDir);
    // --status only reads: it never creates a database where there is none.
    if (isNew && values.status) throw new NoDatabaseError(config.dataDir);
    try {
      lock = await acquireDataDirLock(config.dataDir, 'cli migrate');
    } catch (err) {
      if (err instanceof DataDirLockedError && err.owner?.role === 'server') {
        out('A server is running on this data directory; it applied pending migrations when it started.');
        return 0;
      }
      throw err;
    }
  }
  let db: Database;
  try {
    const { openDatabase } = await import('../db/database.ts');
    db = await openDatabase(config.database, { log, role: 'cli migrate', lock });
  } catch (err) {
    await lock?.release();
    throw err;
  }
  if (isNew) process.stderr.write(`gatehouse: created a new embedded database in ${config.dataDir}\n`);
  try {
    if (values.status) {
      const pending = await pendingMigrations(db);
      out(pending.length ? `Pending migrations:\n  ${pending.join('\n  ')}` : 'The database is up to date.');
      return pending.length ? 1 : 0;
    }
    const result = await migrate(db);
    out(result.applied.length ? `Applied migrations:\n  ${result.applied.join('\n  ')}` : 'The database is up to date.');
    return 0;
  } finally {
    await db.close();
  }
}

import { commandName } from './command-kit.ts';
import { COMMANDS, type CommandSpec } from './commands.ts';

export function rootHelp(): string {
  const groups = [...new Set(COMMANDS.map((c) => c.group))];
  const lines = [
    'Gatehouse: an OpenID Connect / OAuth 2.0 authorization server',
    '',
    'Usage: gatehouse <command> [options]',
    '',
    'Commands:',
    '  serve                   start the server',
    '  migrate [--status]      apply pending database migrations (or list them)',
    ...groups.flatMap((g) => COMMANDS.filter((c) => c.group === g).map((c) => `  ${commandName(c).padEnd(22)}  ${c.summary}`)),
    '',
    'Every command reads the same environment as the server (DATABASE_URL, DATA_DIR, MASTER_KEY…).',
    'On the embedded database, while a server runs, commands are carried out by that server',
    'through its control socket ($DATA_DIR/gatehouse.sock).',
    '',
    "Run 'gatehouse <command> --help' for a command's options.",
  ];
  return lines.join('\n');
}

export function groupHelp(group: string): string {
  const commands = COMMANDS.filter((c) => c.group === group);
  return [
    `Usage: gatehouse ${group} <${commands.map((c) => c.name).join('|')}> [options]`,
    '',
    ...commands.map((c) => `  ${c.name.padEnd(14)}  ${c.summary}`),
  ].join('\n');
}

export function commandHelp(command: CommandSpec): string {
  const options = Object.entries(command.options).map(([flag, spec]) => {
    const left = `--${flag}${spec.value ? ` ${spec.value}` : ''}`;
    const notes = [spec.required ? 'required' : '', spec.multiple ? 'repeatable' : ''].filter(Boolean).join(', ');
    return `  ${left.padEnd(24)}  ${spec.description}${notes ? ` (${notes})` : ''}`;
  });
  return [
    `Usage: gatehouse ${commandName(command)} [options]${command.positional ? ` [${command.options[command.positional]?.value}]` : ''}`,
    '',
    `${command.summary[0]?.toUpperCase()}${command.summary.slice(1)}.`,
    '',
    'Options:',
    ...options,
    `  ${'--help'.padEnd(24)}  show this help`,
  ].join('\n');
}

export const SERVE_HELP = [
  'Usage: gatehouse serve',
  '',
  'Starts the server: applies pending migrations, creates signing keys on first start, then serves',
  'HTTP on PORT. Configuration comes from the environment (see .env.example and the README).',
  'SIGTERM or SIGINT stops it gracefully.',
].join('\n');

export const MIGRATE_HELP = [
  'Usage: gatehouse migrate [--status]',
  '',
  'Applies pending database migrations, safely when several instances run it at once.',
  'The server also applies them when it starts.',
  '',
  'Options:',
  `  ${'--status'.padEnd(24)}  only list pending migrations; exit 1 if there are any`,
  `  ${'--help'.padEnd(24)}  show this help`,
].join('\n');

import type { ZodType } from 'zod';
import { AppError } from '../lib/app-error.ts';
import type { AdminRequest } from './admin-transport.ts';

/** What every CLI command is made of: its spec, flag helpers, and list and lookup calls to the admin API. */
export interface OptionSpec {
  type: 'string' | 'boolean';
  multiple?: boolean;
  value?: string;
  description: string;
  required?: boolean;
}

/** Sends one admin request and returns the answer's body; a problem answer throws AdminApiError. */
export type AdminCall = <T = unknown>(request: AdminRequest) => Promise<T>;

export type FlagValues = Record<string, string | boolean | string[] | undefined>;

export interface CommandSpec {
  group: string;
  /** '' for a command of one word (`gatehouse create-admin`): the group is the command */
  name: string;
  summary: string;
  options: Record<string, OptionSpec>;
  /** the one positional argument it takes, as another way to give this flag (`keys revoke KID`) */
  positional?: string;
  /** commands that only read never create a database (or a master key) where there is none */
  readOnly?: boolean;
  /**
   * Checks the flags before anything is opened or asked (a wrong value never creates a database):
   * builds what `run` sends and validates it with the admin API's own schema; throws UsageError.
   */
  check?(values: FlagValues): void;
  /**
   * Asks what the command needs from the person or from stdin (a password), after `check` and
   * before anything is opened; may add to `values`.
   */
  prepare?(values: FlagValues): Promise<void>;
  /** flags → admin API calls */
  run(values: FlagValues, call: AdminCall): Promise<unknown>;
  /** maps a request field (as the API names it) back to the flag that sets it, for error messages */
  flagFor?: Record<string, string>;
  print(result: unknown, json: boolean): string;
}

/** How a person types the command: `users create`, or `create-admin` for a command that is its own group (name ''). */
export const commandName = (command: Pick<CommandSpec, 'group' | 'name'>): string =>
  command.name ? `${command.group} ${command.name}` : command.group;

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export const JSON_FLAG: OptionSpec = { type: 'boolean', description: 'print the result as one JSON object (or array)' };

export const list = (value: unknown): string[] | undefined =>
  typeof value === 'string'
    ? value
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    : undefined;

export function integer(flag: string, value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !/^\d+$/.test(value))
    throw new UsageError(`--${flag} must be a whole number of seconds, not ${JSON.stringify(value)}`);
  return Number(value);
}

export function table(rows: string[][]): string {
  if (rows.length === 0) return '';
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows
    .map((r) =>
      r
        .map((cell, i) => cell.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

export const json = (value: unknown) => JSON.stringify(value, null, 2);

/** `body` when the admin API's `schema` accepts it; otherwise a UsageError naming the flag. */
export function checked<T>(schema: ZodType, body: T, flagFor: Record<string, string>): T {
  const result = schema.safeParse(body);
  if (result.success) return body;
  const issue = result.error.issues[0];
  const field = String(issue?.path[0] ?? '');
  const flag = flagFor[field];
  throw new UsageError(`${flag ? `--${flag}` : field || 'input'}: ${issue?.message ?? 'invalid'}`);
}

export const query = (params: Record<string, string | undefined>) => {
  const defined = Object.entries(params).filter((e): e is [string, string] => e[1] !== undefined);
  return defined.length ? `?${new URLSearchParams(defined).toString()}` : '';
};

interface Page<T> {
  count: number;
  next: string | null;
  results: T[];
}

/** Every item of a list, page after page (a command prints the whole list, as an array with --json). */
export async function everyItem<T>(call: AdminCall, path: string, params: Record<string, string | undefined> = {}): Promise<T[]> {
  const items: T[] = [];
  for (let page = 1; ; page++) {
    const answer = await call<Page<T>>({ method: 'GET', path: `${path}${query({ ...params, page: String(page), page_size: '200' })}` });
    items.push(...answer.results);
    if (!answer.next || answer.results.length === 0) return items;
  }
}

/** The first item of a filtered list, or undefined. */
export async function firstItem<T>(call: AdminCall, path: string, params: Record<string, string>): Promise<T | undefined> {
  return (await call<Page<T>>({ method: 'GET', path: `${path}${query({ ...params, page_size: '1' })}` })).results[0];
}

/**
 * The account that owns what the operator registers without naming an owner (`clients create`
 * without --user): a user without a password (nobody signs in as it), created on first use.
 */
export const OPERATOR_ACCOUNT = 'gatehouse-operator';

/** The id of the user named `username`; the operator account is created when missing. */
export async function userIdByName(call: AdminCall, username: string): Promise<string> {
  const found = await firstItem<{ id: string }>(call, '/users', { username });
  if (found) return found.id;
  if (username === OPERATOR_ACCOUNT) return (await call<{ id: string }>({ method: 'POST', path: '/users', body: { username } })).id;
  throw new AppError('user.not_found', 'no user has this username', { status: 404, details: { username } });
}

import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import { CreateOrganization } from '../domain/organizations/organization.schema.ts';
import { CodenameList, CreatePermission } from '../domain/permissions/permission.schema.ts';
import { CreateRole } from '../domain/roles/role.schema.ts';
import { Password } from '../domain/users/user.schema.ts';
import type { TokenWire } from '../http/admin/tokens.routes.ts';
import { CreateTokenWire } from '../http/admin/tokens.routes.ts';
import { CreateUserWire, type UserWire } from '../http/admin/users.routes.ts';
import { AppError } from '../lib/app-error.ts';
import {
  type AdminCall,
  type CommandSpec,
  checked,
  everyItem,
  type FlagValues,
  firstItem,
  integer,
  JSON_FLAG,
  json,
  list,
  table,
  UsageError,
  userIdByName,
} from './command-kit.ts';

/**
 * The identity commands (issue 10): tokens, users, roles, orgs and permissions, each a client of
 * the admin API like every other command. Objects are named as people name them (usernames, role
 * and organisation names, client_ids) and looked up through the API's filters.
 */

interface RoleWire {
  id: string;
  name: string;
  description: string;
  permissions: string[];
}
interface OrganizationWire {
  id: string;
  name: string;
}

/** Where a password comes from: stdin, a prompt (a terminal), or generated and printed once. */
const PASSWORD_VALUE = '\u0000password';
const GENERATED = '\u0000generated';

const PASSWORD_FLAGS = {
  'password-stdin': { type: 'boolean', description: 'read the password from standard input (one line)' },
  'generate-password': { type: 'boolean', description: 'generate a strong password and print it, once' },
} as const;

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

/** Asks on the terminal without echoing what is typed. */
function promptHidden(question: string): Promise<string> {
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
  const echo = rl as unknown as { _writeToOutput(s: string): void; output: NodeJS.WritableStream };
  echo._writeToOutput = (s: string) => {
    if (s.startsWith(question) || s === '\r\n' || s === '\n') echo.output.write(s.startsWith(question) ? question : '\n');
  };
  return new Promise((resolve) =>
    rl.question(question, (answer) => {
      rl.close();
      resolve(answer);
    }),
  );
}

function checkPasswordFlags(v: FlagValues, { optional }: { optional: boolean }): void {
  const given = ['password-stdin', 'generate-password', 'no-password'].filter((f) => v[f] === true);
  if (given.length > 1) throw new UsageError(`give one of --${given.join(', --')}, not several`);
  if (given.length === 0 && !optional && !process.stdin.isTTY)
    throw new UsageError('no terminal to ask for the password on: give --password-stdin or --generate-password');
}

async function preparePassword(v: FlagValues): Promise<void> {
  if (v['no-password'] === true) return;
  let password: string;
  if (v['password-stdin'] === true) password = await readStdin();
  else if (v['generate-password'] === true) {
    password = randomBytes(18).toString('base64url');
    v[GENERATED] = true;
  } else if (process.stdin.isTTY) {
    password = await promptHidden('Password: ');
    if ((await promptHidden('Password (again): ')) !== password) throw new UsageError('the passwords differ');
  } else return;
  const valid = Password.safeParse(password);
  if (!valid.success) throw new UsageError(`password: ${valid.error.issues[0]?.message ?? 'invalid'}`);
  v[PASSWORD_VALUE] = password;
}

async function roleByName(call: AdminCall, name: string): Promise<RoleWire> {
  const found = (await everyItem<RoleWire>(call, '/roles', { name_prefix: name })).find((r) => r.name === name);
  if (!found) throw new AppError('role.not_found', 'no role has this name', { status: 404, details: { name } });
  return found;
}

async function organizationByName(call: AdminCall, name: string): Promise<OrganizationWire> {
  const found = (await everyItem<OrganizationWire>(call, '/organizations', { name_prefix: name })).find((o) => o.name === name);
  if (!found) throw new AppError('organization.not_found', 'no organization has this name', { status: 404, details: { name } });
  return found;
}

async function userByName(call: AdminCall, username: string): Promise<UserWire> {
  const found = await firstItem<UserWire>(call, '/users', { username });
  if (!found) throw new AppError('user.not_found', 'no user has this username', { status: 404, details: { username } });
  return found;
}

const enc = encodeURIComponent;
const yesNo = (b: boolean) => (b ? 'yes' : 'no');
const at = (d: string | null) => d ?? '-';

function codenames(v: FlagValues, flag = 'permissions'): string[] {
  const given = list(v[flag]) ?? [];
  if (given.length === 0) throw new UsageError(`--${flag} needs at least one codename`);
  const valid = CodenameList.safeParse(given);
  if (!valid.success) throw new UsageError(`--${flag}: ${valid.error.issues[0]?.message ?? 'invalid'}`);
  return given;
}

const TOKEN_FLAGS = { scope: 'scope', permissions: 'permissions', expires_in_seconds: 'expires-in', name: 'name' };

function tokenBody(v: FlagValues) {
  const permissions = list(v.permissions);
  return checked(
    CreateTokenWire.omit({ user: true, application: true }),
    {
      ...(v.scope === undefined ? {} : { scope: v.scope }),
      ...(permissions ? { permissions } : {}),
      ...(v['expires-in'] === undefined ? {} : { expires_in_seconds: integer('expires-in', v['expires-in']) }),
      ...(v.name === undefined ? {} : { name: v.name }),
    },
    TOKEN_FLAGS,
  );
}

const USER_FLAGS = { username: 'username', email: 'email' };

function userBody(v: FlagValues) {
  return checked(
    CreateUserWire.omit({ password: true }),
    { username: v.username, ...(v.email === undefined ? {} : { email: v.email }), ...(v.superuser ? { is_superuser: true } : {}) },
    USER_FLAGS,
  );
}

function printToken(result: unknown, asJson: boolean): string {
  const token = result as TokenWire & { username?: string };
  if (asJson) return json(token);
  return [
    `Created API token ${token.id} (scope ${token.scope}${token.permissions.length ? `, only ${token.permissions.join(', ')}` : ''})`,
    `  token: ${token.token}`,
    '',
    'The token is shown only this once: store it now. Send it as "Authorization: Token <token>".',
  ].join('\n');
}

function printUser(verb: string, noun = 'user') {
  return (result: unknown, asJson: boolean): string => {
    const { user, password } = result as { user: UserWire; password?: string };
    if (asJson) return json(password ? { ...user, password } : user);
    const lines = [`${verb} ${noun} ${user.username} (${user.id})`];
    if (password) lines.push(`  password: ${password}`, '', 'The password is shown only this once: hand it over now.');
    return lines.join('\n');
  };
}

/**
 * `gatehouse create-admin`: the first superuser, as `users create --superuser` would make it (the
 * same admin API call, `POST /users` with `is_superuser`, sent as the local operator, a superuser),
 * with a password always. Like every command it reaches a running server through its control
 * socket, and works on the database itself when none runs (PostgreSQL, or an embedded directory no
 * server holds). It never changes an account that exists: a taken username is refused.
 */
const CREATE_ADMIN: CommandSpec = {
  group: 'create-admin',
  name: '',
  summary: 'create a superuser; the password comes from a prompt, --password-stdin, or is generated and printed once',
  options: {
    username: { type: 'string', value: 'NAME', required: true, description: 'letters, digits and @ . + - _' },
    email: { type: 'string', value: 'EMAIL', description: 'their email address' },
    ...PASSWORD_FLAGS,
    json: JSON_FLAG,
  },
  flagFor: USER_FLAGS,
  check(v) {
    userBody({ ...v, superuser: true });
    checkPasswordFlags(v, { optional: false });
  },
  prepare: preparePassword,
  async run(v, call) {
    const password = v[PASSWORD_VALUE] as string;
    try {
      const user = await call<UserWire>({ method: 'POST', path: '/users', body: { ...userBody({ ...v, superuser: true }), password } });
      return { user, ...(v[GENERATED] ? { password } : {}) };
    } catch (err) {
      if (!(err instanceof AppError && err.code === 'user.username_taken')) throw err;
      throw new AppError(
        'user.username_taken',
        `a user named ${v.username as string} already exists; create-admin changes no existing account (its password: 'gatehouse users set-password --username ${v.username as string}')`,
        { status: 409 },
      );
    }
  },
  print: printUser('Created', 'superuser'),
};

export const IDENTITY_COMMANDS: CommandSpec[] = [
  CREATE_ADMIN,
  {
    group: 'tokens',
    name: 'create',
    summary: 'create an API token for a user; prints its secret once',
    options: {
      user: { type: 'string', value: 'USERNAME', required: true, description: 'the user the token acts as' },
      scope: { type: 'string', value: 'SCOPE', description: 'read (only view_* permissions and safe methods) or write (default)' },
      permissions: { type: 'string', value: 'LIST', description: "comma-separated codenames to narrow it to (each one the user's)" },
      'client-id': { type: 'string', value: 'ID', description: 'bind it to this application: it ends with it' },
      'expires-in': { type: 'string', value: 'SECONDS', description: 'lifetime (default API_TOKEN_MAX_LIFETIME_SECONDS, or none)' },
      name: { type: 'string', value: 'TEXT', description: 'a name to tell it apart' },
      json: JSON_FLAG,
    },
    flagFor: TOKEN_FLAGS,
    check: tokenBody,
    async run(v, call) {
      const body = tokenBody(v);
      const user = await userIdByName(call, v.user as string);
      const application =
        typeof v['client-id'] === 'string'
          ? (await firstItem<{ id: string }>(call, '/applications', { client_id: v['client-id'] }))?.id
          : undefined;
      if (typeof v['client-id'] === 'string' && !application)
        throw new AppError('application.not_found', 'no application has this client_id', { status: 404 });
      return call({ method: 'POST', path: '/tokens', body: { ...body, user, ...(application ? { application } : {}) } });
    },
    print: printToken,
  },
  {
    group: 'tokens',
    name: 'list',
    summary: 'list API tokens (never their secrets)',
    readOnly: true,
    options: {
      user: { type: 'string', value: 'USERNAME', description: "only this user's tokens" },
      all: { type: 'boolean', description: 'also list revoked and expired tokens' },
      json: JSON_FLAG,
    },
    async run(v, call) {
      const user = typeof v.user === 'string' ? (await userByName(call, v.user)).id : undefined;
      return everyItem(call, '/tokens', { user, ...(v.all ? { include_inactive: 'true' } : {}) });
    },
    print: (result, asJson) => {
      const tokens = result as TokenWire[];
      if (asJson) return json(tokens);
      if (!tokens.length) return 'No API tokens.';
      return table([
        ['ID', 'USER', 'NAME', 'PREFIX', 'SCOPE', 'PERMISSIONS', 'EXPIRES', 'LAST_USED', 'REVOKED'],
        ...tokens.map((t) => [
          t.id,
          t.user,
          t.name || '-',
          t.prefix || '-',
          t.scope,
          t.permissions.join(',') || '-',
          at(t.expires_at),
          at(t.last_used_at),
          at(t.revoked_at),
        ]),
      ]);
    },
  },
  {
    group: 'tokens',
    name: 'revoke',
    summary: 'revoke an API token: it stops working at once',
    positional: 'id',
    options: {
      id: { type: 'string', value: 'ID', description: "the token's id (as 'tokens list' shows it); or give it as the argument" },
      json: JSON_FLAG,
    },
    check(v) {
      if (typeof v.id !== 'string' || v.id === '') throw new UsageError("a token ID is required: 'gatehouse tokens revoke ID'");
    },
    run: (v, call) => call({ method: 'POST', path: `/tokens/${enc(v.id as string)}/revocation` }),
    print: (result, asJson) => (asJson ? json(result) : `Revoked API token ${(result as TokenWire).id}`),
  },
  {
    group: 'users',
    name: 'create',
    summary: 'create a user; the password comes from a prompt, --password-stdin, or is generated and printed once',
    options: {
      username: { type: 'string', value: 'NAME', required: true, description: 'letters, digits and @ . + - _' },
      email: { type: 'string', value: 'EMAIL', description: 'their email address' },
      ...PASSWORD_FLAGS,
      'no-password': { type: 'boolean', description: 'no password: the user signs in only with API tokens' },
      superuser: { type: 'boolean', description: 'make them a superuser (holds every permission)' },
      json: JSON_FLAG,
    },
    flagFor: USER_FLAGS,
    check(v) {
      userBody(v);
      checkPasswordFlags(v, { optional: false });
    },
    prepare: preparePassword,
    async run(v, call) {
      const password = v[PASSWORD_VALUE] as string | undefined;
      const user = await call<UserWire>({ method: 'POST', path: '/users', body: { ...userBody(v), ...(password ? { password } : {}) } });
      return { user, ...(v[GENERATED] ? { password } : {}) };
    },
    print: printUser('Created'),
  },
  {
    group: 'users',
    name: 'list',
    summary: 'list users',
    readOnly: true,
    options: { json: JSON_FLAG },
    run: (_v, call) => everyItem(call, '/users'),
    print: (result, asJson) => {
      const users = result as UserWire[];
      if (asJson) return json(users);
      if (!users.length) return 'No users.';
      return table([
        ['USERNAME', 'ID', 'EMAIL', 'ACTIVE', 'SUPERUSER', 'PASSWORD'],
        ...users.map((u) => [u.username, u.id, u.email ?? '-', yesNo(u.is_active), yesNo(u.is_superuser), yesNo(u.has_password)]),
      ]);
    },
  },
  {
    group: 'users',
    name: 'show',
    summary: 'show one user',
    readOnly: true,
    positional: 'username',
    options: { username: { type: 'string', value: 'NAME', description: 'the username; or give it as the argument' }, json: JSON_FLAG },
    check(v) {
      if (typeof v.username !== 'string' || v.username === '') throw new UsageError("a username is required: 'gatehouse users show NAME'");
    },
    run: (v, call) => userByName(call, v.username as string),
    print: (result) => json(result),
  },
  {
    group: 'users',
    name: 'set-password',
    summary: "set a user's password, from a prompt, --password-stdin, or generated and printed once",
    options: {
      username: { type: 'string', value: 'NAME', required: true, description: 'the user' },
      ...PASSWORD_FLAGS,
      json: JSON_FLAG,
    },
    check: (v) => checkPasswordFlags(v, { optional: false }),
    prepare: preparePassword,
    async run(v, call) {
      const user = await userByName(call, v.username as string);
      const password = v[PASSWORD_VALUE] as string;
      await call({ method: 'POST', path: `/users/${enc(user.id)}/password`, body: { password } });
      return { user, ...(v[GENERATED] ? { password } : {}) };
    },
    print: printUser('Set the password of'),
  },
  {
    group: 'users',
    name: 'deactivate',
    summary: 'deactivate a user: no more sign-in, their sessions and tokens end, their API tokens stop working',
    options: { username: { type: 'string', value: 'NAME', required: true, description: 'the user' }, json: JSON_FLAG },
    async run(v, call) {
      const user = await userByName(call, v.username as string);
      return { user: await call<UserWire>({ method: 'PATCH', path: `/users/${enc(user.id)}`, body: { is_active: false } }) };
    },
    print: printUser('Deactivated'),
  },
  {
    group: 'roles',
    name: 'create',
    summary: 'create a role (a named bundle of permissions)',
    options: {
      name: { type: 'string', value: 'TEXT', required: true, description: 'its unique name' },
      description: { type: 'string', value: 'TEXT', description: 'what it is for' },
      permissions: { type: 'string', value: 'LIST', description: 'comma-separated codenames it starts with' },
      json: JSON_FLAG,
    },
    flagFor: { name: 'name', description: 'description', permissions: 'permissions' },
    check: (v) =>
      void checked(
        CreateRole,
        { name: v.name, description: v.description, permissions: list(v.permissions) },
        { name: 'name', description: 'description', permissions: 'permissions' },
      ),
    run: (v, call) =>
      call({
        method: 'POST',
        path: '/roles',
        body: {
          name: v.name,
          ...(v.description === undefined ? {} : { description: v.description }),
          permissions: list(v.permissions) ?? [],
        },
      }),
    print: (result, asJson) => {
      const role = result as RoleWire;
      return asJson ? json(role) : `Created role "${role.name}" with permissions: ${role.permissions.join(', ') || '(none)'}`;
    },
  },
  {
    group: 'roles',
    name: 'list',
    summary: 'list roles and their permissions',
    readOnly: true,
    options: { json: JSON_FLAG },
    run: (_v, call) => everyItem(call, '/roles'),
    print: (result, asJson) => {
      const roles = result as RoleWire[];
      if (asJson) return json(roles);
      if (!roles.length) return 'No roles.';
      return table([['NAME', 'ID', 'PERMISSIONS'], ...roles.map((r) => [r.name, r.id, r.permissions.join(',') || '-'])]);
    },
  },
  ...(['grant', 'revoke'] as const).map(
    (verb): CommandSpec => ({
      group: 'roles',
      name: verb,
      summary: verb === 'grant' ? 'grant a role to a user' : 'withdraw a role from a user',
      options: {
        role: { type: 'string', value: 'NAME', required: true, description: 'the role' },
        user: { type: 'string', value: 'USERNAME', required: true, description: 'the user' },
        json: JSON_FLAG,
      },
      async run(v, call) {
        const [role, user] = await Promise.all([roleByName(call, v.role as string), userByName(call, v.user as string)]);
        if (verb === 'grant') await call({ method: 'POST', path: `/users/${enc(user.id)}/roles`, body: { role: role.id } });
        else await call({ method: 'DELETE', path: `/users/${enc(user.id)}/roles/${enc(role.id)}` });
        return { role: role.name, user: user.username, [verb === 'grant' ? 'granted' : 'revoked']: true };
      },
      print: (result, asJson) => {
        const r = result as { role: string; user: string };
        return asJson
          ? json(result)
          : verb === 'grant'
            ? `Granted role "${r.role}" to ${r.user}`
            : `Withdrew role "${r.role}" from ${r.user}`;
      },
    }),
  ),
  ...(['add-permission', 'remove-permission'] as const).map(
    (verb): CommandSpec => ({
      group: 'roles',
      name: verb,
      summary: verb === 'add-permission' ? 'add permissions to a role' : 'remove permissions from a role',
      options: {
        role: { type: 'string', value: 'NAME', required: true, description: 'the role' },
        permissions: { type: 'string', value: 'LIST', required: true, description: 'comma-separated codenames' },
        json: JSON_FLAG,
      },
      check: (v) => void codenames(v),
      async run(v, call) {
        const role = await roleByName(call, v.role as string);
        const given = codenames(v);
        if (verb === 'add-permission')
          return call({ method: 'POST', path: `/roles/${enc(role.id)}/permissions`, body: { permissions: given } });
        for (const codename of given) await call({ method: 'DELETE', path: `/roles/${enc(role.id)}/permissions/${enc(codename)}` });
        return call({ method: 'GET', path: `/roles/${enc(role.id)}` });
      },
      print: (result, asJson) => {
        const role = result as RoleWire;
        return asJson ? json(role) : `Role "${role.name}" now has: ${role.permissions.join(', ') || '(none)'}`;
      },
    }),
  ),
  {
    group: 'orgs',
    name: 'create',
    summary: 'create an organization',
    options: { name: { type: 'string', value: 'TEXT', required: true, description: 'its unique name' }, json: JSON_FLAG },
    flagFor: { name: 'name' },
    check: (v) => void checked(CreateOrganization, { name: v.name }, { name: 'name' }),
    run: (v, call) => call({ method: 'POST', path: '/organizations', body: { name: v.name } }),
    print: (result, asJson) => (asJson ? json(result) : `Created organization "${(result as OrganizationWire).name}"`),
  },
  {
    group: 'orgs',
    name: 'list',
    summary: 'list organizations',
    readOnly: true,
    options: { json: JSON_FLAG },
    run: (_v, call) => everyItem(call, '/organizations'),
    print: (result, asJson) => {
      const orgs = result as OrganizationWire[];
      if (asJson) return json(orgs);
      if (!orgs.length) return 'No organizations.';
      return table([['NAME', 'ID'], ...orgs.map((o) => [o.name, o.id])]);
    },
  },
  {
    group: 'orgs',
    name: 'add-member',
    summary: 'add a user to an organization, as admin or member',
    options: {
      org: { type: 'string', value: 'NAME', required: true, description: 'the organization' },
      user: { type: 'string', value: 'USERNAME', required: true, description: 'the user' },
      role: { type: 'string', value: 'ROLE', description: 'admin or member (default)' },
      json: JSON_FLAG,
    },
    check(v) {
      if (v.role !== undefined && v.role !== 'admin' && v.role !== 'member') throw new UsageError('--role: admin or member');
    },
    async run(v, call) {
      const [org, user] = await Promise.all([organizationByName(call, v.org as string), userByName(call, v.user as string)]);
      return call({ method: 'POST', path: `/organizations/${enc(org.id)}/members`, body: { user: user.id, role: v.role ?? 'member' } });
    },
    print: (result, asJson) => {
      const m = result as { username: string; role: string; organization: string };
      return asJson ? json(m) : `Added ${m.username} as ${m.role}`;
    },
  },
  {
    group: 'orgs',
    name: 'remove-member',
    summary: 'remove a user from an organization',
    options: {
      org: { type: 'string', value: 'NAME', required: true, description: 'the organization' },
      user: { type: 'string', value: 'USERNAME', required: true, description: 'the user' },
      json: JSON_FLAG,
    },
    async run(v, call) {
      const [org, user] = await Promise.all([organizationByName(call, v.org as string), userByName(call, v.user as string)]);
      await call({ method: 'DELETE', path: `/organizations/${enc(org.id)}/members/${enc(user.id)}` });
      return { organization: org.name, user: user.username, removed: true };
    },
    print: (result, asJson) => {
      const r = result as { organization: string; user: string };
      return asJson ? json(result) : `Removed ${r.user} from "${r.organization}"`;
    },
  },
  {
    group: 'permissions',
    name: 'list',
    summary: 'list permission codenames',
    readOnly: true,
    options: {
      api: { type: 'string', value: 'URI', description: "only this API's permissions" },
      json: JSON_FLAG,
    },
    run: (v, call) => everyItem(call, '/permissions', { api: v.api as string | undefined }),
    print: (result, asJson) => {
      const perms = result as { codename: string; name: string; api: string | null; is_built_in: boolean }[];
      if (asJson) return json(perms);
      if (!perms.length) return 'No permissions.';
      return table([
        ['CODENAME', 'NAME', 'API', 'BUILT_IN'],
        ...perms.map((p) => [p.codename, p.name, p.api ?? '-', yesNo(p.is_built_in)]),
      ]);
    },
  },
  {
    group: 'permissions',
    name: 'create',
    summary: 'create a permission codename (<action>_<model>), optionally of an API',
    options: {
      codename: { type: 'string', value: 'CODENAME', required: true, description: 'e.g. add_mediasource' },
      name: { type: 'string', value: 'TEXT', description: 'display name (default: Can <action> <model>)' },
      api: { type: 'string', value: 'URI', description: 'the API it belongs to: it goes into that API’s access tokens' },
      json: JSON_FLAG,
    },
    flagFor: { codename: 'codename', name: 'name', api: 'api' },
    check: (v) =>
      void checked(
        CreatePermission,
        { codename: v.codename, name: v.name, api: v.api },
        { codename: 'codename', name: 'name', api: 'api' },
      ),
    run: (v, call) =>
      call({
        method: 'POST',
        path: '/permissions',
        body: { codename: v.codename, ...(v.name === undefined ? {} : { name: v.name }), ...(v.api === undefined ? {} : { api: v.api }) },
      }),
    print: (result, asJson) => (asJson ? json(result) : `Created permission ${(result as { codename: string }).codename}`),
  },
];

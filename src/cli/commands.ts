import type { ApiResource } from '../domain/api-resources/api-resource.schema.ts';
import type { Application } from '../domain/applications/application.schema.ts';
import type { ApplicationWithSecret } from '../domain/applications/application.service.ts';
import type { KeyRevocation, SigningKeyInfo } from '../domain/signing-keys/signing-key.schema.ts';
import { SERVED_GRANT_TYPES } from '../oidc/surface.ts';
import type { OperationName } from '../runtime/operations.ts';
import { apiToWire, applicationToWire, iso, keyToWire } from './wire.ts';

/** One CLI command: its flags, how they become an operation's input, and how its result prints. */
export interface OptionSpec {
  type: 'string' | 'boolean';
  multiple?: boolean;
  value?: string;
  description: string;
  required?: boolean;
}

export interface CommandSpec {
  group: string;
  name: string;
  summary: string;
  options: Record<string, OptionSpec>;
  /** the one positional argument it takes, as another way to give this flag (`keys revoke KID`) */
  positional?: string;
  operation: OperationName;
  /** flags → operation input; throws UsageError for flag-level mistakes */
  toInput(values: Record<string, string | boolean | string[] | undefined>): unknown;
  /** maps an input field name back to the flag that sets it, for error messages */
  flagFor?: Record<string, string>;
  print(result: unknown, json: boolean): string;
}

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

const JSON_FLAG: OptionSpec = { type: 'boolean', description: 'print the result as one JSON object (or array)' };

const list = (value: unknown): string[] | undefined =>
  typeof value === 'string'
    ? value
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    : undefined;

function integer(flag: string, value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !/^\d+$/.test(value))
    throw new UsageError(`--${flag} must be a whole number of seconds, not ${JSON.stringify(value)}`);
  return Number(value);
}

function table(rows: string[][]): string {
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

const json = (value: unknown) => JSON.stringify(value, null, 2);

function printApplicationWithSecret(result: unknown, asJson: boolean, verb: string): string {
  const { application, clientSecret } = result as ApplicationWithSecret;
  if (asJson) return json(applicationToWire(application, clientSecret));
  const lines = [`${verb} application "${application.name}"`, `  client_id:     ${application.clientId}`];
  if (clientSecret) lines.push(`  client_secret: ${clientSecret}`, '', 'The client secret is shown only this once: store it now.');
  return lines.join('\n');
}

const INTROSPECT_HELP =
  'may introspect tokens issued for each --api, whichever client holds them (a resource server); every --api gets the right';

function describeGrant(api: Application['apis'][number]): string {
  return `  api:       ${api.identifier} (scopes: ${api.scopes.join(',') || 'none'}${api.introspect ? '; may introspect its tokens' : ''})`;
}

export const COMMANDS: CommandSpec[] = [
  {
    group: 'apis',
    name: 'create',
    summary: 'register an API (resource server) that tokens can be issued for',
    operation: 'apis.create',
    options: {
      identifier: {
        type: 'string',
        value: 'URI',
        required: true,
        description: "absolute URI naming the API; becomes the tokens' `aud` (the `audience`/`resource` clients send)",
      },
      name: { type: 'string', value: 'TEXT', required: true, description: 'human-readable name' },
      scopes: { type: 'string', value: 'LIST', description: 'comma-separated scopes the API defines, e.g. read,write' },
      'signing-alg': { type: 'string', value: 'ALG', description: 'JWS algorithm of its access tokens: ES256 (default) or RS256' },
      'token-format': { type: 'string', value: 'FORMAT', description: 'jwt (default) or opaque' },
      'token-ttl': { type: 'string', value: 'SECONDS', description: 'access-token lifetime (default ACCESS_TOKEN_TTL_SECONDS)' },
      json: JSON_FLAG,
    },
    flagFor: {
      identifier: 'identifier',
      name: 'name',
      scopes: 'scopes',
      signingAlg: 'signing-alg',
      accessTokenFormat: 'token-format',
      accessTokenTtlSeconds: 'token-ttl',
    },
    toInput: (v) => ({
      identifier: v.identifier,
      name: v.name,
      scopes: list(v.scopes) ?? [],
      signingAlg: v['signing-alg'],
      accessTokenFormat: v['token-format'],
      accessTokenTtlSeconds: integer('token-ttl', v['token-ttl']),
    }),
    print: (result, asJson) => {
      const api = result as ApiResource;
      return asJson
        ? json(apiToWire(api))
        : `Created API "${api.name}" (${api.identifier}) with scopes: ${api.scopes.join(', ') || '(none)'}`;
    },
  },
  {
    group: 'apis',
    name: 'list',
    summary: 'list registered APIs',
    operation: 'apis.list',
    options: { json: JSON_FLAG },
    toInput: () => ({}),
    print: (result, asJson) => {
      const apis = result as ApiResource[];
      if (asJson) return json(apis.map(apiToWire));
      if (!apis.length) return 'No APIs registered.';
      return table([
        ['IDENTIFIER', 'NAME', 'SCOPES', 'ALG', 'FORMAT', 'TTL'],
        ...apis.map((a) => [a.identifier, a.name, a.scopes.join(','), a.signingAlg, a.accessTokenFormat, `${a.accessTokenTtlSeconds}s`]),
      ]);
    },
  },
  {
    group: 'apis',
    name: 'delete',
    summary: 'remove an API',
    operation: 'apis.delete',
    options: {
      identifier: { type: 'string', value: 'URI', required: true, description: 'the API to remove' },
      force: { type: 'boolean', description: 'also remove it from the applications granted it' },
      json: JSON_FLAG,
    },
    toInput: (v) => ({ identifier: v.identifier, force: v.force === true }),
    print: (result, asJson) => (asJson ? json(result) : `Deleted API ${(result as { deleted: string }).deleted}`),
  },
  {
    group: 'clients',
    name: 'create',
    summary: 'register an application (OAuth client); prints its secret once',
    operation: 'clients.create',
    options: {
      name: { type: 'string', value: 'TEXT', required: true, description: 'unique name of the application' },
      type: { type: 'string', value: 'TYPE', description: 'confidential (default: has a secret) or public' },
      'grant-types': {
        type: 'string',
        value: 'LIST',
        description: `comma-separated grant types the server serves: ${SERVED_GRANT_TYPES.join(', ')} (default client_credentials)`,
      },
      api: { type: 'string', multiple: true, value: 'URI', description: 'an API it may request tokens for' },
      scopes: {
        type: 'string',
        value: 'LIST',
        description: "comma-separated scopes it may request on each --api (default: all the API's scopes)",
      },
      'redirect-uri': { type: 'string', multiple: true, value: 'URI', description: 'redirect URI for authorization_code' },
      introspect: { type: 'boolean', description: INTROSPECT_HELP },
      'allowed-origin': {
        type: 'string',
        multiple: true,
        value: 'ORIGIN',
        description: 'a browser origin (https://host[:port]) that may call the token endpoint (CORS; none by default); or a comma list',
      },
      json: JSON_FLAG,
    },
    flagFor: {
      name: 'name',
      clientType: 'type',
      grantTypes: 'grant-types',
      apis: 'api',
      redirectUris: 'redirect-uri',
      allowedOrigins: 'allowed-origin',
    },
    toInput: (v) => {
      const scopes = list(v.scopes);
      const apis = (v.api as string[] | undefined) ?? [];
      if (scopes && apis.length === 0) throw new UsageError('--scopes needs at least one --api');
      if (v.introspect && apis.length === 0) throw new UsageError('--introspect needs at least one --api: the right is given per API');
      return {
        name: v.name,
        clientType: v.type,
        grantTypes: list(v['grant-types']),
        apis: apis.map((identifier) => ({ identifier, scopes, ...(v.introspect ? { introspect: true } : {}) })),
        redirectUris: (v['redirect-uri'] as string[] | undefined) ?? [],
        allowedOrigins: ((v['allowed-origin'] as string[] | undefined) ?? []).flatMap((o) => list(o) ?? []),
      };
    },
    print: (result, asJson) => printApplicationWithSecret(result, asJson, 'Created'),
  },
  {
    group: 'clients',
    name: 'list',
    summary: 'list applications (never their secrets)',
    operation: 'clients.list',
    options: { json: JSON_FLAG },
    toInput: () => ({}),
    print: (result, asJson) => {
      const apps = result as Application[];
      if (asJson) return json(apps.map((a) => applicationToWire(a)));
      if (!apps.length) return 'No applications registered.';
      return table([
        ['CLIENT_ID', 'NAME', 'TYPE', 'GRANT_TYPES', 'APIS', 'INTROSPECTS_FOR', 'SECRET'],
        ...apps.map((a) => [
          a.clientId,
          a.name,
          a.clientType,
          a.grantTypes.join(','),
          a.apis.map((g) => g.identifier).join(','),
          a.apis
            .filter((g) => g.introspect)
            .map((g) => g.identifier)
            .join(',') || '-',
          a.secretHint ? `${a.secretHint}…` : '-',
        ]),
      ]);
    },
  },
  {
    group: 'clients',
    name: 'show',
    summary: 'show one application',
    operation: 'clients.show',
    options: { 'client-id': { type: 'string', value: 'ID', required: true, description: "the application's client_id" }, json: JSON_FLAG },
    toInput: (v) => ({ clientId: v['client-id'] }),
    print: (result) => json(applicationToWire(result as Application)),
  },
  {
    group: 'clients',
    name: 'update',
    summary: "change an application's name, APIs, scopes, introspect right or allowed origins",
    operation: 'clients.update',
    options: {
      'client-id': { type: 'string', value: 'ID', required: true, description: "the application's client_id" },
      name: { type: 'string', value: 'TEXT', description: 'its new unique name' },
      api: {
        type: 'string',
        multiple: true,
        value: 'URI',
        description:
          'replaces the APIs it may request tokens for by those given (an API it already had keeps its scopes and introspect right)',
      },
      scopes: {
        type: 'string',
        value: 'LIST',
        description: "comma-separated scopes it may request on each --api (default: as before, or all of a new API's scopes)",
      },
      introspect: { type: 'boolean', description: 'may introspect tokens issued for every API it is granted, whichever client holds them' },
      'no-introspect': {
        type: 'boolean',
        description: 'takes the introspect right away from every API: it may introspect only its own tokens',
      },
      'allowed-origin': {
        type: 'string',
        multiple: true,
        value: 'ORIGIN',
        description: 'replaces the browser origins that may call the token endpoint (CORS) by those given; or a comma list',
      },
      'no-allowed-origins': { type: 'boolean', description: 'removes every allowed origin: no page may call the token endpoint' },
      json: JSON_FLAG,
    },
    flagFor: { clientId: 'client-id', name: 'name', apis: 'api', allowedOrigins: 'allowed-origin' },
    toInput: (v) => {
      const scopes = list(v.scopes);
      const apis = v.api as string[] | undefined;
      if (v.introspect && v['no-introspect']) throw new UsageError('give --introspect or --no-introspect, not both');
      if (scopes && !apis) throw new UsageError('--scopes needs at least one --api (list every API the application keeps)');
      const introspect = v.introspect ? true : v['no-introspect'] ? false : undefined;
      const origins = v['allowed-origin'] as string[] | undefined;
      if (origins && v['no-allowed-origins']) throw new UsageError('give --allowed-origin or --no-allowed-origins, not both');
      const allowedOrigins = v['no-allowed-origins'] ? [] : origins?.flatMap((o) => list(o) ?? []);
      if (v.name === undefined && !apis && introspect === undefined && allowedOrigins === undefined)
        throw new UsageError(
          "nothing to change: give --name, --api, --introspect, --no-introspect, --allowed-origin or --no-allowed-origins. Run 'gatehouse clients update --help'.",
        );
      return {
        clientId: v['client-id'],
        name: v.name,
        apis: apis?.map((identifier) => ({ identifier, scopes })),
        introspect,
        allowedOrigins,
      };
    },
    print: (result, asJson) => {
      const application = result as Application;
      if (asJson) return json(applicationToWire(application));
      return [
        `Updated application "${application.name}"`,
        `  client_id: ${application.clientId}`,
        ...(application.apis.length ? application.apis.map(describeGrant) : ['  no APIs']),
        `  allowed origins: ${application.allowedOrigins.join(', ') || '(none)'}`,
      ].join('\n');
    },
  },
  {
    group: 'clients',
    name: 'rotate-secret',
    summary: "replace an application's secret; prints the new one once",
    operation: 'clients.rotate-secret',
    options: { 'client-id': { type: 'string', value: 'ID', required: true, description: "the application's client_id" }, json: JSON_FLAG },
    toInput: (v) => ({ clientId: v['client-id'] }),
    print: (result, asJson) => printApplicationWithSecret(result, asJson, 'Rotated the secret of'),
  },
  {
    group: 'clients',
    name: 'delete',
    summary: 'remove an application; its tokens stop being accepted at introspection',
    operation: 'clients.delete',
    options: { 'client-id': { type: 'string', value: 'ID', required: true, description: "the application's client_id" }, json: JSON_FLAG },
    toInput: (v) => ({ clientId: v['client-id'] }),
    print: (result, asJson) => (asJson ? json(result) : `Deleted application ${(result as { deleted: string }).deleted}`),
  },
  {
    group: 'keys',
    name: 'list',
    summary: 'list signing keys and their states',
    operation: 'keys.list',
    options: { json: JSON_FLAG },
    toInput: () => ({}),
    print: (result, asJson) => {
      const keys = result as SigningKeyInfo[];
      if (asJson) return json(keys.map(keyToWire));
      const at = (d: Date | string | null) => iso(d) ?? '-';
      return table([
        ['KID', 'ALG', 'STATE', 'CREATED', 'SIGNS_FROM', 'SIGNS_UNTIL', 'RETIRE_AFTER', 'REVOKED'],
        ...keys.map((k) => [
          k.kid,
          k.alg,
          k.state,
          at(k.createdAt),
          at(k.signsFrom ?? k.createdAt),
          at(k.rotatedAt),
          at(k.retireAfter),
          at(k.revokedAt),
        ]),
      ]);
    },
  },
  {
    group: 'keys',
    name: 'rotate',
    summary:
      'add new signing keys: published now, signing after KEY_ACTIVATION_DELAY_SECONDS; old ones stay published until their tokens expire',
    operation: 'keys.rotate',
    options: {
      now: {
        type: 'boolean',
        description: 'sign with the new keys at once (a compromised key); APIs holding a cached JWKS refetch it on the new kid',
      },
      json: JSON_FLAG,
    },
    toInput: (v) => ({ now: v.now === true }),
    print: (result, asJson) => {
      const keys = result as SigningKeyInfo[];
      if (asJson) return json(keys.map(keyToWire));
      const line = (k: SigningKeyInfo) => `  ${k.alg} ${k.kid}`;
      const pending = keys.filter((k) => k.state === 'pending');
      const active = keys.filter((k) => k.state === 'active');
      if (pending.length === 0) return `Rotated signing keys. Now signing with:\n${active.map(line).join('\n')}`;
      const from = new Date(pending[0]?.signsFrom ?? Date.now()).toISOString();
      return [
        `Rotated signing keys. New keys, published now, signing from ${from}:`,
        ...pending.map(line),
        'Signing until then with:',
        ...active.map(line),
      ].join('\n');
    },
  },
  {
    group: 'keys',
    name: 'revoke',
    summary:
      'pull a signing key (compromised): it leaves the JWKS at once and its tokens introspect inactive; a new key signs in its place',
    operation: 'keys.revoke',
    positional: 'kid',
    options: {
      kid: {
        type: 'string',
        value: 'KID',
        description: "the key to revoke (its `kid`, as 'keys list' shows it); or give it as the argument",
      },
      json: JSON_FLAG,
    },
    toInput: (v) => {
      if (typeof v.kid !== 'string' || v.kid === '') throw new UsageError("a KID is required: 'gatehouse keys revoke KID'");
      return { kid: v.kid };
    },
    print: (result, asJson) => {
      const { key, changed, replacements } = result as KeyRevocation;
      if (asJson) return json({ revoked: keyToWire(key), changed, replacements: replacements.map(keyToWire) });
      if (!changed) return `Signing key ${key.kid} (${key.alg}) was already revoked at ${iso(key.revokedAt)}; nothing changed.`;
      const lines = [`Revoked signing key ${key.kid} (${key.alg}): it is out of the JWKS and its tokens introspect inactive.`];
      for (const k of replacements) lines.push(`Now signing ${k.alg} with ${k.kid}.`);
      lines.push('APIs that verify tokens themselves reject it once they refetch the JWKS.');
      return lines.join('\n');
    },
  },
];

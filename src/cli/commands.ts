import type { z } from 'zod';
import { GrantType } from '../domain/applications/application.schema.ts';
import { type ApiWire, CreateApiWire } from '../http/admin/apis.routes.ts';
import {
  type ApplicationWire,
  CreateApplicationWire,
  SetApplicationPermissionsWire,
  UpdateApplicationWire,
} from '../http/admin/applications.routes.ts';
import type { KeyRevocationWire, KeyWire } from '../http/admin/keys.routes.ts';
import { AppError } from '../lib/app-error.ts';
import { SERVED_GRANT_TYPES } from '../oidc/surface.ts';
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
  OPERATOR_ACCOUNT,
  table,
  UsageError,
  userIdByName,
} from './command-kit.ts';
import { IDENTITY_COMMANDS } from './identity-commands.ts';

export { type AdminCall, type CommandSpec, type FlagValues, UsageError };

/**
 * The CLI's commands. Each is a client of the admin API (src/http/admin/): its flags become one
 * or two requests (`run`), and what the API answers is printed (`print`), as text or, with
 * `--json`, as the API's own JSON. The same API serves the control socket and, later, /api/v1.
 */
const API_CREATE_FLAGS = {
  identifier: 'identifier',
  name: 'name',
  scopes: 'scopes',
  signing_alg: 'signing-alg',
  access_token_format: 'token-format',
  access_token_ttl_seconds: 'token-ttl',
};

function apiCreateBody(v: FlagValues) {
  return checked(
    CreateApiWire,
    {
      identifier: v.identifier,
      name: v.name,
      scopes: list(v.scopes) ?? [],
      signing_alg: v['signing-alg'],
      access_token_format: v['token-format'],
      access_token_ttl_seconds: integer('token-ttl', v['token-ttl']),
    },
    API_CREATE_FLAGS,
  );
}

const CLIENT_CREATE_FLAGS = {
  name: 'name',
  user: 'user',
  client_type: 'type',
  authorization_grant_type: 'grant-types',
  grant_types: 'grant-types',
  apis: 'api',
  redirect_uris: 'redirect-uris',
  post_logout_redirect_uris: 'post-logout-redirect-uris',
  skip_authorization: 'skip-consent',
  allowed_origins: 'allowed-origin',
};

/** A URI flag given repeatedly, as comma lists, or both (`--redirect-uri` is the older spelling of `--redirect-uris`). */
const uris = (v: FlagValues, ...flags: string[]): string[] | undefined => {
  const given = flags.flatMap((flag) => (v[flag] as string[] | undefined) ?? []);
  return given.length ? given.flatMap((u) => list(u) ?? []) : undefined;
};

/** `--allowed-origin` given repeatedly, or as comma lists. */
const origins = (v: FlagValues): string[] | undefined => (v['allowed-origin'] as string[] | undefined)?.flatMap((o) => list(o) ?? []);

function clientCreateBody(v: FlagValues) {
  const scopes = list(v.scopes);
  const apis = (v.api as string[] | undefined) ?? [];
  if (scopes && apis.length === 0) throw new UsageError('--scopes needs at least one --api');
  if (v.introspect && apis.length === 0) throw new UsageError('--introspect needs at least one --api: the right is given per API');
  const grantTypes = [...new Set(list(v['grant-types']) ?? ['client_credentials'])];
  const unknown = grantTypes.find((g) => !GrantType.safeParse(g).success);
  if (unknown)
    throw new UsageError(`--grant-types: "${unknown}" is not a grant type; this server serves: ${SERVED_GRANT_TYPES.join(', ')}`);
  const unserved = grantTypes.find((g) => !(SERVED_GRANT_TYPES as readonly string[]).includes(g));
  if (unserved) throw new UsageError(`this server does not serve the ${unserved} grant; it serves: ${SERVED_GRANT_TYPES.join(', ')}`);
  // The AWX field holds one grant; refresh_token rides along with the grant that issues refresh tokens.
  const [primary] = grantTypes.filter((g) => g !== 'refresh_token');
  if (!primary) throw new UsageError('--grant-types: refresh_token comes with authorization_code or the device code grant (give both)');
  if (grantTypes.filter((g) => g !== 'refresh_token').length > 1) {
    throw new UsageError('--grant-types: give one grant type, plus refresh_token beside authorization_code or the device code grant');
  }
  if (v.public && v.type !== undefined && v.type !== 'public') throw new UsageError('give --public or --type, not both');
  return checked(
    CreateApplicationWire.omit({ user: true }),
    {
      name: v.name,
      client_type: v.public ? 'public' : v.type,
      authorization_grant_type: primary,
      ...(grantTypes.length > 1 ? { grant_types: grantTypes } : {}),
      apis: apis.map((identifier) => ({ identifier, scopes, ...(v.introspect ? { introspect: true } : {}) })),
      redirect_uris: uris(v, 'redirect-uris', 'redirect-uri') ?? [],
      post_logout_redirect_uris: uris(v, 'post-logout-redirect-uris') ?? [],
      ...(v['skip-consent'] ? { skip_authorization: true } : {}),
      allowed_origins: origins(v) ?? [],
    },
    CLIENT_CREATE_FLAGS,
  );
}

const CLIENT_UPDATE_FLAGS = { name: 'name', apis: 'api', allowed_origins: 'allowed-origin' };

function clientUpdateBody(v: FlagValues) {
  const scopes = list(v.scopes);
  const apis = v.api as string[] | undefined;
  if (v.introspect && v['no-introspect']) throw new UsageError('give --introspect or --no-introspect, not both');
  if (scopes && !apis) throw new UsageError('--scopes needs at least one --api (list every API the application keeps)');
  const introspect = v.introspect ? true : v['no-introspect'] ? false : undefined;
  const given = origins(v);
  if (given && v['no-allowed-origins']) throw new UsageError('give --allowed-origin or --no-allowed-origins, not both');
  const allowedOrigins = v['no-allowed-origins'] ? [] : given;
  if (v.name === undefined && !apis && introspect === undefined && allowedOrigins === undefined)
    throw new UsageError(
      "nothing to change: give --name, --api, --introspect, --no-introspect, --allowed-origin or --no-allowed-origins. Run 'gatehouse clients update --help'.",
    );
  return checked(
    UpdateApplicationWire,
    { name: v.name, apis: apis?.map((identifier) => ({ identifier, scopes })), introspect, allowed_origins: allowedOrigins },
    CLIENT_UPDATE_FLAGS,
  );
}

/** A create that found the object there already: what the command wanted is true. */
function ignoreConflict(err: unknown): void {
  if (!(err instanceof AppError && err.status === 409)) throw err;
}

function kidOf(v: FlagValues): string {
  if (typeof v.kid !== 'string' || v.kid === '') throw new UsageError("a KID is required: 'gatehouse keys revoke KID'");
  return v.kid;
}
/** The application with this client_id, through the admin API (which names objects by `id`). */
async function applicationByClientId(call: AdminCall, clientId: string): Promise<ApplicationWire> {
  const found = await firstItem<ApplicationWire>(call, '/applications', { client_id: clientId });
  if (!found) throw new AppError('application.not_found', 'no application has this client_id', { status: 404, details: { clientId } });
  return found;
}

async function apiByIdentifier(call: AdminCall, identifier: string): Promise<ApiWire> {
  const found = await firstItem<ApiWire>(call, '/apis', { identifier });
  if (!found) throw new AppError('api.not_found', 'no API has this identifier', { status: 404, details: { identifier } });
  return found;
}

function printApplicationWithSecret(result: unknown, asJson: boolean, verb: string): string {
  const application = result as ApplicationWire;
  if (asJson) return json(application);
  const lines = [`${verb} application "${application.name}"`, `  client_id:     ${application.client_id}`];
  if (application.client_secret)
    lines.push(`  client_secret: ${application.client_secret}`, '', 'The client secret is shown only this once: store it now.');
  return lines.join('\n');
}

const INTROSPECT_HELP =
  'may introspect tokens issued for each --api, whichever client holds them (a resource server); every --api gets the right';

function describeGrant(api: ApplicationWire['apis'][number]): string {
  return `  api:       ${api.identifier} (scopes: ${api.scopes.join(',') || 'none'}${api.introspect ? '; may introspect its tokens' : ''})`;
}

export const COMMANDS: CommandSpec[] = [
  {
    group: 'apis',
    name: 'create',
    summary: 'register an API (resource server) that tokens can be issued for',
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
    flagFor: API_CREATE_FLAGS,
    check: apiCreateBody,
    run: (v, call) => call({ method: 'POST', path: '/apis', body: apiCreateBody(v) }),
    print: (result, asJson) => {
      const api = result as ApiWire;
      return asJson ? json(api) : `Created API "${api.name}" (${api.identifier}) with scopes: ${api.scopes.join(', ') || '(none)'}`;
    },
  },
  {
    group: 'apis',
    name: 'list',
    summary: 'list registered APIs',
    readOnly: true,
    options: { json: JSON_FLAG },
    run: (_v, call) => everyItem(call, '/apis'),
    print: (result, asJson) => {
      const apis = result as ApiWire[];
      if (asJson) return json(apis);
      if (!apis.length) return 'No APIs registered.';
      return table([
        ['IDENTIFIER', 'NAME', 'SCOPES', 'ALG', 'FORMAT', 'TTL'],
        ...apis.map((a) => [
          a.identifier,
          a.name,
          a.scopes.join(','),
          a.signing_alg,
          a.access_token_format,
          `${a.access_token_ttl_seconds}s`,
        ]),
      ]);
    },
  },
  {
    group: 'apis',
    name: 'delete',
    summary: 'remove an API',
    options: {
      identifier: { type: 'string', value: 'URI', required: true, description: 'the API to remove' },
      force: { type: 'boolean', description: 'also remove it from the applications granted it' },
      json: JSON_FLAG,
    },
    async run(v, call) {
      const api = await apiByIdentifier(call, v.identifier as string);
      await call({ method: 'DELETE', path: `/apis/${encodeURIComponent(api.id)}${v.force === true ? '?force=true' : ''}` });
      return { deleted: api.identifier };
    },
    print: (result, asJson) => (asJson ? json(result) : `Deleted API ${(result as { deleted: string }).deleted}`),
  },
  {
    group: 'clients',
    name: 'create',
    summary: 'register an application (OAuth client); prints its secret once',
    options: {
      name: { type: 'string', value: 'TEXT', required: true, description: 'unique name of the application' },
      type: { type: 'string', value: 'TYPE', description: 'confidential (default: has a secret) or public' },
      public: { type: 'boolean', description: 'a public client (SPA, native app): no secret, PKCE (S256) on every sign-in' },
      'grant-types': {
        type: 'string',
        value: 'LIST',
        description: `its grant type (authorization_grant_type), one the server serves: ${SERVED_GRANT_TYPES.join(', ')} (default client_credentials); refresh_token beside authorization_code or the device code grant`,
      },
      api: { type: 'string', multiple: true, value: 'URI', description: 'an API it may request tokens for' },
      scopes: {
        type: 'string',
        value: 'LIST',
        description: "comma-separated scopes it may request on each --api (default: all the API's scopes)",
      },
      'redirect-uris': {
        type: 'string',
        multiple: true,
        value: 'URIS',
        description: 'redirect URIs for authorization_code (matched exactly); repeat, or a comma list',
      },
      'redirect-uri': { type: 'string', multiple: true, value: 'URI', description: 'one redirect URI (same as --redirect-uris)' },
      'post-logout-redirect-uris': {
        type: 'string',
        multiple: true,
        value: 'URIS',
        description: 'where RP-initiated logout may send a person afterwards (matched exactly); repeat, or a comma list',
      },
      'skip-consent': { type: 'boolean', description: 'a first-party application: people are not asked to allow it' },
      introspect: { type: 'boolean', description: INTROSPECT_HELP },
      'allowed-origin': {
        type: 'string',
        multiple: true,
        value: 'ORIGIN',
        description: 'a browser origin (https://host[:port]) that may call the token endpoint (CORS; none by default); or a comma list',
      },
      user: {
        type: 'string',
        value: 'USERNAME',
        description: `the user who owns it (default: ${OPERATOR_ACCOUNT}, an account without a password, created on first use)`,
      },
      json: JSON_FLAG,
    },
    flagFor: CLIENT_CREATE_FLAGS,
    check: clientCreateBody,
    async run(v, call) {
      const body = clientCreateBody(v);
      const user = await userIdByName(call, (v.user as string | undefined) ?? OPERATOR_ACCOUNT);
      return call({ method: 'POST', path: '/applications', body: { ...body, user } });
    },
    print: (result, asJson) => printApplicationWithSecret(result, asJson, 'Created'),
  },
  {
    group: 'clients',
    name: 'list',
    summary: 'list applications (never their secrets)',
    readOnly: true,
    options: { json: JSON_FLAG },
    run: (_v, call) => everyItem(call, '/applications'),
    print: (result, asJson) => {
      const apps = result as ApplicationWire[];
      if (asJson) return json(apps);
      if (!apps.length) return 'No applications registered.';
      return table([
        ['CLIENT_ID', 'NAME', 'TYPE', 'GRANT_TYPES', 'APIS', 'INTROSPECTS_FOR', 'SECRET'],
        ...apps.map((a) => [
          a.client_id,
          a.name,
          a.client_type,
          a.grant_types.join(','),
          a.apis.map((g) => g.identifier).join(','),
          a.apis
            .filter((g) => g.introspect)
            .map((g) => g.identifier)
            .join(',') || '-',
          a.secret_hint ? `${a.secret_hint}…` : '-',
        ]),
      ]);
    },
  },
  {
    group: 'clients',
    name: 'show',
    summary: 'show one application',
    readOnly: true,
    options: { 'client-id': { type: 'string', value: 'ID', required: true, description: "the application's client_id" }, json: JSON_FLAG },
    run: (v, call) => applicationByClientId(call, v['client-id'] as string),
    print: (result) => json(result),
  },
  {
    group: 'clients',
    name: 'update',
    summary: "change an application's name, APIs, scopes, introspect right or allowed origins",
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
    flagFor: CLIENT_UPDATE_FLAGS,
    check: clientUpdateBody,
    async run(v, call) {
      const body = clientUpdateBody(v);
      const { id } = await applicationByClientId(call, v['client-id'] as string);
      return call({ method: 'PATCH', path: `/applications/${encodeURIComponent(id)}`, body });
    },
    print: (result, asJson) => {
      const application = result as ApplicationWire;
      if (asJson) return json(application);
      return [
        `Updated application "${application.name}"`,
        `  client_id: ${application.client_id}`,
        ...(application.apis.length ? application.apis.map(describeGrant) : ['  no APIs']),
        `  allowed origins: ${application.allowed_origins.join(', ') || '(none)'}`,
      ].join('\n');
    },
  },
  {
    group: 'clients',
    name: 'rotate-secret',
    summary: "replace an application's secret; prints the new one once",
    options: { 'client-id': { type: 'string', value: 'ID', required: true, description: "the application's client_id" }, json: JSON_FLAG },
    async run(v, call) {
      const { id } = await applicationByClientId(call, v['client-id'] as string);
      return call({ method: 'POST', path: `/applications/${encodeURIComponent(id)}/secrets` });
    },
    print: (result, asJson) => printApplicationWithSecret(result, asJson, 'Rotated the secret of'),
  },
  {
    group: 'clients',
    name: 'permissions',
    summary: "show or replace the permissions granted to the application itself (its client-credentials tokens' `permissions` claim)",
    options: {
      'client-id': { type: 'string', value: 'ID', required: true, description: "the application's client_id" },
      set: {
        type: 'string',
        value: 'LIST',
        description: 'comma-separated codenames that replace its permissions (an empty value removes them all)',
      },
      api: {
        type: 'string',
        value: 'URI',
        description: "with --set: the API the codenames belong to (they go into that API's tokens); missing ones are created for it",
      },
      json: JSON_FLAG,
    },
    check(v) {
      if (typeof v.api === 'string' && typeof v.set !== 'string')
        throw new UsageError('--api goes with --set: the API the codenames belong to');
      if (typeof v.set === 'string') checked(SetApplicationPermissionsWire, { permissions: list(v.set) ?? [] }, { permissions: 'set' });
    },
    async run(v, call) {
      const { id } = await applicationByClientId(call, v['client-id'] as string);
      const path = `/applications/${encodeURIComponent(id)}/permissions`;
      if (typeof v.set !== 'string') return call({ method: 'GET', path });
      const codenames = list(v.set) ?? [];
      // An API's own codenames (add_mediasource) may not exist yet: created for the API named.
      if (typeof v.api === 'string') {
        for (const codename of codenames)
          await call({ method: 'POST', path: '/permissions', body: { codename, api: v.api } }).catch(ignoreConflict);
      }
      return call({ method: 'PUT', path, body: { permissions: codenames } });
    },
    print: (result, asJson) => {
      const { permissions } = result as { permissions: string[] };
      return asJson ? json(result) : permissions.length ? permissions.join('\n') : '(no permissions)';
    },
  },
  {
    group: 'clients',
    name: 'delete',
    summary: 'remove an application; its tokens stop being accepted at introspection',
    options: { 'client-id': { type: 'string', value: 'ID', required: true, description: "the application's client_id" }, json: JSON_FLAG },
    async run(v, call) {
      const { id, client_id } = await applicationByClientId(call, v['client-id'] as string);
      await call({ method: 'DELETE', path: `/applications/${encodeURIComponent(id)}` });
      return { deleted: client_id };
    },
    print: (result, asJson) => (asJson ? json(result) : `Deleted application ${(result as { deleted: string }).deleted}`),
  },
  {
    group: 'keys',
    name: 'list',
    summary: 'list signing keys and their states',
    readOnly: true,
    options: { json: JSON_FLAG },
    run: (_v, call) => everyItem(call, '/keys'),
    print: (result, asJson) => {
      const keys = result as z.infer<typeof KeyWire>[];
      if (asJson) return json(keys);
      const at = (d: string | null) => d ?? '-';
      return table([
        ['KID', 'ALG', 'STATE', 'CREATED', 'SIGNS_FROM', 'SIGNS_UNTIL', 'RETIRE_AFTER', 'REVOKED'],
        ...keys.map((k) => [
          k.kid,
          k.alg,
          k.state,
          at(k.created_at),
          at(k.signs_from),
          at(k.rotated_at),
          at(k.retire_after),
          at(k.revoked_at),
        ]),
      ]);
    },
  },
  {
    group: 'keys',
    name: 'rotate',
    summary:
      'add new signing keys: published now, signing after KEY_ACTIVATION_DELAY_SECONDS; old ones stay published until their tokens expire',
    options: {
      now: {
        type: 'boolean',
        description: 'sign with the new keys at once (a compromised key); APIs holding a cached JWKS refetch it on the new kid',
      },
      json: JSON_FLAG,
    },
    run: (v, call) => call({ method: 'POST', path: '/keys/rotations', body: { now: v.now === true } }),
    print: (result, asJson) => {
      const keys = result as z.infer<typeof KeyWire>[];
      if (asJson) return json(keys);
      const line = (k: z.infer<typeof KeyWire>) => `  ${k.alg} ${k.kid}`;
      const pending = keys.filter((k) => k.state === 'pending');
      const active = keys.filter((k) => k.state === 'active');
      if (pending.length === 0) return `Rotated signing keys. Now signing with:\n${active.map(line).join('\n')}`;
      const from = new Date(pending[0]?.signs_from ?? Date.now()).toISOString();
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
    positional: 'kid',
    options: {
      kid: {
        type: 'string',
        value: 'KID',
        description: "the key to revoke (its `kid`, as 'keys list' shows it); or give it as the argument",
      },
      json: JSON_FLAG,
    },
    check: kidOf,
    run: (v, call) => call({ method: 'POST', path: `/keys/${encodeURIComponent(kidOf(v))}/revocation` }),
    print: (result, asJson) => {
      const revocation = result as z.infer<typeof KeyRevocationWire>;
      if (asJson) return json(revocation);
      const { revoked: key, changed, replacements } = revocation;
      if (!changed) return `Signing key ${key.kid} (${key.alg}) was already revoked at ${key.revoked_at}; nothing changed.`;
      const lines = [`Revoked signing key ${key.kid} (${key.alg}): it is out of the JWKS and its tokens introspect inactive.`];
      for (const k of replacements) lines.push(`Now signing ${k.alg} with ${k.kid}.`);
      lines.push('APIs that verify tokens themselves reject it once they refetch the JWKS.');
      return lines.join('\n');
    },
  },
  ...IDENTITY_COMMANDS,
];

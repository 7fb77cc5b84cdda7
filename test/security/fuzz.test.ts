import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getToken } from '../support/downstream.ts';
import { basicAuth, makeApi, makeClient, makeMachineSetup } from '../support/fixtures.ts';
import { type Random, type RawReply, type RawRequest, seededRandom, sendRaw } from '../support/raw-http.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

/**
 * A fixed-seed fuzz run over every endpoint an anonymous caller can reach: the token,
 * introspection and revocation endpoints, discovery, JWKS and health. Requests are built from real
 * parts (a valid client, valid tokens) and mutated (control characters, bad encodings, huge and
 * repeated values, wrong methods and content types, hostile headers). Whatever arrives, the
 * server answers with a client error and nothing internal: no 5xx (501 only for a method HTTP
 * does not define for the resource), no stack trace, SQL or library detail in a body, no secret
 * echoed, no error-level log line; every OAuth 4xx with `Cache-Control: no-store`, every answer
 * with the security headers; and the routes not served write no row. FUZZ_REQUESTS and FUZZ_SEED
 * change the run.
 */

const SEED = Number(process.env.FUZZ_SEED ?? 0x6a7e5);
const REQUESTS = Number(process.env.FUZZ_REQUESTS ?? 600);

const PATHS = [
  '/oauth/token',
  '/oauth/introspect',
  '/oauth/revoke',
  '/.well-known/openid-configuration',
  '/.well-known/oauth-authorization-server',
  '/.well-known/jwks.json',
  '/healthz',
  '/readyz',
  // browser-facing and not served ones (issue 8 item 5): an anonymous request writes nothing
  '/oauth/authorize',
  '/oauth/logout',
  '/oauth/logout/confirm',
  '/oauth/logout/success',
  '/oauth/userinfo',
  // the sign-in pages and their forms (issue 11)
  '/interaction/some-uid',
  '/interaction/some-uid/login',
  '/interaction/some-uid/consent',
  '/oauth/par',
  '/oauth/device/code',
  // the device verification page (issue 11): pages, never a 5xx, and nothing stored for a visitor
  '/device',
  '/device/some-uid',
] as const;

/** Methods HTTP defines (RFC 9110 §9) plus PATCH; anything else may be 501 Not Implemented. */
const STANDARD_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH']);
const METHODS = ['POST', 'POST', 'POST', 'POST', 'GET', 'GET', 'HEAD', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'PROPFIND', 'MKCOL', 'LOCK'];

const CONTROL = ['\u0000', '\u0001', '\u0007', '\b', '\t', '\n', '\r', '\u001b', '\u007f', '\u0085', '\u2028', '\ufffe'];

const CONTENT_TYPES = [
  'application/x-www-form-urlencoded',
  'application/x-www-form-urlencoded',
  'application/x-www-form-urlencoded',
  'application/x-www-form-urlencoded; charset=utf-8',
  'application/x-www-form-urlencoded; charset=latin1',
  'APPLICATION/X-WWW-FORM-URLENCODED',
  'application/json',
  'text/plain',
  'multipart/form-data; boundary=x',
  'application/x-www-form-urlencoded\u0000',
  '',
];

/** What the suite knows that a response must never contain. */
interface Secrets {
  values: string[];
}

interface Material {
  clientId: string;
  clientSecret: string;
  apiIdentifier: string;
  opaqueApiIdentifier: string;
  jwt: string;
  opaque: string;
  masterKey: string;
}

/** A string with one change: a control character, a truncation, a repetition or foreign text. */
function mutate(rnd: Random, value: string): string {
  switch (rnd.int(9)) {
    case 0: {
      const at = rnd.int(value.length + 1);
      return value.slice(0, at) + rnd.pick(CONTROL) + value.slice(at);
    }
    case 1:
      return value.slice(0, rnd.int(value.length + 1));
    case 2:
      return value.repeat(2 + rnd.int(50));
    case 3:
      return `${value}${'x'.repeat(1000 * (1 + rnd.int(70)))}`;
    case 4:
      return value.toUpperCase();
    case 5:
      return `${value}\u00e9\u4e2d\ud83d\ude00`;
    case 6:
      return `${value}%00`;
    case 7:
      return `${value}'";--`;
    default:
      return rnd.bytes(1 + rnd.int(40)).toString('latin1');
  }
}

function formValue(rnd: Random, candidates: string[]): string {
  const base = rnd.pick(candidates);
  return rnd.chance(0.5) ? mutate(rnd, base) : base;
}

/** Encodes a form, sometimes wrongly: repeated keys, raw bytes, bad percent-escapes. */
function encodeForm(rnd: Random, form: Array<[string, string]>): Buffer {
  const parts = form.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`);
  if (rnd.chance(0.15) && parts.length) parts.push(rnd.pick(parts)); // a repeated parameter
  if (rnd.chance(0.1)) parts.push(rnd.pick(['%zz=1', 'a=%e0%80', 'b=%', '=x', '&&&', 'c=%c3%28', 'd=%ff%fe']));
  const text = parts.join('&');
  if (rnd.chance(0.05)) return Buffer.concat([Buffer.from(text), rnd.bytes(1 + rnd.int(64))]);
  return Buffer.from(text);
}

function authorization(rnd: Random, m: Material): string | undefined {
  const b64 = (v: string | Buffer) => Buffer.from(v).toString('base64');
  switch (rnd.int(12)) {
    case 0:
    case 1:
      return basicAuth(m.clientId, m.clientSecret);
    case 2:
      return basicAuth(m.clientId, mutate(rnd, m.clientSecret));
    case 3:
      return basicAuth(mutate(rnd, m.clientId), m.clientSecret);
    case 4:
      return `Basic ${b64(`${m.clientId}\u0000:${m.clientSecret}`)}`;
    case 5:
      return `Basic ${b64(rnd.bytes(1 + rnd.int(60)))}`;
    case 6:
      return `Basic ${mutate(rnd, b64(`${m.clientId}:${m.clientSecret}`))}`;
    case 7:
      return `Bearer ${rnd.pick([m.jwt, m.opaque, 'x'])}`;
    case 8:
      return rnd.pick(['Basic', 'Basic ', 'Digest x', 'Token abc', 'basic   Zm9vOmJhcg==', 'Basic Zm9vOmJhcg== extra']);
    default:
      return undefined;
  }
}

function buildRequest(rnd: Random, m: Material): RawRequest {
  const path = rnd.chance(0.92)
    ? rnd.pick(PATHS)
    : rnd.pick(['/oauth/token/', '/oauth//token', '/OAUTH/TOKEN', '/oauth/token?x=%00', '/.well-known/jwks.json/..', '/oauth/%00']);
  const method = rnd.pick(METHODS);
  const headers: Record<string, string> = {};
  const contentType = rnd.pick(CONTENT_TYPES);
  if (contentType) headers['content-type'] = contentType;
  const auth = authorization(rnd, m);
  if (auth !== undefined) headers.authorization = auth;
  if (rnd.chance(0.15)) headers.accept = rnd.pick(['text/html', 'application/json', '*/*', 'image/png']);
  if (rnd.chance(0.1)) headers.origin = rnd.pick(['https://evil.example', 'null', 'http://127.0.0.1']);
  if (rnd.chance(0.1)) headers.host = rnd.pick(['attacker.example', 'attacker.example:8080', '127.0.0.1:1', 'x'.repeat(300)]);
  if (rnd.chance(0.1)) headers['x-forwarded-host'] = 'attacker.example';
  if (rnd.chance(0.1)) headers['x-forwarded-proto'] = rnd.pick(['https', 'gopher', '']);
  if (rnd.chance(0.05)) headers.dpop = rnd.pick(['x', m.jwt]);
  if (rnd.chance(0.05)) headers['if-none-match'] = rnd.pick(['*', '"x"', 'W/"abc"']);

  const form: Array<[string, string]> = [];
  const add = (key: string, candidates: string[], p = 0.6) => {
    if (rnd.chance(p)) form.push([key, formValue(rnd, candidates)]);
  };
  add('grant_type', ['client_credentials', 'client_credentials', 'authorization_code', 'refresh_token', 'password', 'urn:x']);
  add('client_id', [m.clientId, 'unknown-client', ''], 0.4);
  add('client_secret', [m.clientSecret, 'wrong'], 0.3);
  add('token', [m.jwt, m.opaque, 'garbage', ''], 0.6);
  add('token_type_hint', ['access_token', 'refresh_token', 'id_token', 'x'], 0.3);
  add('scope', ['read', 'read write', 'admin', ''], 0.4);
  add('audience', [m.apiIdentifier, 'https://unknown.example', 'not a uri'], 0.3);
  add('resource', [m.apiIdentifier, m.opaqueApiIdentifier, 'urn:x', 'https://x#frag'], 0.3);
  add('client_assertion_type', ['urn:ietf:params:oauth:client-assertion-type:jwt-bearer'], 0.05);
  add('client_assertion', [m.jwt], 0.05);
  add('code', ['abc'], 0.05);
  add('refresh_token', ['abc', m.opaque], 0.05);
  let body: Buffer | undefined;
  if (method !== 'GET' && method !== 'HEAD') {
    body = rnd.chance(0.08)
      ? rnd.bytes(rnd.int(2000))
      : rnd.chance(0.05)
        ? Buffer.from('{"grant_type":"client_credentials"}')
        : encodeForm(rnd, form);
  } else if (rnd.chance(0.3)) {
    const query = encodeForm(rnd, form).toString('latin1');
    return { method, path: `${path}${path.includes('?') ? '&' : '?'}${query.slice(0, 4000)}`, headers };
  }
  return { method, path, headers, ...(body ? { body } : {}) };
}

/** Anything that betrays internals: stack frames, file paths, SQL, driver or library names. */
const INTERNAL_DETAIL =
  /\n\s+at\s|node:internal|file:\/\/|\/src\/|\.[jt]s:\d+|prisma|pglite|postgres|\bSELECT\b|\bINSERT\b|oidc_artifacts|relation "|syntax error|ECONN|TypeError|ReferenceError/i;

function problemsWith(req: RawRequest, res: RawReply, secrets: Secrets): string[] {
  const problems: string[] = [];
  const allowed5xx = res.status === 501 && !STANDARD_METHODS.has(req.method);
  if (res.status >= 500 && !allowed5xx) problems.push(`status ${res.status}`);
  // RFC 6749 §5.1-5.2: no cache keeps an OAuth answer, errors included (a 401 most of all).
  const oauth = /^\/oauth\//i.test(req.path);
  if (oauth && res.status >= 400 && res.status < 500 && res.headers['cache-control'] !== 'no-store') {
    problems.push(`a ${res.status} without Cache-Control: no-store (${res.headers['cache-control'] ?? 'none'})`);
  }
  // http/middleware/security-headers.ts: on every answer
  if (
    res.headers['x-content-type-options'] !== 'nosniff' ||
    !/frame-ancestors 'none'/.test(String(res.headers['content-security-policy']))
  ) {
    problems.push(`a ${res.status} without the security headers`);
  }
  if (INTERNAL_DETAIL.test(res.body)) problems.push(`internal detail in body: ${res.body.slice(0, 300)}`);
  for (const secret of secrets.values) if (res.body.includes(secret)) problems.push('a secret is echoed in the body');
  return problems;
}

describe(`fuzzed requests to the public endpoints (seed ${SEED}, ${REQUESTS} requests)`, () => {
  let server: TestServer;
  let material: Material;
  let secrets: Secrets;
  let artifactsBefore: number;
  const countArtifacts = async () => (await server.sql<{ n: number }>('SELECT count(*)::int AS n FROM oidc_artifacts'))[0]?.n ?? 0;

  beforeAll(async () => {
    server = await startTestServer();
    const setup = await makeMachineSetup(server.services);
    const opaqueApi = await makeApi(server.services, { accessTokenFormat: 'opaque' });
    const opaqueClient = await makeClient(server.services, { apis: [{ identifier: opaqueApi.identifier }] });
    material = {
      clientId: setup.clientId,
      clientSecret: setup.clientSecret,
      apiIdentifier: setup.api.identifier,
      opaqueApiIdentifier: opaqueApi.identifier,
      jwt: (await getToken(server.url, setup)).access_token,
      opaque: (await getToken(server.url, opaqueClient)).access_token,
      masterKey: server.env.MASTER_KEY as string,
    };
    secrets = { values: [setup.clientSecret, opaqueClient.clientSecret, material.masterKey] };
    artifactsBefore = await countArtifacts();
  });
  afterAll(() => server?.close());

  it('answers every request with no 5xx, no internal detail and no secret', { timeout: 300_000 }, async () => {
    const rnd = seededRandom(SEED);
    const failures: string[] = [];
    for (let i = 0; i < REQUESTS; i++) {
      const req = buildRequest(rnd, material);
      let res: RawReply;
      try {
        res = await sendRaw(server.url, req);
      } catch (err) {
        // The server may close a connection it cannot parse (llhttp); it must never hang.
        if ((err as Error).message.startsWith('no answer')) failures.push(`#${i} ${req.method} ${req.path}: ${(err as Error).message}`);
        continue;
      }
      for (const problem of problemsWith(req, res, secrets)) {
        failures.push(`#${i} ${req.method} ${req.path.slice(0, 80)} [${JSON.stringify(req.headers).slice(0, 200)}]: ${problem}`);
      }
    }
    expect(failures.slice(0, 20), `${failures.length} of ${REQUESTS} requests failed`).toEqual([]);
  });

  it('stored nothing for anyone while being fuzzed (no session, interaction or token row)', async () => {
    expect(await countArtifacts()).toBeLessThanOrEqual(artifactsBefore);
  });

  it('logs nothing at error level while being fuzzed', () => {
    const faults = server.logs.records().filter((r) => r.level === 'error' || r.level === 'fatal');
    expect(faults.map((r) => `${r.msg} ${r.path ?? ''} ${r.status ?? ''}`).slice(0, 10)).toEqual([]);
  });

  it('still publishes every URL under the issuer after hostile Host headers', async () => {
    for (const path of ['/.well-known/openid-configuration', '/.well-known/oauth-authorization-server']) {
      const res = await sendRaw(server.url, { method: 'GET', path });
      expect(res.status).toBe(200);
      const urls = Object.values(JSON.parse(res.body) as Record<string, unknown>).filter(
        (v): v is string => typeof v === 'string' && /^[a-z]+:\/\//.test(v),
      );
      expect(urls.length).toBeGreaterThan(2);
      for (const url of urls) expect(url.startsWith(server.url)).toBe(true);
    }
  });

  it('still serves a legitimate client afterwards', async () => {
    // From a fresh client: throttles may rightly hold the fuzzed one back for a while.
    const setup = await makeMachineSetup(server.services);
    const token = await getToken(server.url, setup);
    expect(token.token_type).toBe('Bearer');
  });
});

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import Koa from 'koa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemPrincipal } from '../../src/domain/access/principal.ts';
import { systemClock } from '../../src/lib/clock.ts';
import { createJwtSigner } from '../../src/oidc/jwt-signer.ts';
import { createTokenClaims } from '../../src/oidc/token-claims.ts';
import { tokenEndpoint } from '../../src/oidc/token-endpoint.ts';
import { createTokenFastPath } from '../../src/oidc/token-fast-path.ts';
import { basicAuth, makeApi, makeClient } from '../support/fixtures.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { FORM, type RawResponse, requestToken, send } from '../support/tokens.ts';

/**
 * The token endpoint's fast path (src/oidc/token-fast-path.ts) must issue exactly what
 * oidc-provider issues, and must hand everything else to oidc-provider with the body intact.
 */

type Setup = Awaited<ReturnType<typeof machineSetup>>;

async function machineSetup(server: TestServer) {
  const es = await makeApi(server.services, { scopes: ['read', 'write', 'admin'] });
  const rs = await makeApi(server.services, { scopes: ['read'], signingAlg: 'RS256', accessTokenTtlSeconds: 900 });
  const opaque = await makeApi(server.services, { scopes: ['read'], accessTokenFormat: 'opaque' });
  const both = await makeClient(server.services, {
    apis: [{ identifier: es.identifier, scopes: ['read', 'write'] }, { identifier: rs.identifier }, { identifier: opaque.identifier }],
  });
  const single = await makeClient(server.services, { apis: [{ identifier: es.identifier, scopes: ['read'] }] });
  // A client granted permissions of the API itself: its tokens carry them (src/oidc/token-claims.ts).
  const entitled = await makeClient(server.services, { apis: [{ identifier: es.identifier }] });
  const codenames = ['view_report', 'add_report'];
  for (const codename of codenames) await server.services.permissions.create(systemPrincipal, { codename, api: es.identifier });
  await server.services.permissions.setApplicationPermissions(systemPrincipal, entitled.application.id, codenames);
  return { es, rs, opaque, both, single, entitled, codenames };
}

type Case = { form: Record<string, string>; headers: Record<string, string>; clientId: string };

/** Token requests worth comparing between the two paths. */
const CASES: Record<string, (s: Setup) => Case> = {
  'client_secret_basic with audience, no scope': (s) => ({
    form: { grant_type: 'client_credentials', audience: s.es.identifier },
    headers: { authorization: basicAuth(s.both.clientId, s.both.clientSecret) },
    clientId: s.both.clientId,
  }),
  'client_secret_post with resource and a repeated, reordered scope': (s) => ({
    form: {
      grant_type: 'client_credentials',
      client_id: s.both.clientId,
      client_secret: s.both.clientSecret,
      resource: s.es.identifier,
      scope: 'write read write',
    },
    headers: {},
    clientId: s.both.clientId,
  }),
  'an RS256 API with its own lifetime': (s) => ({
    form: { grant_type: 'client_credentials', resource: s.rs.identifier, audience: s.rs.identifier },
    headers: { authorization: basicAuth(s.both.clientId, s.both.clientSecret) },
    clientId: s.both.clientId,
  }),
  'no audience for a client granted one API': (s) => ({
    form: { grant_type: 'client_credentials', scope: 'read' },
    headers: { authorization: basicAuth(s.single.clientId, s.single.clientSecret) },
    clientId: s.single.clientId,
  }),
  'empty audience, resource and scope values, read as absent': (s) => ({
    form: { grant_type: 'client_credentials', audience: '', resource: '', scope: '' },
    headers: { authorization: basicAuth(s.single.clientId, s.single.clientSecret) },
    clientId: s.single.clientId,
  }),
  'client_secret_basic with the same client_id in the body': (s) => ({
    form: { grant_type: 'client_credentials', client_id: s.single.clientId },
    headers: { authorization: basicAuth(s.single.clientId, s.single.clientSecret) },
    clientId: s.single.clientId,
  }),
  'a charset parameter, an unknown extra parameter and one scope': (s) => ({
    form: { grant_type: 'client_credentials', audience: s.es.identifier, scope: 'write', foo: 'bar' },
    headers: { authorization: basicAuth(s.both.clientId, s.both.clientSecret), 'content-type': `${FORM}; charset=utf-8` },
    clientId: s.both.clientId,
  }),
  'a client granted permissions of the API: its tokens carry them first': (s) => ({
    form: { grant_type: 'client_credentials', audience: s.es.identifier, scope: 'read' },
    headers: { authorization: basicAuth(s.entitled.clientId, s.entitled.clientSecret) },
    clientId: s.entitled.clientId,
  }),
  'client_secret_post with audience and an empty resource': (s) => ({
    form: {
      grant_type: 'client_credentials',
      client_id: s.both.clientId,
      client_secret: s.both.clientSecret,
      audience: s.rs.identifier,
      resource: '',
    },
    headers: {},
    clientId: s.both.clientId,
  }),
};

const HEADERS = ['cache-control', 'content-type', 'vary', 'access-control-allow-origin', 'access-control-expose-headers'];

function shape(res: RawResponse, issuer: string, clientId: string) {
  const token = res.json?.access_token as string;
  const header = decodeProtectedHeader(token);
  const claims = decodeJwt(token);
  return {
    status: res.status,
    headers: Object.fromEntries(HEADERS.map((h) => [h, res.headers.get(h)?.toLowerCase()])),
    bodyKeys: Object.keys(res.json ?? {}),
    expiresIn: res.json?.expires_in,
    scope: res.json?.scope,
    tokenType: res.json?.token_type,
    headerKeys: Object.keys(header),
    alg: header.alg,
    typ: header.typ,
    claimKeys: Object.keys(claims),
    permissions: claims.permissions,
    lifetime: (claims.exp ?? 0) - (claims.iat ?? 0),
    claimScope: claims.scope,
    subIsClient: claims.sub === clientId && claims.client_id === clientId,
    issIsIssuer: claims.iss === issuer,
    jtiShape: /^[A-Za-z0-9_-]{43}$/.test(String(claims.jti)),
  };
}

describe('token endpoint fast path', () => {
  let fast: TestServer;
  let library: TestServer;
  let fastSetup: Setup;
  let librarySetup: Setup;
  beforeAll(async () => {
    [fast, library] = await Promise.all([startTestServer(), startTestServer({ env: { TOKEN_FAST_PATH: 'false' } })]);
    [fastSetup, librarySetup] = await Promise.all([machineSetup(fast), machineSetup(library)]);
  });
  afterAll(async () => {
    await Promise.all([fast?.close(), library?.close()]);
  });

  for (const [name, build] of Object.entries(CASES)) {
    it(`issues the token oidc-provider issues [${name}] (RFC 9068 §2)`, async () => {
      const [x, y] = [build(fastSetup), build(librarySetup)];
      const [a, b] = await Promise.all([requestToken(fast.url, x.form, x.headers), requestToken(library.url, y.form, y.headers)]);
      expect(a.status, a.text).toBe(200);
      expect(b.status, b.text).toBe(200);
      const fastShape = shape(a, fast.url, x.clientId);
      expect(fastShape).toEqual(shape(b, library.url, y.clientId));
      expect(fastShape.subIsClient && fastShape.issIsIssuer && fastShape.jtiShape).toBe(true);
    });
  }

  it("carries the application's own permissions of that API, first, on both paths (issue 10)", async () => {
    const [x, y] = [
      CASES['a client granted permissions of the API: its tokens carry them first'],
      CASES['no audience for a client granted one API'],
    ];
    for (const [server, setup] of [
      [fast, fastSetup],
      [library, librarySetup],
    ] as const) {
      const entitled = decodeJwt((await requestToken(server.url, x?.(setup).form ?? {}, x?.(setup).headers)).json?.access_token as string);
      expect(Object.keys(entitled)[0]).toBe('permissions');
      expect(entitled.permissions).toEqual(['add_report', 'view_report']);
      const plain = decodeJwt((await requestToken(server.url, y?.(setup).form ?? {}, y?.(setup).headers)).json?.access_token as string);
      expect(plain.permissions).toBeUndefined();
    }
  });

  it('signs with the key the JWKS publishes as active, and a different jti every time', async () => {
    const request = CASES['client_secret_basic with audience, no scope']?.(fastSetup) as Case;
    const tokens = await Promise.all([1, 2, 3].map(() => requestToken(fast.url, request.form, request.headers)));
    const jwks = (await send(`${fast.url}/.well-known/jwks.json`, { method: 'GET' })).json as { keys: Array<{ kid: string }> };
    const kids = tokens.map((t) => decodeProtectedHeader(t.json?.access_token as string).kid);
    expect(new Set(kids).size).toBe(1);
    expect(jwks.keys.map((k) => k.kid)).toContain(kids[0]);
    expect(new Set(tokens.map((t) => decodeJwt(t.json?.access_token as string).jti)).size).toBe(3);
  });
});

describe('token endpoint fast path: what it leaves to oidc-provider', () => {
  let server: TestServer;
  let setup: Setup;
  let probe: Server;
  let probeUrl: string;
  beforeAll(async () => {
    server = await startTestServer();
    setup = await machineSetup(server);
    // The fast path alone, in front of a stand-in for oidc-provider that echoes the body it reads.
    const keyRing = await server.services.signingKeys.loadKeyRing();
    const app = new Koa();
    const fastPath = createTokenFastPath({
      issuer: server.url,
      applications: server.services.applications,
      apis: server.services.apis,
      signer: createJwtSigner(() => keyRing),
      clock: systemClock,
      claims: createTokenClaims({ access: server.services.access, applications: server.services.applications }),
    });
    app.use(tokenEndpoint({ fastPath }));
    app.use(async (ctx) => {
      const chunks: Buffer[] = [];
      for await (const chunk of ctx.req.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>) chunks.push(chunk);
      ctx.status = 299;
      ctx.body = { fellThrough: true, body: Buffer.concat(chunks).toString('utf8') };
    });
    probe = createServer(app.callback());
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    probeUrl = `http://127.0.0.1:${(probe.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => probe?.close(resolve));
    await server?.close();
  });

  const post = (body: string, headers: Record<string, string> = {}) =>
    send(`${probeUrl}/oauth/token`, { headers: { 'content-type': FORM, ...headers }, body });
  const basic = (c: { clientId: string; clientSecret: string }) => ({ authorization: basicAuth(c.clientId, c.clientSecret) });

  it('answers a plain client credentials request itself', async () => {
    const res = await post(`grant_type=client_credentials&audience=${encodeURIComponent(setup.es.identifier)}`, basic(setup.both));
    expect(res.status, res.text).toBe(200);
    expect(res.json?.fellThrough).toBeUndefined();
  });

  // Every request the parity suite above compares is one the fast path answers itself.
  for (const [name, build] of Object.entries(CASES)) {
    it(`answers itself [${name}]`, async () => {
      const { form, headers } = build(setup);
      const res = await post(new URLSearchParams(form).toString(), headers);
      expect(res.status, res.text).toBe(200);
      expect(res.json?.fellThrough).toBeUndefined();
    });
  }

  const fallThrough: Record<string, (s: Setup) => [string, Record<string, string>]> = {
    'a wrong secret': (s) => [
      `grant_type=client_credentials&audience=${encodeURIComponent(s.es.identifier)}`,
      basic({ ...s.both, clientSecret: 'nope' }),
    ],
    'an unknown client': (s) => [
      `grant_type=client_credentials&audience=${encodeURIComponent(s.es.identifier)}`,
      basic({ clientId: 'nobody', clientSecret: 'x' }),
    ],
    'another grant type': (s) => ['grant_type=authorization_code&code=abc&redirect_uri=https%3A%2F%2Fapp.test%2Fcb', basic(s.both)],
    'an API with opaque tokens': (s) => [
      `grant_type=client_credentials&resource=${encodeURIComponent(s.opaque.identifier)}`,
      basic(s.both),
    ],
    'a scope outside the RFC 6749 §3.3 syntax': (s) => [
      `grant_type=client_credentials&resource=${encodeURIComponent(s.es.identifier)}&scope=read++write`,
      basic(s.both),
    ],
    'an API nobody registered': (s) => [
      `grant_type=client_credentials&audience=${encodeURIComponent('https://unknown.example.test')}`,
      basic(s.both),
    ],
    'an API the client was not granted': (s) => [
      `grant_type=client_credentials&audience=${encodeURIComponent(s.rs.identifier)}`,
      basic(s.single),
    ],
    'a scope the client was not granted': (s) => [
      `grant_type=client_credentials&resource=${encodeURIComponent(s.es.identifier)}&scope=admin`,
      basic(s.both),
    ],
    'no audience for a client granted several APIs': (s) => ['grant_type=client_credentials', basic(s.both)],
    'audience and resource that differ': (s) => [
      `grant_type=client_credentials&audience=${encodeURIComponent(s.es.identifier)}&resource=${encodeURIComponent(s.rs.identifier)}`,
      basic(s.both),
    ],
    'a repeated parameter': (s) => [
      `grant_type=client_credentials&audience=${encodeURIComponent(s.es.identifier)}&audience=${encodeURIComponent(s.es.identifier)}`,
      basic(s.both),
    ],
    'a browser Origin': (s) => [
      `grant_type=client_credentials&audience=${encodeURIComponent(s.es.identifier)}`,
      { ...basic(s.both), origin: 'https://spa.example.test' },
    ],
    'Basic credentials plus a client_secret in the body': (s) => [
      `grant_type=client_credentials&client_secret=${encodeURIComponent(s.both.clientSecret)}&audience=${encodeURIComponent(s.es.identifier)}`,
      basic(s.both),
    ],
    'a client assertion': (s) => [
      `grant_type=client_credentials&client_id=${s.both.clientId}&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion=a.b.c`,
      {},
    ],
    'another Authorization scheme': (s) => [
      `grant_type=client_credentials&audience=${encodeURIComponent(s.es.identifier)}`,
      { authorization: 'Bearer abc' },
    ],
  };

  for (const [name, build] of Object.entries(fallThrough)) {
    it(`hands the request to oidc-provider with its body intact [${name}]`, async () => {
      const [body, headers] = build(setup);
      const res = await post(body, headers);
      expect(res.status, res.text).toBe(299);
      expect(res.json).toEqual({ fellThrough: true, body });
    });
  }

  it('hands over a deleted client at once, and a rotated secret', async () => {
    const client = await makeClient(server.services, { apis: [{ identifier: setup.es.identifier }] });
    const body = 'grant_type=client_credentials';
    expect((await post(body, basic(client))).status).toBe(200);
    const rotated = await server.services.applications.rotateSecret(client.clientId, 'test');
    expect((await post(body, basic(client))).status).toBe(299);
    expect((await post(body, basic({ clientId: client.clientId, clientSecret: rotated.clientSecret as string }))).status).toBe(200);
    await server.services.applications.remove(client.clientId, 'test');
    expect((await post(body, basic({ clientId: client.clientId, clientSecret: rotated.clientSecret as string }))).status).toBe(299);
  });
});

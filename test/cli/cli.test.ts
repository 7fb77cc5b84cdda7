import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliResult, runCli, runCliJson } from '../support/cli.ts';
import { basicAuth, makeApi, makeClient, makeMachineSetup, postForm } from '../support/fixtures.ts';
import { waitFor } from '../support/process.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { TEST_DB } from '../support/test-database.ts';

/**
 * The CLI against a running server, as the README's walk-through uses it. On PGlite the server
 * holds the data directory, so every command is carried out by the server through its control
 * socket; on PostgreSQL the CLI connects to the database and the server learns of changes through
 * LISTEN/NOTIFY. Either way a change must be visible to the running server as soon as the command
 * returns.
 */

interface WireClient {
  client_id: string;
  client_secret?: string;
  name: string;
  grant_types: string[];
  apis: Array<{ identifier: string; scopes: string[] }>;
  secret_hint: string | null;
}

interface WireKey {
  kid: string;
  alg: string;
  state: string;
  signs_from: string;
}

/** A usage or input error: non-zero, exactly one line on stderr, no stack trace, nothing on stdout. */
function expectOneLineError(result: CliResult, code: number | 'nonzero', mentions: RegExp) {
  if (code === 'nonzero') expect(result.code, result.stderr).not.toBe(0);
  else expect(result.code, result.stderr).toBe(code);
  const lines = result.stderr.trimEnd().split('\n');
  expect(lines, result.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^gatehouse: /);
  expect(lines[0]).toMatch(mentions);
  expect(result.stderr).not.toMatch(/^\s+at /m);
  expect(result.stdout).toBe('');
}

describe('gatehouse CLI while a server runs', { timeout: 60_000 }, () => {
  let server: TestServer;
  const cli = (...args: string[]) => runCli(args, server.env);
  const token = (clientId: string, secret: string, form: Record<string, string> = {}) =>
    postForm(`${server.url}/oauth/token`, { grant_type: 'client_credentials', ...form }, { authorization: basicAuth(clientId, secret) });

  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server?.close());

  it("runs the README's walk-through: the created client gets a token from the running server at once (RFC 6749 §4.4)", async () => {
    const api = await cli('apis', 'create', '--identifier', 'https://api.example.test', '--name', 'Example API', '--scopes', 'read,write');
    expect(api.code, api.stderr).toBe(0);
    expect(api.stdout).toContain('https://api.example.test');
    expect(api.stderr).toBe('');

    const created = await cli(
      'clients',
      'create',
      '--name',
      'reporter',
      '--grant-types',
      'client_credentials',
      '--api',
      'https://api.example.test',
      '--scopes',
      'read',
      '--json',
    );
    expect(created.code, created.stderr).toBe(0);
    expect(created.stderr).toBe('');
    // The whole of stdout is one JSON object (not an array, no banner around it).
    const client = JSON.parse(created.stdout) as WireClient;
    expect(Array.isArray(client)).toBe(false);
    expect(client).toMatchObject({
      name: 'reporter',
      grant_types: ['client_credentials'],
      apis: [{ identifier: 'https://api.example.test', scopes: ['read'] }],
    });
    expect(client.client_id).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(client.client_secret).toMatch(/^ghcs_[A-Za-z0-9_-]{43}$/);
    const secret = client.client_secret as string;

    // client_secret_basic + audience, exactly as the README's curl
    const basic = await token(client.client_id, secret, { audience: 'https://api.example.test' });
    expect(basic.status, JSON.stringify(basic.body)).toBe(200);
    expect(basic.body).toMatchObject({ token_type: 'Bearer', scope: 'read' });
    const claims = decodeJwt(basic.body.access_token as string);
    expect(claims).toMatchObject({ aud: 'https://api.example.test', client_id: client.client_id, iss: server.url });

    // client_secret_post + resource (RFC 8707)
    const post = await postForm(`${server.url}/oauth/token`, {
      grant_type: 'client_credentials',
      client_id: client.client_id,
      client_secret: secret,
      resource: 'https://api.example.test',
      scope: 'read',
    });
    expect(post.status, JSON.stringify(post.body)).toBe(200);

    // The client was granted read only: write is refused (RFC 6749 §5.2).
    const write = await token(client.client_id, secret, { audience: 'https://api.example.test', scope: 'write' });
    expect(write.status).toBe(400);
    expect(write.body.error).toBe('invalid_scope');
  });

  it('apis list shows every API with its scopes, as a table and as JSON', async () => {
    const api = await makeApi(server.services, { scopes: ['alpha', 'beta'], name: 'Listed API' });
    const text = await cli('apis', 'list');
    expect(text.code, text.stderr).toBe(0);
    const row = text.stdout.split('\n').find((l) => l.startsWith(api.identifier));
    expect(row).toBeDefined();
    expect(row).toContain('Listed API');
    expect(row).toContain('alpha,beta');

    const json = await runCliJson<Array<{ identifier: string; scopes: string[] }>>(['apis', 'list', '--json'], server.env);
    expect(json.find((a) => a.identifier === api.identifier)).toMatchObject({ scopes: ['alpha', 'beta'], name: 'Listed API' });
  });

  it('clients list shows applications but never a secret or its digest', async () => {
    const { clientId, clientSecret } = await makeMachineSetup(server.services);
    const record = await server.services.applications.findClient(clientId);
    const digest = record?.clientSecretDigest;
    expect(digest).toBeTruthy();

    for (const args of [
      ['clients', 'list'],
      ['clients', 'list', '--json'],
    ]) {
      const result = await cli(...args);
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toContain(clientId);
      expect(result.stdout, args.join(' ')).not.toContain(clientSecret);
      expect(result.stdout, args.join(' ')).not.toContain(digest);
      // nor any long stretch of the secret (the hint is the prefix and 4 characters)
      expect(result.stdout, args.join(' ')).not.toContain(clientSecret.slice(0, 16));
    }
  });

  it('clients show prints one application as JSON, without its secret or digest', async () => {
    const { clientId, clientSecret, application, api } = await makeMachineSetup(server.services, {
      scopes: ['a', 'b'],
      grantScopes: ['a'],
    });
    const shown = await runCliJson<WireClient>(['clients', 'show', '--client-id', clientId], server.env);
    const digest = (await server.services.applications.findClient(clientId))?.clientSecretDigest as string;
    expect(JSON.stringify(shown)).not.toContain(clientSecret.slice(0, 16));
    expect(JSON.stringify(shown)).not.toContain(digest);
    expect(shown).toMatchObject({
      client_id: clientId,
      name: application.name,
      grant_types: ['client_credentials'],
      apis: [{ identifier: api.identifier, scopes: ['a'] }],
    });
    expect(shown).not.toHaveProperty('client_secret');

    const missing = await cli('clients', 'show', '--client-id', 'no-such-client');
    expectOneLineError(missing, 'nonzero', /no application has this client_id/);
  });

  it('clients create --allowed-origin (repeatable or a comma list), show and update: the token endpoint answers those origins only (CORS)', async () => {
    const api = await makeApi(server.services);
    const created = await runCliJson<WireClient & { allowed_origins: string[] }>(
      [
        'clients',
        'create',
        '--name',
        `spa-backend-${Date.now()}`,
        '--api',
        api.identifier,
        '--allowed-origin',
        'https://app.example.test',
        '--allowed-origin',
        'https://admin.example.test,http://localhost:5173',
        '--json',
      ],
      server.env,
    );
    const origins = ['https://app.example.test', 'https://admin.example.test', 'http://localhost:5173'];
    expect(created.allowed_origins).toEqual(origins);
    const shown = await runCliJson<{ allowed_origins: string[] }>(['clients', 'show', '--client-id', created.client_id], server.env);
    expect(shown.allowed_origins).toEqual(origins);

    const fromPage = await postForm(
      `${server.url}/oauth/token`,
      { grant_type: 'client_credentials' },
      { authorization: basicAuth(created.client_id, created.client_secret as string), origin: 'https://admin.example.test' },
    );
    expect(fromPage.status).toBe(200);
    expect(fromPage.headers.get('access-control-allow-origin')).toBe('https://admin.example.test');

    // none by default
    const plain = await runCliJson<{ allowed_origins: string[] }>(
      ['clients', 'create', '--name', `no-cors-${Date.now()}`, '--json'],
      server.env,
    );
    expect(plain.allowed_origins).toEqual([]);

    // clients update replaces the list, and the running server follows at once
    const replaced = await runCliJson<{ allowed_origins: string[] }>(
      ['clients', 'update', '--client-id', created.client_id, '--allowed-origin', 'https://new.example.test', '--json'],
      server.env,
    );
    expect(replaced.allowed_origins).toEqual(['https://new.example.test']);
    const fromOldPage = await postForm(
      `${server.url}/oauth/token`,
      { grant_type: 'client_credentials' },
      { authorization: basicAuth(created.client_id, created.client_secret as string), origin: 'https://admin.example.test' },
    );
    expect(fromOldPage.status).toBe(400);
    expect(fromOldPage.headers.get('access-control-allow-origin')).toBeNull();

    const cleared = await cli('clients', 'update', '--client-id', created.client_id, '--no-allowed-origins');
    expect(cleared.code, cleared.stderr).toBe(0);
    expect(cleared.stdout).toContain('allowed origins: (none)');
    expect((await server.services.applications.get(created.client_id)).allowedOrigins).toEqual([]);
  });

  it('clients rotate-secret: the new secret works and the old one fails at once with invalid_client (RFC 6749 §5.2)', async () => {
    const { clientId, clientSecret, api } = await makeMachineSetup(server.services);
    // Warm the server's client cache with the old secret, so a stale cache would show.
    expect((await token(clientId, clientSecret, { audience: api.identifier })).status).toBe(200);

    const rotated = await runCliJson<WireClient>(['clients', 'rotate-secret', '--client-id', clientId, '--json'], server.env);
    expect(rotated.client_id).toBe(clientId);
    expect(rotated.client_secret).toMatch(/^ghcs_/);
    expect(rotated.client_secret).not.toBe(clientSecret);

    const old = await token(clientId, clientSecret, { audience: api.identifier });
    expect(old.status).toBe(401);
    expect(old.body.error).toBe('invalid_client');
    expect(old.headers.get('www-authenticate')).toMatch(/^Basic/);

    const fresh = await token(clientId, rotated.client_secret as string, { audience: api.identifier });
    expect(fresh.status, JSON.stringify(fresh.body)).toBe(200);
  });

  it('clients rotate-secret without --json prints the new secret once, with a warning to store it', async () => {
    const { clientId } = await makeClient(server.services);
    const rotated = await cli('clients', 'rotate-secret', '--client-id', clientId);
    expect(rotated.code, rotated.stderr).toBe(0);
    const secret = /client_secret:\s+(ghcs_\S+)/.exec(rotated.stdout)?.[1];
    expect(secret).toMatch(/^ghcs_[A-Za-z0-9_-]{43}$/);
    expect(rotated.stdout).toMatch(/only this once/);
  });

  it('clients delete: the client then gets invalid_client (RFC 6749 §5.2)', async () => {
    const { clientId, clientSecret, api } = await makeMachineSetup(server.services);
    expect((await token(clientId, clientSecret, { audience: api.identifier })).status).toBe(200);

    const deleted = await cli('clients', 'delete', '--client-id', clientId);
    expect(deleted.code, deleted.stderr).toBe(0);
    expect(deleted.stdout).toContain(clientId);

    const after = await token(clientId, clientSecret, { audience: api.identifier });
    expect(after.status).toBe(401);
    expect(after.body.error).toBe('invalid_client');
    expect((await server.services.applications.list()).map((a) => a.clientId)).not.toContain(clientId);
  });

  it('apis delete refuses an API still granted to a client unless --force, then tokens for it fail with invalid_target (RFC 8707 §2)', async () => {
    const { clientId, clientSecret, api } = await makeMachineSetup(server.services);
    expect((await token(clientId, clientSecret, { audience: api.identifier })).status).toBe(200);

    const refused = await cli('apis', 'delete', '--identifier', api.identifier);
    expectOneLineError(refused, 'nonzero', /still granted/);

    const deleted = await cli('apis', 'delete', '--identifier', api.identifier, '--force');
    expect(deleted.code, deleted.stderr).toBe(0);
    expect(deleted.stdout).toContain(api.identifier);

    expect((await server.services.apis.list()).map((a) => a.identifier)).not.toContain(api.identifier);
    const after = await token(clientId, clientSecret, { audience: api.identifier });
    expect(after.status).toBe(400);
    expect(after.body.error).toBe('invalid_target');
  });

  it('apis delete removes an API no client uses', async () => {
    const api = await makeApi(server.services);
    const deleted = await cli('apis', 'delete', '--identifier', api.identifier, '--json');
    expect(deleted.code, deleted.stderr).toBe(0);
    expect(JSON.parse(deleted.stdout)).toEqual({ deleted: api.identifier });
    expect((await server.services.apis.list()).map((a) => a.identifier)).not.toContain(api.identifier);
  });

  it('clients permissions --set gives an application permissions of an API, which its tokens then carry', async () => {
    const { clientId, clientSecret, api } = await makeMachineSetup(server.services);
    const set = await runCliJson<{ permissions: string[] }>(
      ['clients', 'permissions', '--client-id', clientId, '--set', 'add_mediasource,view_mediasource', '--api', api.identifier, '--json'],
      server.env,
    );
    expect(set.permissions).toEqual(['add_mediasource', 'view_mediasource']);
    const issued = await token(clientId, clientSecret, { audience: api.identifier });
    expect(issued.status).toBe(200);
    expect(decodeJwt(issued.body.access_token as string).permissions).toEqual(['add_mediasource', 'view_mediasource']);

    const shown = await cli('clients', 'permissions', '--client-id', clientId);
    expect(shown.stdout.trim().split('\n')).toEqual(['add_mediasource', 'view_mediasource']);
    const cleared = await runCliJson<{ permissions: string[] }>(
      ['clients', 'permissions', '--client-id', clientId, '--set', '', '--json'],
      server.env,
    );
    expect(cleared.permissions).toEqual([]);
    const after = await token(clientId, clientSecret, { audience: api.identifier });
    expect(decodeJwt(after.body.access_token as string).permissions).toBeUndefined();
    expectOneLineError(await cli('clients', 'permissions', '--client-id', clientId, '--api', api.identifier), 2, /--api goes with --set/);
  });

  it('keys list shows the active ES256 and RS256 keys the server publishes (RFC 7517)', async () => {
    const keys = await runCliJson<WireKey[]>(['keys', 'list', '--json'], server.env);
    const active = keys.filter((k) => k.state === 'active');
    expect(active.map((k) => k.alg).sort()).toEqual(['ES256', 'RS256']);
    const jwks = (await (await fetch(`${server.url}/.well-known/jwks.json`)).json()) as { keys: Array<{ kid: string }> };
    for (const key of active) expect(jwks.keys.map((k) => k.kid)).toContain(key.kid);

    const text = await cli('keys', 'list');
    expect(text.code, text.stderr).toBe(0);
    for (const key of active) expect(text.stdout).toMatch(new RegExp(`${key.kid}\\s+${key.alg}\\s+active`));
  });

  it('keys rotate: the running server publishes the new keys at once and signs with them from KEY_ACTIVATION_DELAY_SECONDS on', async () => {
    const before = await server.services.signingKeys.list();
    const signing = before.filter((k) => k.state === 'active').map((k) => k.kid);
    const { clientId, clientSecret, api } = await makeMachineSetup(server.services);

    const started = Date.now();
    const rotated = await runCliJson<WireKey[]>(['keys', 'rotate', '--json'], server.env);
    const pending = rotated.filter((k) => k.state === 'pending');
    expect(pending.map((k) => k.alg).sort()).toEqual(['ES256', 'RS256']);
    for (const key of pending) {
      // the default delay: 600 s
      expect(Date.parse(key.signs_from) - started).toBeGreaterThanOrEqual(599_000);
      expect(Date.parse(key.signs_from) - Date.now()).toBeLessThanOrEqual(600_000);
    }
    // the keys signing now go on signing until then
    for (const kid of signing) expect(rotated.find((k) => k.kid === kid)?.state).toBe('active');

    const published = async () =>
      ((await (await fetch(`${server.url}/.well-known/jwks.json`)).json()) as { keys: Array<{ kid: string }> }).keys.map((k) => k.kid);
    await waitFor(async () => {
      const now = await published();
      return pending.every((k) => now.includes(k.kid));
    }, 'the pending keys in the JWKS');
    const publishedNow = await published();
    for (const key of [...pending.map((k) => k.kid), ...signing]) expect(publishedNow).toContain(key);

    const issued = await token(clientId, clientSecret, { audience: api.identifier });
    expect(issued.status).toBe(200);
    expect(signing).toContain(decodeProtectedHeader(issued.body.access_token as string).kid);

    const text = await cli('keys', 'list');
    for (const key of pending) expect(text.stdout).toMatch(new RegExp(`${key.kid}\\s+${key.alg}\\s+pending`));
  });

  it('keys rotate --now: the running server signs with the new keys at once, keeping the old ones in the JWKS', async () => {
    const before = await server.services.signingKeys.list();
    const oldActive = before.filter((k) => k.state === 'active').map((k) => k.kid);

    const rotated = await runCliJson<WireKey[]>(['keys', 'rotate', '--now', '--json'], server.env);
    const newActive = rotated.filter((k) => k.state === 'active');
    expect(newActive.map((k) => k.alg).sort()).toEqual(['ES256', 'RS256']);
    for (const key of newActive) expect(oldActive).not.toContain(key.kid);
    for (const kid of oldActive) expect(rotated.find((k) => k.kid === kid)?.state).toBe('retiring');

    const jwks = (await (await fetch(`${server.url}/.well-known/jwks.json`)).json()) as { keys: Array<{ kid: string }> };
    const published = jwks.keys.map((k) => k.kid);
    for (const key of newActive) expect(published).toContain(key.kid);
    for (const kid of oldActive) expect(published).toContain(kid);

    const { clientId, clientSecret, api } = await makeMachineSetup(server.services);
    const issued = await token(clientId, clientSecret, { audience: api.identifier });
    expect(issued.status).toBe(200);
    expect(decodeProtectedHeader(issued.body.access_token as string).kid).toBe(newActive.find((k) => k.alg === 'ES256')?.kid);
  });

  it('keys revoke KID: the running server drops the key from the JWKS at once and signs with a replacement; repeating it changes nothing', async () => {
    const signing = (await server.services.signingKeys.list()).find((k) => k.state === 'active' && k.alg === 'ES256');
    expect(signing).toBeDefined();
    const kid = signing?.kid as string;

    const revoked = await runCliJson<{ revoked: WireKey; changed: boolean; replacements: WireKey[] }>(
      ['keys', 'revoke', kid, '--json'],
      server.env,
    );
    expect(revoked.changed).toBe(true);
    expect(revoked.revoked.state).toBe('revoked');
    expect(revoked.replacements.map((k) => k.alg)).toEqual(['ES256']);
    const jwks = (await (await fetch(`${server.url}/.well-known/jwks.json`)).json()) as { keys: Array<{ kid: string }> };
    expect(jwks.keys.map((k) => k.kid)).not.toContain(kid);
    expect(jwks.keys.map((k) => k.kid)).toContain(revoked.replacements[0]?.kid);

    const again = await cli('keys', 'revoke', '--kid', kid);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/already revoked .*nothing changed/);
  });

  it('keys revoke with an unknown kid exits 1 naming it, and with no kid exits 2', async () => {
    expectOneLineError(await cli('keys', 'revoke', 'no-such-kid'), 1, /no signing key has this kid/);
    expectOneLineError(await cli('keys', 'revoke'), 2, /a KID is required/);
  });

  it.skipIf(TEST_DB !== 'pglite')('on PGlite carries out commands in the server through $DATA_DIR/gatehouse.sock (mode 0600)', async () => {
    const socket = join(server.db.dataDir, 'gatehouse.sock');
    const stat = statSync(socket);
    expect(stat.isSocket()).toBe(true);
    expect(stat.mode & 0o777).toBe(0o600);

    const api = `https://api-socket-${Date.now()}.example.test`;
    const created = await cli('apis', 'create', '--identifier', api, '--name', 'Via socket');
    expect(created.code, created.stderr).toBe(0);
    // The server ran it (the CLI never opened the directory the server holds).
    const ran = server.logs.records().find((r) => r.msg === 'admin request' && r.method === 'POST' && r.path === '/api/v1/apis');
    expect(ran?.actor).toMatch(/^cli:/);
    expect((await server.services.apis.list()).map((a) => a.identifier)).toContain(api);
  });

  it.skipIf(TEST_DB !== 'postgres')('on PostgreSQL opens no control socket: the CLI connects to the database', () => {
    expect(existsSync(join(server.db.dataDir, 'gatehouse.sock'))).toBe(false);
  });

  describe('refuses input the database rejects, with one line on stderr', () => {
    it('a duplicate client name exits non-zero saying the name is taken', async () => {
      const { application } = await makeClient(server.services);
      const dup = await cli('clients', 'create', '--name', application.name);
      expectOneLineError(dup, 'nonzero', /already exists/);
      expect(dup.stderr).toContain(application.name);
    });

    it('a duplicate API identifier exits non-zero saying it is taken', async () => {
      const api = await makeApi(server.services);
      const dup = await cli('apis', 'create', '--identifier', api.identifier, '--name', 'again');
      expectOneLineError(dup, 'nonzero', /already exists/);
      expect(dup.stderr).toContain(api.identifier);
    });

    it('an unknown API in --api exits 2 naming it', async () => {
      const name = `unknown-api-${Date.now()}`;
      const result = await cli('clients', 'create', '--name', name, '--api', 'https://nowhere.example.test');
      expectOneLineError(result, 2, /no API has this identifier.*https:\/\/nowhere\.example\.test/);
      expect((await server.services.applications.list()).map((a) => a.name)).not.toContain(name);
    });

    it('a scope the API does not define exits 2 naming it', async () => {
      const api = await makeApi(server.services, { scopes: ['read'] });
      const name = `unknown-scope-${Date.now()}`;
      const result = await cli('clients', 'create', '--name', name, '--api', api.identifier, '--scopes', 'read,delete');
      expectOneLineError(result, 2, /does not define the scope "delete"/);
      expect((await server.services.applications.list()).map((a) => a.name)).not.toContain(name);
    });
  });

  it('migrate --status reports the running server’s database up to date', async () => {
    const status = await cli('migrate', '--status');
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toMatch(TEST_DB === 'pglite' ? /server is running/ : /up to date/);
  });
});

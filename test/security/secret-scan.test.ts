import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.ts';
import { openDatabase } from '../../src/db/database.ts';
import { createLogger } from '../../src/lib/logger.ts';
import { getToken, introspect, revoke } from '../support/downstream.ts';
import { basicAuth, makeApi, makeClient, makeMachineSetup, postForm } from '../support/fixtures.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-database.ts';

/**
 * Secrets never reach a log line or a database column (DESIGN.md §5): after a full exercise of
 * the machine-to-machine surface — clients created and rotated, tokens of both formats issued,
 * introspected and revoked, wrong secrets, and a query that fails while it carries a token — the
 * captured log and a dump of every table are searched for every secret the run handled: client
 * secrets (current and rotated out), opaque tokens, JWTs, and the master key.
 */
describe('no secret in logs or in the database after a full exercise', () => {
  let db: TestDatabase;
  let server: TestServer | undefined;
  const secrets = new Map<string, string>(); // value → what it is
  let logText = '';
  let dump = '';

  beforeAll(async () => {
    db = await createTestDatabase();
    server = await startTestServer({ db });
    const s = server;
    secrets.set(s.env.MASTER_KEY as string, 'the master key');

    const jwtSetup = await makeMachineSetup(s.services);
    const opaqueApi = await makeApi(s.services, { accessTokenFormat: 'opaque' });
    const opaqueClient = await makeClient(s.services, { apis: [{ identifier: opaqueApi.identifier }] });
    secrets.set(jwtSetup.clientSecret, 'a client secret');
    secrets.set(opaqueClient.clientSecret, 'a client secret');

    const jwt = (await getToken(s.url, jwtSetup)).access_token;
    const jwtPost = await postForm(`${s.url}/oauth/token`, {
      grant_type: 'client_credentials',
      client_id: jwtSetup.clientId,
      client_secret: jwtSetup.clientSecret,
      resource: jwtSetup.api.identifier,
    });
    const opaque = (await getToken(s.url, opaqueClient)).access_token;
    const opaqueToRevoke = (await getToken(s.url, opaqueClient)).access_token;
    const opaqueUnread = (await getToken(s.url, opaqueClient)).access_token; // never read back: not cached
    secrets.set(opaqueUnread, 'an opaque access token');
    secrets.set(jwt, 'a JWT access token');
    secrets.set(String(jwtPost.body.access_token), 'a JWT access token');
    secrets.set(opaque, 'an opaque access token');
    secrets.set(opaqueToRevoke, 'an opaque access token');

    await introspect(s.url, jwtSetup, jwt);
    await introspect(s.url, opaqueClient, opaque);
    await revoke(s.url, jwtSetup, String(jwtPost.body.access_token));
    await revoke(s.url, opaqueClient, opaqueToRevoke);

    // Failures carry secrets too: wrong secrets, a rotated-out secret, a foreign caller.
    await postForm(
      `${s.url}/oauth/token`,
      { grant_type: 'client_credentials' },
      { authorization: basicAuth(jwtSetup.clientId, 'ghcs_wrong') },
    );
    await postForm(`${s.url}/oauth/introspect`, { token: opaque, client_id: opaqueClient.clientId, client_secret: 'ghcs_wrong_too' });
    const rotated = await s.services.applications.rotateSecret(jwtSetup.clientId, 'test');
    secrets.set(rotated.clientSecret as string, 'a client secret');
    await getToken(s.url, { clientId: jwtSetup.clientId, clientSecret: jwtSetup.clientSecret }).catch(() => {});
    await getToken(s.url, { clientId: jwtSetup.clientId, clientSecret: rotated.clientSecret as string });

    // A query that fails while it carries a presented token: the table it reads is gone for a moment.
    await s.sql('ALTER TABLE oidc_artifacts RENAME TO oidc_artifacts_away');
    const failed = await introspect(s.url, opaqueClient, opaqueUnread);
    await postForm(
      `${s.url}/oauth/revoke`,
      { token: opaqueUnread },
      { authorization: basicAuth(opaqueClient.clientId, opaqueClient.clientSecret) },
    );
    await s.sql('ALTER TABLE oidc_artifacts_away RENAME TO oidc_artifacts');
    expect(failed.status).toBeGreaterThanOrEqual(500); // the failure really happened (and was logged)

    await s.close();
    server = undefined;
    logText = s.logs.text;

    // Every row of every table, as text.
    const store = await openDatabase(loadConfig({ NODE_ENV: 'test', ...db.env }).database, {
      log: createLogger({ level: 'silent' }),
      role: 'test',
    });
    try {
      const tables = await store.sql<{ name: string }>(
        `SELECT quote_ident(table_name) AS name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'`,
        [],
      );
      expect(tables.length).toBeGreaterThan(5);
      for (const { name } of tables) {
        const rows = await store.sql<{ row: string }>(`SELECT row_to_json(t)::text AS row FROM ${name} t`, []);
        dump += `${name}\n${rows.map((r) => r.row).join('\n')}\n`;
      }
    } finally {
      await store.close();
    }
  }, 120_000);

  afterAll(async () => {
    await server?.close();
    await db?.drop();
  });

  it('the log was captured and mentions the failure (the control)', () => {
    expect(logText).toContain('"level":"error"');
    expect(logText.length).toBeGreaterThan(1000);
  });

  it('no log line carries a secret', () => {
    const found = [...secrets].filter(([value]) => logText.includes(value)).map(([, what]) => what);
    expect(found).toEqual([]);
  });

  it('no database column carries a client secret, a JWT or the master key', () => {
    expect(dump).toContain('applications'); // the control: the dump holds the tables
    const found = [...secrets].filter(([value, what]) => what !== 'an opaque access token' && dump.includes(value)).map(([, what]) => what);
    expect(found).toEqual([]);
  });

  it('no database column carries an opaque access token', () => {
    expect(dump).toContain('oidc_artifacts'); // the control: the artifacts were dumped
    const found = [...secrets].filter(([value, what]) => what === 'an opaque access token' && dump.includes(value));
    expect(found).toEqual([]);
  });
});

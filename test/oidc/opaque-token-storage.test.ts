import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Clock } from '../../src/lib/clock.ts';
import { getToken, introspect, revoke } from '../support/downstream.ts';
import { makeApi, makeClient } from '../support/fixtures.ts';
import { newMasterKey, startTestServer, type TestServer } from '../support/server.ts';
import { createTestDatabase, TEST_DB, type TestDatabase } from '../support/test-database.ts';

/**
 * Opaque tokens are stored as keyed digests with sealed payloads (issue 8 item 9): a read of the
 * database yields no live token, and the tokens still work: introspection, revocation, expiry, and
 * tokens stored by an earlier version survive the upgrade.
 */

async function opaqueClient(server: TestServer) {
  const api = await makeApi(server.services, { accessTokenFormat: 'opaque', scopes: ['read'] });
  return { api, ...(await makeClient(server.services, { apis: [{ identifier: api.identifier }] })) };
}

/** Every row of oidc_artifacts, every column, as text. */
async function artifactRows(server: TestServer): Promise<string> {
  const rows = await server.sql<{ row: string }>('SELECT row_to_json(t)::text AS row FROM oidc_artifacts t');
  return rows.map((r) => r.row).join('\n');
}

describe('opaque access tokens at rest', () => {
  let server: TestServer;
  let offsetSeconds = 0;
  const clock: Clock = {
    now: () => new Date(Date.now() + offsetSeconds * 1000),
    epoch: () => Math.floor(Date.now() / 1000) + offsetSeconds,
  };
  beforeAll(async () => {
    server = await startTestServer({ clock });
  });
  afterAll(() => server?.close());

  it('stores no column holding the token, yet introspects it active and revokes it (RFC 7662, RFC 7009)', async () => {
    const setup = await opaqueClient(server);
    const token = (await getToken(server.url, setup)).access_token;
    const rows = await artifactRows(server);
    expect(rows).toContain('ClientCredentials'); // the control: the row is there
    expect(rows).not.toContain(token);

    const active = await introspect(server.url, setup, token);
    expect(active.body).toMatchObject({ active: true, client_id: setup.clientId, aud: setup.api.identifier, scope: 'read' });
    expect((await revoke(server.url, setup, token)).status).toBe(200);
    expect((await introspect(server.url, setup, token)).body).toEqual({ active: false });
  });

  it('answers active: false once the token expires, and the janitor removes its row', async () => {
    const setup = await opaqueClient(server);
    const issued = await getToken(server.url, setup);
    expect((await introspect(server.url, setup, issued.access_token)).body).toMatchObject({ active: true });
    const count = async () => (await server.sql<{ n: number }>('SELECT count(*)::int AS n FROM oidc_artifacts'))[0]?.n;
    const before = await count();
    offsetSeconds = issued.expires_in + 1;
    try {
      expect((await introspect(server.url, setup, issued.access_token)).body).toEqual({ active: false });
      expect(await server.services.artifacts.deleteExpired()).toBeGreaterThanOrEqual(1);
      expect(await count()).toBeLessThan(before as number);
    } finally {
      offsetSeconds = 0;
    }
  });
});

/** As the adapter before digests stored a client-credentials token (oidc-artifact.store.ts at 49b43ec). */
async function insertLegacyToken(server: TestServer, setup: Awaited<ReturnType<typeof opaqueClient>>, token: string) {
  const iat = Math.floor(Date.now() / 1000);
  const payload = {
    aud: setup.api.identifier,
    exp: iat + 3600,
    iat,
    jti: token,
    kind: 'ClientCredentials',
    scope: 'read',
    clientId: setup.clientId,
  };
  await server.sql(
    `INSERT INTO oidc_artifacts (model, id, payload, grant_id, user_code, uid, expires_at)
     VALUES ('ClientCredentials', $1, $2::jsonb, NULL, NULL, NULL, $3::timestamptz)`,
    [token, JSON.stringify(payload), new Date((iat + 3600) * 1000).toISOString()],
  );
}

/** A value shaped as oidc-provider's opaque tokens (nanoid, 256 bits). */
const legacyValue = () => Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('base64url');

describe('opaque access tokens stored by an earlier version', () => {
  let db: TestDatabase;
  const env = { MASTER_KEY: newMasterKey() };
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(() => db?.drop());

  it('are rewritten when the server starts and still introspect active, then revoke', async () => {
    const before = await startTestServer({ db, env });
    const setup = await opaqueClient(before);
    const [kept, revoked] = [legacyValue(), legacyValue()];
    await insertLegacyToken(before, setup, kept);
    await insertLegacyToken(before, setup, revoked);
    await before.close();

    const after = await startTestServer({ db, env });
    try {
      expect(after.logs.text).toContain('digested the ids of stored oidc artifacts');
      const rows = await artifactRows(after);
      expect(rows).toContain('ClientCredentials');
      expect(rows).not.toContain(kept);
      expect(rows).not.toContain(revoked);
      expect((await introspect(after.url, setup, kept)).body).toMatchObject({ active: true, client_id: setup.clientId, scope: 'read' });
      expect((await revoke(after.url, setup, revoked)).status).toBe(200);
      expect((await introspect(after.url, setup, revoked)).body).toEqual({ active: false });
      expect((await introspect(after.url, setup, kept)).body).toMatchObject({ active: true });
    } finally {
      await after.close();
    }
  });

  // Only PostgreSQL is shared by servers of two versions: one process owns an embedded database.
  it.skipIf(TEST_DB !== 'postgres')(
    'written by a server of the earlier version while this one runs, are rewritten by the janitor [PostgreSQL]',
    async () => {
      const server = await startTestServer({ db, env });
      try {
        const setup = await opaqueClient(server);
        const token = legacyValue();
        await insertLegacyToken(server, setup, token);
        expect(await server.services.artifacts.sealLegacyRows()).toBe(1);
        expect(await artifactRows(server)).not.toContain(token);
        expect((await introspect(server.url, setup, token)).body).toMatchObject({ active: true });
      } finally {
        await server.close();
      }
    },
  );
});

describe.skipIf(TEST_DB !== 'postgres')(
  'opaque tokens of an earlier version, several instances starting at once [PostgreSQL only: PGlite has one process]',
  () => {
    let db: TestDatabase;
    afterAll(() => db?.drop());

    it('rewrites each row once and every instance reads the tokens', async () => {
      db = await createTestDatabase();
      const env = { MASTER_KEY: newMasterKey() };
      const first = await startTestServer({ db, env });
      const setup = await opaqueClient(first);
      const tokens = Array.from({ length: 30 }, legacyValue);
      for (const token of tokens) await insertLegacyToken(first, setup, token);
      await first.close();

      const [a, b] = await Promise.all([startTestServer({ db, env }), startTestServer({ db, env })]);
      try {
        const rewritten = [a, b].map((s) => s.logs.records().find((r) => r.msg === 'digested the ids of stored oidc artifacts')?.rows ?? 0);
        expect((rewritten[0] as number) + (rewritten[1] as number)).toBe(tokens.length);
        const rows = await artifactRows(a);
        for (const token of tokens) expect(rows).not.toContain(token);
        for (const s of [a, b]) expect((await introspect(s.url, setup, tokens[0] as string)).body).toMatchObject({ active: true });
      } finally {
        await Promise.all([a.close(), b.close()]);
      }
    });
  },
);

import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.ts';
import { createChangeBus } from '../../src/db/change-bus.ts';
import { type Database, openDatabase, type PrismaClient } from '../../src/db/database.ts';
import { createOidcArtifactService, type OidcArtifactService } from '../../src/domain/oidc-artifacts/oidc-artifact.service.ts';
import { createOidcArtifactStore } from '../../src/domain/oidc-artifacts/oidc-artifact.store.ts';
import type { Clock } from '../../src/lib/clock.ts';
import { createLogger } from '../../src/lib/logger.ts';
import { deriveKeys } from '../../src/lib/secrets.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-database.ts';

/**
 * oidc-provider's stored models hold no bearer value (issue 8 item 9, DESIGN.md §5): ids and user
 * codes are stored as keyed digests, payloads sealed. Every statement the store sends is recorded
 * (a pass-through around the real database), so the tests can say what reached the database and
 * how many queries a lookup cost.
 */

/** A value as oidc-provider makes them (nanoid, 256 bits). */
const bearer = () => randomBytes(32).toString('base64url');

describe('oidc artifacts at rest', () => {
  let testDb: TestDatabase;
  let db: Database;
  let artifacts: OidcArtifactService;
  /** every statement's parameters (and Prisma's arguments), as text */
  const statements: string[] = [];
  let offsetMs = 0;
  const clock: Clock = { now: () => new Date(Date.now() + offsetMs), epoch: () => Math.floor((Date.now() + offsetMs) / 1000) };

  beforeAll(async () => {
    testDb = await createTestDatabase();
    db = await openDatabase(loadConfig({ NODE_ENV: 'test', ...testDb.env }).database, {
      log: createLogger({ level: 'silent' }),
      role: 'test',
    });
    const record = (what: unknown) => statements.push(JSON.stringify(what));
    const recorded: Database = {
      ...db,
      sql: (text, params) => {
        record(params);
        return db.sql(text, params);
      },
      rawTransaction: (fn) =>
        db.rawTransaction((tx) =>
          fn({
            exec: (script) => tx.exec(script),
            query: (text, params) => {
              record(params ?? []);
              return tx.query(text, params);
            },
          }),
        ),
      prisma: db.prisma.$extends({
        query: {
          $allOperations({ args, query }) {
            record(args);
            return query(args);
          },
        },
      }) as unknown as PrismaClient,
    };
    const keys = deriveKeys(randomBytes(32));
    const bus = createChangeBus(db, createLogger({ level: 'silent' }));
    artifacts = createOidcArtifactService({
      store: createOidcArtifactStore(recorded, bus, clock),
      bus,
      clock,
      idKey: keys.artifactIdKey,
      payloadKey: keys.artifactPayloadKey,
    });
  });
  afterAll(async () => {
    await db?.close();
    await testDb?.drop();
  });
  beforeEach(() => {
    offsetMs = 0;
    artifacts.clear();
  });

  /** Every row of the table, every column, as text. */
  const dump = async () =>
    (await db.sql<{ row: string }>('SELECT row_to_json(t)::text AS row FROM oidc_artifacts t', [])).map((r) => r.row).join('\n');

  const queriesDuring = async (fn: () => Promise<unknown>) => {
    const before = statements.length;
    await fn();
    return statements.length - before;
  };

  it('keeps every bearer value out of the table and out of every statement, notifications included', async () => {
    const token = bearer();
    const deviceCode = bearer();
    const userCode = 'BCDFGHJK';
    const sessionId = bearer();
    const interactionUid = bearer();
    const parId = bearer();
    const before = statements.length;
    await artifacts.upsert(
      'ClientCredentials',
      token,
      { jti: token, kind: 'ClientCredentials', clientId: 'c1', aud: 'https://api.example.test', scope: 'read' },
      3600,
    );
    await artifacts.upsert('DeviceCode', deviceCode, { jti: deviceCode, kind: 'DeviceCode', userCode, grantId: 'g1' }, 600);
    await artifacts.upsert('Session', sessionId, { jti: sessionId, kind: 'Session', uid: 'session-uid-1', accountId: 'a1' }, 600);
    await artifacts.upsert(
      'Interaction',
      interactionUid,
      {
        jti: interactionUid,
        kind: 'Interaction',
        returnTo: `https://issuer.example.test/oauth/auth/${interactionUid}`,
        deviceCode,
        parJti: parId,
        session: { uid: 'session-uid-1', cookie: sessionId, accountId: 'a1' },
      },
      600,
    );
    expect(await artifacts.locate(token, ['AccessToken', 'ClientCredentials'])).toBe('ClientCredentials');
    expect((await artifacts.find('DeviceCode', deviceCode))?.jti).toBe(deviceCode);
    expect((await artifacts.findByUserCode('DeviceCode', userCode))?.jti).toBe(deviceCode);
    expect((await artifacts.findByUid('Session', 'session-uid-1'))?.jti).toBe(sessionId);
    await artifacts.consume('DeviceCode', deviceCode);
    await artifacts.destroy('Interaction', interactionUid);

    const table = await dump();
    expect(table).toContain('ClientCredentials'); // the control: the rows are there
    const sent = statements.slice(before).join('\n');
    expect(sent).toMatch(/gatehouse_changes.*digest/); // the control: notifications were recorded
    for (const value of [token, deviceCode, userCode, sessionId, interactionUid, parId]) {
      expect(table).not.toContain(value);
      expect(sent).not.toContain(value);
    }
  });

  it('gives oidc-provider its payload back, jti included, by id, user code and uid', async () => {
    const token = bearer();
    const payload = { jti: token, kind: 'AccessToken', clientId: 'c1', grantId: 'g2', extra: { tenant: 't1' }, scope: 'openid' };
    await artifacts.upsert('AccessToken', token, payload, 3600);
    expect(await artifacts.find('AccessToken', token)).toEqual(payload);
    expect(await artifacts.find('RefreshToken', token)).toBeUndefined(); // ids are per model
    expect(await artifacts.find('AccessToken', bearer())).toBeUndefined();

    const code = bearer();
    await artifacts.upsert('DeviceCode', code, { jti: code, kind: 'DeviceCode', userCode: 'WXYZWXYZ' }, 600);
    expect(await artifacts.findByUserCode('DeviceCode', 'WXYZWXYZ')).toEqual({ jti: code, kind: 'DeviceCode', userCode: 'WXYZWXYZ' });
    expect(await artifacts.findByUserCode('DeviceCode', 'WXYZWXYQ')).toBeUndefined();
  });

  it('costs one query to locate an unknown or uncached token and none once it is cached (the token inspector)', async () => {
    const token = bearer();
    await artifacts.upsert('ClientCredentials', token, { jti: token, kind: 'ClientCredentials', clientId: 'c1' }, 3600);
    const models = ['AccessToken', 'ClientCredentials', 'RefreshToken'];
    expect(await queriesDuring(() => artifacts.locate(bearer(), models))).toBe(1);
    expect(await queriesDuring(() => artifacts.locate(token, models))).toBe(1);
    // The inspector then loads the model it located, and every later introspection does both.
    expect(await queriesDuring(() => artifacts.find('ClientCredentials', token))).toBe(0);
    expect(await queriesDuring(() => artifacts.locate(token, models))).toBe(0);
  });

  it('consumes atomically, destroys, revokes by grant and purges expired rows', async () => {
    const [code, access, refresh, other] = [bearer(), bearer(), bearer(), bearer()];
    await artifacts.upsert('AuthorizationCode', code, { jti: code, kind: 'AuthorizationCode', grantId: 'g3' }, 60);
    await artifacts.upsert('AccessToken', access, { jti: access, kind: 'AccessToken', grantId: 'g3' }, 3600);
    await artifacts.upsert('RefreshToken', refresh, { jti: refresh, kind: 'RefreshToken', grantId: 'g3' }, 86400);
    await artifacts.upsert('AccessToken', other, { jti: other, kind: 'AccessToken', grantId: 'g4' }, 3600);

    await artifacts.consume('AuthorizationCode', code);
    expect((await artifacts.find('AuthorizationCode', code))?.consumed).toEqual(expect.any(Number));

    expect(await artifacts.find('AccessToken', other)).toBeDefined(); // cached now
    await artifacts.destroy('AccessToken', other);
    expect(await artifacts.find('AccessToken', other)).toBeUndefined();

    expect(await artifacts.find('RefreshToken', refresh)).toBeDefined();
    await artifacts.revokeByGrantId('g3');
    for (const [model, id] of [
      ['AuthorizationCode', code],
      ['AccessToken', access],
      ['RefreshToken', refresh],
    ] as const) {
      expect(await artifacts.find(model, id)).toBeUndefined();
    }

    const shortLived = bearer();
    await artifacts.upsert('ClientCredentials', shortLived, { jti: shortLived, kind: 'ClientCredentials' }, 60);
    expect(await artifacts.find('ClientCredentials', shortLived)).toBeDefined();
    offsetMs = 61_000;
    expect(await artifacts.find('ClientCredentials', shortLived)).toBeUndefined();
    expect(await artifacts.deleteExpired()).toBeGreaterThanOrEqual(1);
  });

  it('lets exactly one of many concurrent consumes of one row win, and none of a consumed or missing row', async () => {
    const refresh = bearer();
    await artifacts.upsert('RefreshToken', refresh, { jti: refresh, kind: 'RefreshToken', grantId: 'g5' }, 86400);
    const results = await Promise.all(Array.from({ length: 8 }, () => artifacts.consume('RefreshToken', refresh)));
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(await artifacts.consume('RefreshToken', refresh)).toBe(false);
    expect(await artifacts.consume('RefreshToken', bearer())).toBe(false);
    // The consumed row stays readable, consumed: oidc-provider's reuse detection needs it.
    expect((await artifacts.find('RefreshToken', refresh))?.consumed).toEqual(expect.any(Number));
  });

  it('finds the newest row stored with a lookup key, and nothing under another key', async () => {
    const [older, newer] = [bearer(), bearer()];
    await artifacts.upsert(
      'Grant',
      older,
      { jti: older, kind: 'Grant', accountId: 'person-7f3a', clientId: 'client-9c2e' },
      60,
      'person-7f3a\u0000client-9c2e',
    );
    await artifacts.upsert(
      'Grant',
      newer,
      { jti: newer, kind: 'Grant', accountId: 'person-7f3a', clientId: 'client-9c2e' },
      600,
      'person-7f3a\u0000client-9c2e',
    );
    expect((await artifacts.findByLookup('Grant', 'person-7f3a\u0000client-9c2e'))?.jti).toBe(newer);
    expect(await artifacts.findByLookup('Grant', 'person-7f3a\u0000client-other')).toBeUndefined();
    // The key is stored as a keyed digest: neither the account nor the client appears in it.
    expect(await dump()).not.toMatch(/person-7f3a|client-9c2e/);
  });

  it('does not open a payload moved to another row', async () => {
    const [a, b] = [bearer(), bearer()];
    await artifacts.upsert('AccessToken', a, { jti: a, kind: 'AccessToken', scope: 'admin' }, 3600);
    await artifacts.upsert('AccessToken', b, { jti: b, kind: 'AccessToken', scope: 'read' }, 3600);
    const rows = await db.sql<{ id: string; payload: unknown }>(
      `SELECT id, payload FROM oidc_artifacts WHERE model = 'AccessToken' ORDER BY expires_at DESC LIMIT 2`,
      [],
    );
    expect(rows).toHaveLength(2);
    // Copy each row's sealed payload onto the other: a database writer cannot trade scopes.
    await db.sql(`UPDATE oidc_artifacts SET payload = $1::jsonb WHERE model = 'AccessToken' AND id = $2`, [
      JSON.stringify(rows[0]?.payload),
      rows[1]?.id,
    ]);
    await db.sql(`UPDATE oidc_artifacts SET payload = $1::jsonb WHERE model = 'AccessToken' AND id = $2`, [
      JSON.stringify(rows[1]?.payload),
      rows[0]?.id,
    ]);
    expect(await artifacts.find('AccessToken', a)).toBeUndefined();
    expect(await artifacts.find('AccessToken', b)).toBeUndefined();
  });

  it('rewrites rows an earlier version stored in plain text, once, keeping a newer row of the same id', async () => {
    const [token, code, rewritten] = [bearer(), bearer(), bearer()];
    const expiresAt = new Date(Date.now() + 3_600_000).toISOString();
    const legacy = async (model: string, id: string, payload: Record<string, unknown>, userCode: string | null) =>
      // As the store before digests wrote them (oidc-artifact.store.ts at 49b43ec).
      db.sql(
        `INSERT INTO oidc_artifacts (model, id, payload, grant_id, user_code, uid, expires_at)
         VALUES ($1, $2, $3::jsonb, $4, $5, $6, $7::timestamptz)`,
        [model, id, JSON.stringify(payload), payload.grantId ?? null, userCode, payload.uid ?? null, expiresAt],
      );
    await legacy('ClientCredentials', token, { jti: token, kind: 'ClientCredentials', clientId: 'c9', scope: 'read' }, null);
    await legacy('DeviceCode', code, { jti: code, kind: 'DeviceCode', userCode: 'LMNPLMNP', grantId: 'g9' }, 'LMNPLMNP');
    await legacy('Session', rewritten, { jti: rewritten, kind: 'Session', uid: 'u9', accountId: 'old' }, null);
    await db.sql(`UPDATE oidc_artifacts SET consumed_at = now() WHERE model = 'DeviceCode' AND id = $1`, [code]);
    // Upgraded code saved the session again meanwhile: its row wins.
    await artifacts.upsert('Session', rewritten, { jti: rewritten, kind: 'Session', uid: 'u9', accountId: 'new' }, 600);
    expect(await artifacts.find('ClientCredentials', token)).toBeUndefined(); // unreadable until rewritten

    expect(await artifacts.sealLegacyRows()).toBe(3);
    expect(await artifacts.sealLegacyRows()).toBe(0);

    expect(await artifacts.find('ClientCredentials', token)).toEqual({
      jti: token,
      kind: 'ClientCredentials',
      clientId: 'c9',
      scope: 'read',
    });
    expect(await artifacts.findByUserCode('DeviceCode', 'LMNPLMNP')).toMatchObject({ jti: code, consumed: expect.any(Number) });
    expect((await artifacts.findByUid('Session', 'u9'))?.accountId).toBe('new');
    await artifacts.revokeByGrantId('g9');
    expect(await artifacts.find('DeviceCode', code)).toBeUndefined();
    const table = await dump();
    for (const value of [token, code, rewritten, 'LMNPLMNP']) expect(table).not.toContain(value);
  });
});

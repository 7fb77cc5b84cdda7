import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/database.ts';
import { basicAuth, makeMachineSetup } from '../support/fixtures.ts';
import { useTwoInstances } from '../support/instances.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { TEST_DB } from '../support/test-database.ts';
import { expectOAuthError, FORM, type RawResponse, send } from '../support/tokens.ts';

/**
 * Failed client authentication is throttled per presented client id and per IP, with counts shared
 * by every instance (issue 8, item 13; README "Security model"): past the limit a failure gets 429
 * `invalid_client` with `Retry-After`, while a correct secret keeps working from the same client id
 * and IP. Small limits here: 3 failures per client id, 5 per IP, per minute.
 */

const PER_CLIENT = 3;
const PER_IP = 5;
const BLOCK_SECONDS = 30;
const LIMITS = {
  TRUST_PROXY: 'true', // lets a test pick its client IP with X-Forwarded-For
  CLIENT_AUTH_MAX_FAILURES_PER_CLIENT_PER_MINUTE: String(PER_CLIENT),
  CLIENT_AUTH_MAX_FAILURES_PER_IP_PER_MINUTE: String(PER_IP),
  CLIENT_AUTH_BLOCK_SECONDS: String(BLOCK_SECONDS),
  CLIENT_AUTH_MAX_BLOCK_SECONDS: '60',
};
const BLOCKED_MESSAGE = 'client authentication blocked: too many failures';

let ipCounter = randomBytes(2).readUInt16BE() * 64;
/** A client IP no other test uses (requests carry it in X-Forwarded-For). */
function freshIp(): string {
  const n = ipCounter++;
  return `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
}
const unknownClientId = () => `unknown-${randomBytes(6).toString('hex')}`;
const wrongSecret = () => `wrong-${randomBytes(16).toString('base64url')}`;

type Client = { clientId: string; clientSecret: string };
type Method = 'client_secret_basic' | 'client_secret_post';

interface Endpoint {
  name: string;
  server: () => TestServer;
  path: string;
  form: Record<string, string>;
}

/** One client-authenticated POST to `endpoint`, from `ip`. */
function attempt(endpoint: Endpoint, credentials: Client, ip: string, method: Method = 'client_secret_basic'): Promise<RawResponse> {
  const form = { ...endpoint.form };
  const headers: Record<string, string> = { 'content-type': FORM, 'x-forwarded-for': ip };
  if (method === 'client_secret_basic') headers.authorization = basicAuth(credentials.clientId, credentials.clientSecret);
  else Object.assign(form, { client_id: credentials.clientId, client_secret: credentials.clientSecret });
  return send(`${endpoint.server().url}${endpoint.path}`, { headers, body: new URLSearchParams(form).toString() });
}

/** RFC 6585 §4 with an RFC 6749 §5.2 body, and no challenge (a 429 is not a 401). */
function expectBlocked(res: RawResponse, maxSeconds = BLOCK_SECONDS): number {
  expectOAuthError(res, 429, 'invalid_client');
  const retryAfter = Number(res.headers.get('retry-after'));
  expect(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= maxSeconds, `Retry-After: ${retryAfter}`).toBe(true);
  expect(res.json?.error_description).toBe(`too many failed attempts; retry after ${retryAfter} s`);
  expect(res.headers.get('www-authenticate')).toBeNull();
  return retryAfter;
}

/** Wraps `database.sql` (every statement the throttle sends goes through it) to count calls. */
function countStatements(database: Database) {
  const original = database.sql;
  let count = 0;
  database.sql = ((text: string, params: unknown[]) => {
    count++;
    return original(text, params);
  }) as Database['sql'];
  return {
    take(): number {
      const n = count;
      count = 0;
      return n;
    },
    restore(): void {
      database.sql = original;
    },
  };
}

describe('client authentication throttle', () => {
  let fast: TestServer;
  let slow: TestServer;
  beforeAll(async () => {
    [fast, slow] = await Promise.all([startTestServer({ env: LIMITS }), startTestServer({ env: { ...LIMITS, TOKEN_FAST_PATH: 'false' } })]);
  });
  afterAll(async () => {
    await Promise.all([fast?.close(), slow?.close()]);
  });

  const ENDPOINTS: Endpoint[] = [
    { name: 'token, fast path', server: () => fast, path: '/oauth/token', form: { grant_type: 'client_credentials' } },
    { name: 'token, TOKEN_FAST_PATH=false', server: () => slow, path: '/oauth/token', form: { grant_type: 'client_credentials' } },
    { name: 'introspection', server: () => fast, path: '/oauth/introspect', form: { token: 'not-a-token' } },
    { name: 'revocation', server: () => fast, path: '/oauth/revoke', form: { token: 'not-a-token' } },
  ];
  const CASES = ENDPOINTS.flatMap((e) =>
    (['client_secret_basic', 'client_secret_post'] as const).map((m) => [`${e.name}, ${m}`, e, m] as const),
  );

  describe.each(CASES)('[%s]', (_label, endpoint, method) => {
    it('answers 401 up to the per-client-id limit, then 429 with Retry-After, while the right secret still works', async () => {
      const client = await makeMachineSetup(endpoint.server().services);
      const wrong = { clientId: client.clientId, clientSecret: wrongSecret() };
      // each from another IP: only the client id's count grows
      for (let i = 0; i < PER_CLIENT; i++) expectOAuthError(await attempt(endpoint, wrong, freshIp(), method), 401, 'invalid_client');
      expectBlocked(await attempt(endpoint, wrong, freshIp(), method));
      const ip = freshIp();
      expectBlocked(await attempt(endpoint, wrong, ip, method));
      // DESIGN.md §5: a block is no lock an attacker can use: the real client is served from the same IP.
      const ok = await attempt(endpoint, client, ip, method);
      expect(ok.status, ok.text).toBe(200);
      expectBlocked(await attempt(endpoint, { ...wrong, clientSecret: wrongSecret() }, ip, method));
    });
  });

  it.each(ENDPOINTS.map((e) => [e.name, e] as const))(
    'treats an unknown client id exactly like a known one with a wrong secret [%s]',
    async (_label, endpoint) => {
      const known = await makeMachineSetup(endpoint.server().services);
      const sequence = async (clientId: string) => {
        const seen: string[] = [];
        for (let i = 0; i < PER_CLIENT + 2; i++) {
          const res = await attempt(endpoint, { clientId, clientSecret: wrongSecret() }, freshIp());
          seen.push(`${res.status} ${res.json?.error} ${res.headers.get('retry-after') === null ? '' : 'Retry-After'}`);
        }
        return seen;
      };
      const forKnown = await sequence(known.clientId);
      expect(await sequence(unknownClientId())).toEqual(forKnown);
      expect(forKnown.map((s) => s.split(' ')[0])).toEqual(['401', '401', '401', '429', '429']);
    },
  );

  it('blocks an IP that rotates client ids, and serves correct secrets from it', async () => {
    const client = await makeMachineSetup(fast.services);
    const ip = freshIp();
    const atFast = [ENDPOINTS[0], ENDPOINTS[2], ENDPOINTS[3]] as Endpoint[];
    for (let i = 0; i < PER_IP; i++) {
      const res = await attempt(atFast[i % 3] as Endpoint, { clientId: unknownClientId(), clientSecret: wrongSecret() }, ip);
      expectOAuthError(res, 401, 'invalid_client');
    }
    for (const endpoint of atFast) {
      expectBlocked(await attempt(endpoint, { clientId: unknownClientId(), clientSecret: wrongSecret() }, ip));
      // a known client id that has never failed, but from the blocked IP
      expectBlocked(await attempt(endpoint, { clientId: client.clientId, clientSecret: wrongSecret() }, ip));
      const ok = await attempt(endpoint, client, ip);
      expect(ok.status, `${endpoint.name}: ${ok.text}`).toBe(200);
    }
    // other IPs are not affected
    expectOAuthError(
      await attempt(ENDPOINTS[0] as Endpoint, { clientId: unknownClientId(), clientSecret: wrongSecret() }, freshIp()),
      401,
      'invalid_client',
    );
  });

  it('counts the address its proxy saw: earlier X-Forwarded-For entries the client sent do not change it', async () => {
    const proxied = freshIp();
    const endpoint = ENDPOINTS[2] as Endpoint;
    const statuses: number[] = [];
    for (let i = 0; i < PER_IP + 2; i++) {
      const res = await attempt(endpoint, { clientId: unknownClientId(), clientSecret: wrongSecret() }, `${freshIp()}, ${proxied}`);
      statuses.push(res.status);
    }
    expect(statuses).toEqual([...Array(PER_IP).fill(401), 429, 429]);
  });

  it('groups IPv6 clients by /64', async () => {
    const prefix = `2001:db8:${randomBytes(2).toString('hex')}:${randomBytes(2).toString('hex')}`;
    const statuses: number[] = [];
    for (let i = 0; i < PER_IP + 1; i++) {
      const res = await attempt(
        ENDPOINTS[2] as Endpoint,
        { clientId: unknownClientId(), clientSecret: wrongSecret() },
        `${prefix}::${i + 1}`,
      );
      statuses.push(res.status);
    }
    expect(statuses).toEqual([...Array(PER_IP).fill(401), 429]);
  });

  it('logs each block once, at info, with the client id and IP and never a secret', async () => {
    const client = await makeMachineSetup(fast.services);
    const secrets = [wrongSecret(), wrongSecret(), wrongSecret(), wrongSecret(), wrongSecret(), wrongSecret()];
    const ip = freshIp();
    for (const [i, secret] of secrets.entries()) {
      // from one IP below its limit (PER_IP = 5 > 4 counted failures), then blocked by client id
      await attempt(
        i % 2 ? (ENDPOINTS[0] as Endpoint) : (ENDPOINTS[2] as Endpoint),
        { clientId: client.clientId, clientSecret: secret },
        ip,
      );
    }
    const lines = fast.logs.records().filter((r) => r.msg === BLOCKED_MESSAGE && r.clientId === client.clientId);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 'info', limit: 'client_id', clientId: client.clientId, ip, blockSeconds: BLOCK_SECONDS });
    expect(lines[0]?.reqId).toEqual(expect.any(String));
    for (const secret of [...secrets, client.clientSecret]) expect(fast.logs.text).not.toContain(secret);
  });

  it('costs no database statement for failures from a blocked source', async () => {
    const client = await makeMachineSetup(fast.services);
    const ip = freshIp();
    const counter = countStatements(fast.database);
    try {
      const wrong = () => ({ clientId: client.clientId, clientSecret: wrongSecret() });
      for (let i = 0; i < PER_CLIENT; i++) expectOAuthError(await attempt(ENDPOINTS[2] as Endpoint, wrong(), ip), 401, 'invalid_client');
      expectBlocked(await attempt(ENDPOINTS[2] as Endpoint, wrong(), ip));
      const counting = counter.take();
      // On PostgreSQL the counts are shared, so counting them took statements (this shows the
      // counter sees the throttle's statements); on PGlite they are in memory.
      if (TEST_DB === 'postgres') expect(counting).toBeGreaterThanOrEqual(PER_CLIENT + 1);
      else expect(counting).toBe(0);

      const flood = Array.from({ length: 200 }, (_, i) => {
        const endpoint = [ENDPOINTS[0], ENDPOINTS[2], ENDPOINTS[3]][i % 3] as Endpoint;
        return () => attempt(endpoint, wrong(), ip, i % 2 ? 'client_secret_post' : 'client_secret_basic');
      });
      const statuses: number[] = [];
      for (let i = 0; i < flood.length; i += 20) {
        statuses.push(...(await Promise.all(flood.slice(i, i + 20).map((send) => send()))).map((r) => r.status));
      }
      expect(new Set(statuses)).toEqual(new Set([429]));
      expect(counter.take(), 'statements during a flood of 200 failures from a blocked source').toBe(0);
    } finally {
      counter.restore();
    }
  });
  it('costs no database statement for failures that each present a new client id from a new address [default limits]', async () => {
    // Default limits (20 per client id, 100 per address): counts are shared in steps of 4 and 20.
    const server = await startTestServer({ env: { TRUST_PROXY: 'true' } });
    const counter = countStatements(server.database);
    try {
      const flood = Array.from({ length: 100 }, (_, i) => {
        const endpoint: Endpoint = { ...(ENDPOINTS[[0, 2, 3][i % 3] as number] as Endpoint), server: () => server };
        return () => attempt(endpoint, { clientId: `made-up-${i}-${wrongSecret().slice(5, 15)}`, clientSecret: wrongSecret() }, freshIp());
      });
      for (let i = 0; i < flood.length; i += 20) {
        for (const res of await Promise.all(flood.slice(i, i + 20).map((send) => send()))) expect(res.status).toBe(401);
      }
      // Counts reach the shared store only in steps of a fifth of a limit (src/http/client-auth-
      // throttle.ts): a key seen once never does, so this anonymous flood writes nothing.
      expect(counter.take(), 'statements during a flood of one-off client ids and addresses').toBe(0);
    } finally {
      counter.restore();
      await server.close();
    }
  });
  // Only PostgreSQL keeps the counts in the database; PGlite keeps them in memory.
  it.runIf(TEST_DB === 'postgres')('keeps counting in memory while its statements fail, answering 401 then 429, never 500', async () => {
    const client = await makeMachineSetup(fast.services);
    const original = fast.database.sql;
    fast.database.sql = (() => Promise.reject(new Error('Connection terminated unexpectedly'))) as Database['sql'];
    try {
      const endpoint = ENDPOINTS[2] as Endpoint;
      const wrong = () => ({ clientId: client.clientId, clientSecret: wrongSecret() });
      for (let i = 0; i < PER_CLIENT; i++) expectOAuthError(await attempt(endpoint, wrong(), freshIp()), 401, 'invalid_client');
      expectBlocked(await attempt(endpoint, wrong(), freshIp()));
      const ok = await attempt(endpoint, client, freshIp());
      expect(ok.status, ok.text).toBe(200);
    } finally {
      fast.database.sql = original;
    }
  });
});

describe('client authentication throttle: blocks end and grow', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({
      env: { ...LIMITS, CLIENT_AUTH_BLOCK_SECONDS: '1', CLIENT_AUTH_MAX_BLOCK_SECONDS: '2' },
    });
  });
  afterAll(() => server?.close());

  it('a block ends after its time, and the next one of the same client id lasts twice as long, up to the bound', async () => {
    const endpoint: Endpoint = { name: 'introspection', server: () => server, path: '/oauth/introspect', form: { token: 'x' } };
    const client = await makeMachineSetup(server.services);
    const fail = () => attempt(endpoint, { clientId: client.clientId, clientSecret: wrongSecret() }, freshIp());
    /** `failures` failures answered 401, then the next one 429: its Retry-After. */
    const failUntilBlocked = async (failures: number): Promise<number> => {
      for (let i = 0; i < failures; i++) expectOAuthError(await fail(), 401, 'invalid_client');
      return expectBlocked(await fail(), 2);
    };
    /** Fails every 100 ms while blocked; the first failure after the block is 401 again (and counts). */
    const failUntilUnblocked = async (): Promise<void> => {
      const deadline = Date.now() + 10_000;
      let res = await fail();
      while (res.status === 429 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 100));
        res = await fail();
      }
      expectOAuthError(res, 401, 'invalid_client');
    };

    const started = Date.now();
    expect(await failUntilBlocked(PER_CLIENT)).toBe(1);
    await failUntilUnblocked();
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    // the failure that found the block over opened a new window: one fewer before the next block
    expect(await failUntilBlocked(PER_CLIENT - 1), 'the second block: 1 s doubled').toBe(2);
    await failUntilUnblocked();
    expect(await failUntilBlocked(PER_CLIENT - 1), 'the third: 4 s, bounded by CLIENT_AUTH_MAX_BLOCK_SECONDS=2').toBe(2);
    const lines = server.logs.records().filter((r) => r.msg === BLOCKED_MESSAGE && r.clientId === client.clientId);
    expect(lines.map((l) => l.blockSeconds)).toEqual([1, 2, 2]);
  });
});

// PGlite is one process per database: sharing between instances only exists on PostgreSQL.
describe.runIf(TEST_DB === 'postgres')('client authentication throttle: two instances on one PostgreSQL database', () => {
  const instances = useTwoInstances({ ...LIMITS, CLIENT_AUTH_MAX_FAILURES_PER_IP_PER_MINUTE: '1000' });

  it('share one count per client id and one block', async () => {
    const { a, b } = instances;
    const client = await makeMachineSetup(a.services);
    const at = (server: TestServer): Endpoint => ({
      name: 'token',
      server: () => server,
      path: '/oauth/token',
      form: { grant_type: 'client_credentials' },
    });
    const wrong = () => ({ clientId: client.clientId, clientSecret: wrongSecret() });
    const ip = freshIp();
    expectOAuthError(await attempt(at(a), wrong(), ip), 401, 'invalid_client');
    expectOAuthError(await attempt(at(b), wrong(), ip), 401, 'invalid_client');
    expectOAuthError(await attempt(at(a), wrong(), ip), 401, 'invalid_client');
    // the fourth failure, the first B sees twice: blocked for both
    expectBlocked(await attempt(at(b), wrong(), ip));
    expectBlocked(await attempt(at(a), wrong(), ip));
    for (const server of [a, b]) {
      const ok = await attempt(at(server), client, ip);
      expect(ok.status, ok.text).toBe(200);
    }
    // logged once, by the instance that started the block
    const lines = [...a.logs.records(), ...b.logs.records()].filter((r) => r.msg === BLOCKED_MESSAGE && r.clientId === client.clientId);
    expect(lines).toHaveLength(1);
  });
});

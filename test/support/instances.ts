import { afterAll, beforeAll } from 'vitest';
import { newMasterKey, startTestServer, type TestServer } from './server.ts';
import { createTestDatabase, type TestDatabase } from './test-database.ts';

/**
 * Two instances of Gatehouse on one fresh database, as behind a load balancer: one master key,
 * `env` for both, and with `oneIssuer` the second announcing the first's issuer (the tokens of
 * either are the other's). For a `describe` block on PostgreSQL (PGlite is one process's); the
 * servers are `a` and `b` of the object returned, once `beforeAll` has run.
 */
export function useTwoInstances(env: Record<string, string> = {}, options: { oneIssuer?: boolean } = {}) {
  let db: TestDatabase | undefined;
  let a: TestServer | undefined;
  let b: TestServer | undefined;
  beforeAll(async () => {
    db = await createTestDatabase();
    const shared = { ...env, MASTER_KEY: newMasterKey() };
    a = await startTestServer({ db, env: shared });
    b = await startTestServer({ db, env: options.oneIssuer ? { ...shared, ISSUER: a.url } : shared });
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
    await db?.drop();
  });
  const started = (server: TestServer | undefined) => {
    if (!server) throw new Error('the instances start in beforeAll');
    return server;
  };
  return {
    get a() {
      return started(a);
    },
    get b() {
      return started(b);
    },
  };
}

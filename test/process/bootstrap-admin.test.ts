import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemPrincipal } from '../../src/domain/access/principal.ts';
import { newMasterKey, startTestServer, type TestServer } from '../support/server.ts';
import { makeWebClient, signIn } from '../support/sign-in.ts';
import { createTestDatabase, TEST_DB, type TestDatabase } from '../support/test-database.ts';

/**
 * ADMIN_USERNAME / ADMIN_PASSWORD (issue 11, "Accounts"): the bootstrap step makes the superuser
 * when no user has the name, once: a restart finds it and changes nothing (a password changed
 * since stays changed), and several instances starting at once on one PostgreSQL make it once.
 * The password is never logged.
 */
const USERNAME = 'boot-admin';
const PASSWORD = 'first admin password 1';

async function me(url: string, username: string, password: string) {
  const res = await fetch(`${url}/api/v1/me`, {
    headers: { authorization: `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}` },
  });
  return { status: res.status, body: (await res.json()) as { user?: { username: string }; is_superuser?: boolean } };
}

const adminLines = (server: TestServer) =>
  server.logs.records().filter((r) => typeof r.msg === 'string' && r.msg.startsWith('ADMIN_USERNAME'));

describe('ADMIN_USERNAME / ADMIN_PASSWORD at start', { timeout: 120_000 }, () => {
  let db: TestDatabase;
  let env: Record<string, string>;
  beforeAll(async () => {
    db = await createTestDatabase();
    env = { MASTER_KEY: newMasterKey(), ADMIN_USERNAME: USERNAME, ADMIN_PASSWORD: PASSWORD };
  });
  afterAll(() => db?.drop());

  it('creates the superuser once; a restart leaves a changed password alone; it signs in', async () => {
    const first = await startTestServer({ db, env });
    try {
      expect(adminLines(first).map((r) => r.msg)).toEqual(['ADMIN_USERNAME: created the superuser']);
      expect(first.logs.text).not.toContain(PASSWORD);
      const user = await first.services.users.findByUsername(USERNAME);
      expect(user).toMatchObject({ isSuperuser: true, isActive: true, hasPassword: true });
      // HTTP Basic on the admin API, and the sign-in page.
      expect((await me(first.url, USERNAME, PASSWORD)).body).toMatchObject({ user: { username: USERNAME }, is_superuser: true });
      const client = await makeWebClient(first.services, { skipConsent: true });
      const signed = await signIn(
        first.url,
        { clientId: client.clientId, redirectUri: client.redirectUri },
        { username: USERNAME, password: PASSWORD },
      );
      expect(signed.callback.searchParams.get('code')).toBeTruthy();
      // The admin changes their password.
      await first.services.users.setPassword(systemPrincipal, (user as { id: string }).id, 'changed admin password 2');
    } finally {
      await first.close();
    }

    const second = await startTestServer({ db, env });
    try {
      expect(adminLines(second).map((r) => r.msg)).toEqual(['ADMIN_USERNAME: the superuser exists already; left as it is']);
      expect((await me(second.url, USERNAME, PASSWORD)).status).toBe(401);
      expect((await me(second.url, USERNAME, 'changed admin password 2')).status).toBe(200);
      expect(await second.sql('SELECT count(*)::int AS n FROM users WHERE username = $1', [USERNAME])).toEqual([{ n: 1 }]);
      expect(second.logs.text).not.toContain(PASSWORD);
    } finally {
      await second.close();
    }
  });

  it('leaves a user of that name who is not a superuser as it is, and says so', async () => {
    const other = await createTestDatabase();
    const server = await startTestServer({ db: other, env: { ...env, ADMIN_USERNAME: 'somebody' } });
    try {
      await server.services.users.update(systemPrincipal, (await server.services.users.findByUsername('somebody'))?.id as string, {
        isActive: false,
      });
    } finally {
      await server.close();
    }
    const restarted = await startTestServer({ db: other, env: { ...env, ADMIN_USERNAME: 'somebody' } });
    try {
      const warned = adminLines(restarted);
      expect(warned).toHaveLength(1);
      expect(warned[0]).toMatchObject({ level: 'warn', username: 'somebody' });
      expect((await restarted.services.users.findByUsername('somebody'))?.isActive).toBe(false);
      expect((await me(restarted.url, 'somebody', PASSWORD)).status).toBe(401);
    } finally {
      await restarted.close();
      await other.drop();
    }
  });
});

describe.runIf(TEST_DB === 'postgres')('ADMIN_USERNAME with several instances starting at once', { timeout: 120_000 }, () => {
  it('creates the superuser once; every instance starts', async () => {
    const db = await createTestDatabase();
    const env = { MASTER_KEY: newMasterKey(), ADMIN_USERNAME: USERNAME, ADMIN_PASSWORD: PASSWORD };
    const servers = await Promise.all([1, 2, 3, 4].map(() => startTestServer({ db, env })));
    try {
      const lines = servers.flatMap(adminLines).map((r) => r.msg);
      expect(lines.filter((m) => m === 'ADMIN_USERNAME: created the superuser')).toHaveLength(1);
      expect(lines).toHaveLength(4);
      const rows = await servers[0]?.sql<{ n: number }>('SELECT count(*)::int AS n FROM users WHERE username = $1', [USERNAME]);
      expect(rows?.[0]?.n).toBe(1);
      for (const server of servers) expect((await me(server.url, USERNAME, PASSWORD)).status).toBe(200);
    } finally {
      await Promise.all(servers.map((s) => s.close()));
      await db.drop();
    }
  });
});

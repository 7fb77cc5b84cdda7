import { createSecretKey, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Database } from '../../src/db/database.ts';
import { systemPrincipal } from '../../src/domain/access/principal.ts';
import type { CreateApiToken } from '../../src/domain/api-tokens/api-token.schema.ts';
import { generateApiToken, MASKED_SECRET } from '../../src/domain/api-tokens/token-format.ts';
import { AppError } from '../../src/lib/app-error.ts';
import {
  type Identity,
  makeApplication,
  makeUser,
  manualClock,
  openIdentity,
  openTestDatabase,
  principalOf,
  settle,
  unique,
  wireIdentity,
} from '../support/identity.ts';
import { countStatements } from '../support/statements.ts';

const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => null,
    (err: unknown) => (err instanceof AppError ? { code: err.code, details: err.details } : { code: String(err) }),
  );

/** Runs `fn` and returns how many SQL statements it sent. */
async function statementsOf(fn: () => Promise<unknown>): Promise<number> {
  const statements = countStatements();
  try {
    await fn();
    return statements.count;
  } finally {
    statements.restore();
  }
}

describe('API token service', () => {
  const clock = manualClock();
  let env: Awaited<ReturnType<typeof openIdentity>>;
  beforeAll(async () => {
    env = await openIdentity({ clock });
    await env.permissions.ensureBuiltIn();
  });
  afterAll(() => env?.close());

  /** A user holding `permissions`, and a write token of their own. */
  const userWithToken = async (permissions: string[], input: Partial<CreateApiToken> = {}) => {
    const user = await makeUser(env, { permissions });
    const { token, secret } = await env.apiTokens.create(await principalOf(env, user.id), { userId: user.id, ...input });
    return { user, token, secret };
  };

  describe('secrets', () => {
    it('are generated in the checksummed format, returned once, stored only as a digest and masked after', async () => {
      const { token, secret } = await userWithToken(['view_user']);
      expect(secret).toMatch(/^ghat_[0-9A-Za-z]{49}$/);
      expect(token).toMatchObject({ token: MASKED_SECRET, prefix: secret.slice(0, 9), scope: 'write', isDeclared: false });
      expect(JSON.stringify(token)).not.toContain(secret);
      const row = await env.db.prisma.apiToken.findUniqueOrThrow({ where: { id: token.id } });
      expect(JSON.stringify(row)).not.toContain(secret.slice(9));
      expect(row.digest).not.toBe(secret);
      const events = await env.db.prisma.auditEvent.findMany({ where: { targetId: token.id } });
      expect(events.map((e) => e.action)).toEqual(['api_token.created']);
      expect(JSON.stringify(events)).not.toContain(secret.slice(9));
      expect(JSON.stringify(events)).not.toContain(row.digest);
      expect(await env.apiTokens.get(token.id)).toMatchObject({ token: MASKED_SECRET });
      const listed = await env.apiTokens.listForUser(token.userId, { page: 1, pageSize: 10 });
      expect(listed.items.map((t) => t.token)).toEqual([MASKED_SECRET]);
      expect(JSON.stringify(listed)).not.toContain(secret.slice(9));
    });

    it('authenticates the right secret, and nothing else', async () => {
      const { user, token, secret } = await userWithToken(['view_user', 'add_user']);
      const found = await env.apiTokens.authenticate(secret);
      expect(found?.token.id).toBe(token.id);
      expect(found?.user).toMatchObject({ userId: user.id, username: user.username, isActive: true });
      expect(found?.user).not.toHaveProperty('permissions');
      expect(found?.permissions).toEqual(new Set(['view_user', 'add_user']));
      expect(found?.principal).toMatchObject({ userId: user.id, isSuperuser: false, actor: `token:${token.id}` });
      expect(await env.apiTokens.authenticate(generateApiToken())).toBeNull();
      expect(await env.apiTokens.authenticate(`${secret}x`)).toBeNull();
      expect(await env.apiTokens.authenticate('')).toBeNull();
      expect(await env.apiTokens.authenticate('x'.repeat(10_000))).toBeNull();
    });

    it('refuses a typo or a made-up string without a query', async () => {
      const { secret } = await userWithToken(['view_user']);
      await env.apiTokens.authenticate('warm up the declared set');
      const typo = `${secret.slice(0, 20)}${secret[20] === 'a' ? 'b' : 'a'}${secret.slice(21)}`;
      expect(await statementsOf(() => env.apiTokens.authenticate(typo))).toBe(0);
      expect(await statementsOf(() => env.apiTokens.authenticate('Bearer something-else'))).toBe(0);
      expect(await statementsOf(() => env.apiTokens.authenticate(`ghat_${'A'.repeat(49)}`))).toBe(0);
    });

    it('screens a burst of operator-style secrets with one read of the declared digests', async () => {
      const fresh = wireIdentity(env.db, { bus: env.bus, clock, digestKey: env.digestKey });
      try {
        await settle(env);
        const statements = await statementsOf(() =>
          Promise.all(Array.from({ length: 20 }, (_, i) => fresh.apiTokens.authenticate(`not-a-token-${i}`))),
        );
        expect(statements).toBe(1);
      } finally {
        await fresh.close();
      }
    });

    it('costs no statement on a hit, nor on a repeated unknown token', async () => {
      const { secret } = await userWithToken(['view_user']);
      const unknown = generateApiToken();
      await settle(env);
      await env.apiTokens.authenticate(secret);
      await env.apiTokens.authenticate(unknown);
      expect(
        await statementsOf(async () => {
          for (let i = 0; i < 20; i++) {
            expect(await env.apiTokens.authenticate(secret)).not.toBeNull();
            expect(await env.apiTokens.authenticate(unknown)).toBeNull();
          }
        }),
      ).toBe(0);
    });
  });

  describe('narrowing', () => {
    it('a read token holds only the view_* codenames of its user', async () => {
      const { secret } = await userWithToken(['view_user', 'add_user', 'view_role'], { scope: 'read' });
      expect((await env.apiTokens.authenticate(secret))?.permissions).toEqual(new Set(['view_user', 'view_role']));
    });

    it('a token with explicit codenames holds only those', async () => {
      const { token, secret } = await userWithToken(['view_user', 'add_user', 'delete_user'], { permissions: ['add_user', 'add_user'] });
      expect(token.permissions).toEqual(['add_user']);
      expect((await env.apiTokens.authenticate(secret))?.permissions).toEqual(new Set(['add_user']));
    });

    it('explicit codenames must be held by the user at creation', async () => {
      const user = await makeUser(env, { permissions: ['view_user'] });
      expect(await failure(env.apiTokens.create(systemPrincipal, { userId: user.id, permissions: ['view_user', 'delete_user'] }))).toEqual({
        code: 'api_token.permissions_not_held',
        details: { codenames: ['delete_user'] },
      });
    });

    it('follows the user: a permission taken from their role leaves their tokens too', async () => {
      const { user, secret } = await userWithToken(['view_user', 'add_user']);
      const [role] = await env.roles.listForUser(user.id);
      await env.roles.removePermissions(systemPrincipal, role?.id as string, ['add_user']);
      expect((await env.apiTokens.authenticate(secret))?.permissions).toEqual(new Set(['view_user']));
    });

    it('a superuser’s unnarrowed token acts as a superuser; a narrowed one does not', async () => {
      const root = await makeUser(env, { isSuperuser: true });
      const full = await env.apiTokens.create(systemPrincipal, { userId: root.id });
      expect((await env.apiTokens.authenticate(full.secret))?.principal.isSuperuser).toBe(true);
      const read = await env.apiTokens.create(systemPrincipal, { userId: root.id, scope: 'read' });
      const found = await env.apiTokens.authenticate(read.secret);
      expect(found?.principal.isSuperuser).toBe(false);
      expect([...(found?.permissions ?? [])].every((c) => c.startsWith('view_'))).toBe(true);
      expect(found?.permissions.has('view_user')).toBe(true);
    });
  });

  describe('no escalation by minting tokens', () => {
    it('a read-scoped credential cannot mint a write token for its own user', async () => {
      const { secret } = await userWithToken(['view_token', 'add_token', 'add_user'], { scope: 'read' });
      const readPrincipal = (await env.apiTokens.authenticate(secret))?.principal;
      expect(await failure(env.apiTokens.create(readPrincipal as never, { userId: readPrincipal?.userId as string }))).toMatchObject({
        code: 'api_token.escalation',
      });
      // a read token of the same user is within what it holds
      expect(
        (await env.apiTokens.create(readPrincipal as never, { userId: readPrincipal?.userId as string, scope: 'read' })).token.scope,
      ).toBe('read');
    });

    it('nobody mints a token for a user holding more than they do', async () => {
      const admin = await principalOf(env, (await makeUser(env, { permissions: ['add_token', 'view_user'] })).id);
      const stronger = await makeUser(env, { permissions: ['view_user', 'delete_user'] });
      expect(await failure(env.apiTokens.create(admin, { userId: stronger.id, permissions: ['view_user'] }))).toMatchObject({
        code: 'api_token.escalation',
      });
      const weaker = await makeUser(env, { permissions: ['view_user'] });
      expect((await env.apiTokens.create(admin, { userId: weaker.id })).token.userId).toBe(weaker.id);
    });

    it('only a superuser mints an unnarrowed token of a superuser', async () => {
      const root = await makeUser(env, { isSuperuser: true });
      const rootPrincipal = await principalOf(env, root.id);
      const everything = [...((await env.access.effectivePermissions(root.id))?.permissions ?? [])];
      const nearlyRoot = { ...rootPrincipal, isSuperuser: false, permissions: new Set(everything) };
      expect(await failure(env.apiTokens.create(nearlyRoot, { userId: root.id }))).toMatchObject({ code: 'api_token.escalation' });
      expect((await env.apiTokens.create(rootPrincipal, { userId: root.id })).token.scope).toBe('write');
    });

    it('refuses an inactive user, an unknown user and an unknown application', async () => {
      const user = await makeUser(env);
      await env.users.deactivate(systemPrincipal, user.id);
      expect(await failure(env.apiTokens.create(systemPrincipal, { userId: user.id }))).toMatchObject({ code: 'api_token.user_inactive' });
      expect(await failure(env.apiTokens.create(systemPrincipal, { userId: 'usr_missing' }))).toMatchObject({ code: 'user.not_found' });
      const other = await makeUser(env);
      expect(await failure(env.apiTokens.create(systemPrincipal, { userId: other.id, applicationId: 'app_missing' }))).toMatchObject({
        code: 'api_token.unknown_application',
      });
    });
  });

  describe('lifetime', () => {
    it('expires at its expiry, also when cached', async () => {
      const { token, secret } = await userWithToken(['view_user'], { expiresInSeconds: 120 });
      expect(token.expiresAt?.getTime()).toBe(clock.now().getTime() + 120_000);
      expect(await env.apiTokens.authenticate(secret)).not.toBeNull();
      clock.advance(119);
      expect(await env.apiTokens.authenticate(secret)).not.toBeNull();
      clock.advance(1);
      expect(await env.apiTokens.authenticate(secret)).toBeNull();
      expect((await env.apiTokens.listForUser(token.userId, { page: 1, pageSize: 10 })).count).toBe(0);
    });

    it('has the configured maximum: the default expiry, and a longer one refused', async () => {
      const limited = wireIdentity(env.db, { bus: env.bus, clock, apiTokenMaxLifetimeSeconds: 3600 });
      try {
        const user = await makeUser(limited);
        const { token } = await limited.apiTokens.create(systemPrincipal, { userId: user.id });
        expect(token.expiresAt?.getTime()).toBe(clock.now().getTime() + 3600_000);
        expect(await failure(limited.apiTokens.create(systemPrincipal, { userId: user.id, expiresInSeconds: 7200 }))).toEqual({
          code: 'api_token.lifetime_too_long',
          details: { maxSeconds: 3600 },
        });
      } finally {
        await limited.close();
      }
    });
  });

  describe('revocation', () => {
    it('ends a token at once; its owner may revoke it, a stranger is told it does not exist', async () => {
      const { user, token, secret } = await userWithToken(['view_user']);
      expect(await env.apiTokens.authenticate(secret)).not.toBeNull();
      const stranger = await principalOf(env, (await makeUser(env)).id);
      expect(await failure(env.apiTokens.revoke(stranger, token.id))).toMatchObject({ code: 'api_token.not_found' });
      const revoked = await env.apiTokens.revoke(await principalOf(env, user.id), token.id);
      expect(revoked.revokedAt).toBeInstanceOf(Date);
      expect(await env.apiTokens.authenticate(secret)).toBeNull();
      expect((await env.apiTokens.revoke(systemPrincipal, token.id)).revokedAt).toEqual(revoked.revokedAt);
    });

    it('deleting a token or its user, or deactivating the user, ends it', async () => {
      const a = await userWithToken(['view_user']);
      await env.apiTokens.authenticate(a.secret);
      await env.apiTokens.delete(systemPrincipal, a.token.id);
      expect(await env.apiTokens.authenticate(a.secret)).toBeNull();
      expect(await failure(env.apiTokens.get(a.token.id))).toMatchObject({ code: 'api_token.not_found' });
      const b = await userWithToken(['view_user']);
      await env.apiTokens.authenticate(b.secret);
      await env.users.deactivate(systemPrincipal, b.user.id);
      expect(await env.apiTokens.authenticate(b.secret)).toBeNull();
      const c = await userWithToken(['view_user']);
      await env.apiTokens.authenticate(c.secret);
      await env.users.delete(systemPrincipal, c.user.id);
      expect(await env.apiTokens.authenticate(c.secret)).toBeNull();
    });

    it('a token bound to an application ends with it, and follows its active flag when told', async () => {
      const app = await makeApplication(env);
      // as the applications service answers: false for an inactive application, and for a deleted one
      const inactive = new Set<string>();
      const withApps = wireIdentity(env.db, {
        bus: env.bus,
        clock,
        isApplicationActive: async (id) => !inactive.has(id) && (await env.applications.findClient(app.clientId)) !== null,
      });
      try {
        const user = await makeUser(withApps, { permissions: ['view_user'] });
        const { token, secret } = await withApps.apiTokens.create(systemPrincipal, { userId: user.id, applicationId: app.id });
        expect(token.applicationId).toBe(app.id);
        expect((await withApps.apiTokens.listForApplication(app.id, { page: 1, pageSize: 10 })).items.map((t) => t.id)).toEqual([token.id]);
        expect(await withApps.apiTokens.authenticate(secret)).not.toBeNull();
        inactive.add(app.id);
        expect(await withApps.apiTokens.authenticate(secret)).toBeNull();
        inactive.delete(app.id);
        expect(await withApps.apiTokens.authenticate(secret)).not.toBeNull();
        await env.applications.remove(app.clientId, 'test');
        expect(await withApps.apiTokens.authenticate(secret)).toBeNull();
        expect(await env.db.prisma.apiToken.findUnique({ where: { id: token.id } })).toBeNull();
      } finally {
        await withApps.close();
      }
    });
  });

  it('introspects an active token with its user, scope, permissions and expiry', async () => {
    const { user, secret, token } = await userWithToken(['view_user', 'add_user'], { scope: 'read', expiresInSeconds: 600 });
    expect(await env.apiTokens.introspect(secret)).toEqual({
      active: true,
      token_type: 'api_token',
      sub: user.id,
      username: user.username,
      scope: 'read',
      permissions: ['view_user'],
      exp: Math.floor((token.expiresAt as Date).getTime() / 1000),
      iat: Math.floor(token.createdAt.getTime() / 1000),
    });
    expect(await env.apiTokens.introspect(generateApiToken())).toBeNull();
  });

  describe('usage', () => {
    it('is recorded without a write per request: N authentications, one statement at flush', async () => {
      const a = await userWithToken(['view_user']);
      const b = await userWithToken(['view_user']);
      await env.apiTokens.flushUsage();
      await settle(env);
      await env.apiTokens.authenticate(a.secret);
      await env.apiTokens.authenticate(b.secret);
      expect(
        await statementsOf(async () => {
          for (let i = 0; i < 25; i++) {
            await env.apiTokens.authenticate(a.secret, { ip: '192.0.2.10' });
            await env.apiTokens.authenticate(b.secret, { ip: `2001:db8::${i}` });
          }
        }),
      ).toBe(0);
      expect(await statementsOf(() => env.apiTokens.flushUsage())).toBe(1);
      expect(await statementsOf(() => env.apiTokens.flushUsage())).toBe(0);
      expect(await env.apiTokens.get(a.token.id)).toMatchObject({ lastUsedAt: clock.now(), lastUsedIp: '192.0.2.10' });
      expect(await env.apiTokens.get(b.token.id)).toMatchObject({ lastUsedAt: clock.now(), lastUsedIp: '2001:db8::24' });
    });

    it('is written on close (shutdown)', async () => {
      const other = wireIdentity(env.db, { bus: env.bus, clock, digestKey: env.digestKey });
      const { token, secret } = await userWithToken(['view_user']);
      await other.apiTokens.authenticate(secret, { ip: '198.51.100.7' });
      await other.close();
      expect((await env.apiTokens.get(token.id)).lastUsedIp).toBe('198.51.100.7');
    });

    it('is not recorded for a refused token', async () => {
      const { token, secret } = await userWithToken(['view_user']);
      await env.apiTokens.revoke(systemPrincipal, token.id);
      await env.apiTokens.authenticate(secret, { ip: '203.0.113.5' });
      await env.apiTokens.flushUsage();
      expect((await env.apiTokens.get(token.id)).lastUsedAt).toBeNull();
    });
  });
});

describe('API tokens across instances', () => {
  let env: Awaited<ReturnType<typeof openIdentity>>;
  let secondDb: Database | undefined;
  let other: Identity;
  beforeAll(async () => {
    const digestKey = createSecretKey(randomBytes(32));
    env = await openIdentity({ digestKey });
    if (env.testDb.kind === 'postgres') {
      secondDb = await openTestDatabase(env.testDb);
      other = wireIdentity(secondDb, { digestKey });
      await other.bus.start();
    } else {
      other = wireIdentity(env.db, { bus: env.bus, digestKey });
    }
  });
  afterAll(async () => {
    await other?.close();
    await secondDb?.close();
    await env?.close();
  });

  it('a token revoked on one instance stops working on the other', async () => {
    const user = await makeUser(env);
    const { token, secret } = await env.apiTokens.create(systemPrincipal, { userId: user.id });
    expect(await other.apiTokens.authenticate(secret)).not.toBeNull();
    await env.apiTokens.revoke(systemPrincipal, token.id);
    await vi.waitFor(async () => expect(await other.apiTokens.authenticate(secret)).toBeNull());
  });

  it('a secret cached as unknown works once declared on the other instance', async () => {
    const secret = `declared-${unique()}-0123456789abcdefghij`;
    expect(await other.apiTokens.authenticate(secret)).toBeNull();
    await env.apiTokens.applyDeclaredTokens(`${unique('bot')}:${secret}:`);
    await vi.waitFor(async () => expect(await other.apiTokens.authenticate(secret)).not.toBeNull());
  });
});

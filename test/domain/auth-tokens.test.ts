import { createSecretKey, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/database.ts';
import { systemPrincipal } from '../../src/domain/access/principal.ts';
import { AuthTokensError } from '../../src/domain/api-tokens/auth-tokens.ts';
import type { AppError } from '../../src/lib/app-error.ts';
import { type Identity, makeUser, openIdentity, openTestDatabase, unique, wireIdentity } from '../support/identity.ts';

/** The error applyDeclaredTokens throws for `declaration`. */
async function refusal(identity: Identity, declaration: string): Promise<AuthTokensError> {
  const err = await identity.apiTokens.applyDeclaredTokens(declaration).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AuthTokensError);
  return err as AuthTokensError;
}

const secret = () => `s3cret-${randomBytes(24).toString('base64url')}`;

/** AUTH_TOKENS applied at start-up (the bootstrap step calls applyDeclaredTokens with the variable). */
describe('AUTH_TOKENS', () => {
  let env: Awaited<ReturnType<typeof openIdentity>>;
  let secondDb: Database | undefined;
  let other: Identity;
  beforeAll(async () => {
    const digestKey = createSecretKey(randomBytes(32));
    env = await openIdentity({ digestKey });
    await env.permissions.ensureBuiltIn();
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

  const auditCount = () => env.db.prisma.auditEvent.count();

  it('creates the user without a password, the permissions and a token holding exactly them', async () => {
    const [alice, bot] = [unique('alice'), unique('bot')];
    const job = `add_${unique('job')}`;
    const [s1, s2] = [secret(), secret()];
    const result = await env.apiTokens.applyDeclaredTokens(`${alice}:${s1}:view_user&${job}\n${bot}:${s2}:`);
    expect(result).toEqual({ created: 2, updated: 0, removed: 0, usersCreated: [alice, bot], permissionsCreated: [job], warnings: [] });
    const user = await env.users.findByUsername(alice);
    expect(user).toMatchObject({ hasPassword: false, isActive: true, isSuperuser: false });
    const found = await env.apiTokens.authenticate(s1);
    // the user holds no role: the declaration itself grants these
    expect(found?.permissions).toEqual(new Set(['view_user', job]));
    expect(found?.token).toMatchObject({
      isDeclared: true,
      scope: 'write',
      prefix: '',
      expiresAt: null,
      permissions: [job, 'view_user'].sort(),
    });
    expect(found?.principal.isSuperuser).toBe(false);
    expect((await env.apiTokens.authenticate(s2))?.permissions).toEqual(new Set());
    const events = await env.db.prisma.auditEvent.findMany({ where: { action: 'api_token.declared' } });
    expect(JSON.stringify(events)).not.toContain(s1);
  });

  it('is idempotent: a second run changes and writes nothing', async () => {
    const declaration = `${unique('u')}:${secret()}:view_user ${unique('u')}:${secret()}:view_role`;
    await env.apiTokens.applyDeclaredTokens(declaration);
    const events = await auditCount();
    const rows = await env.db.prisma.apiToken.findMany({ where: { isDeclared: true }, orderBy: { id: 'asc' } });
    const result = await env.apiTokens.applyDeclaredTokens(declaration);
    expect(result).toEqual({ created: 0, updated: 0, removed: 0, usersCreated: [], permissionsCreated: [], warnings: [] });
    expect(await auditCount()).toBe(events);
    expect(await env.db.prisma.apiToken.findMany({ where: { isDeclared: true }, orderBy: { id: 'asc' } })).toEqual(rows);
  });

  it('gives an existing user a token without touching their password or roles', async () => {
    const user = await makeUser(env, { password: 'their password', permissions: ['view_role'] });
    const s = secret();
    const result = await env.apiTokens.applyDeclaredTokens(`${user.username}:${s}:view_user`);
    expect(result.usersCreated).toEqual([]);
    expect(await env.users.verifyPassword(user.username, 'their password')).not.toBeNull();
    expect((await env.apiTokens.authenticate(s))?.permissions).toEqual(new Set(['view_user']));
  });

  it('follows an edited line: new permissions, another user', async () => {
    const s = secret();
    const [first, second] = [unique('u'), unique('u')];
    await env.apiTokens.applyDeclaredTokens(`${first}:${s}:view_user`);
    expect((await env.apiTokens.applyDeclaredTokens(`${first}:${s}:view_user&view_role`)).updated).toBe(1);
    expect((await env.apiTokens.authenticate(s))?.permissions).toEqual(new Set(['view_user', 'view_role']));
    expect((await env.apiTokens.applyDeclaredTokens(`${second}:${s}:view_role`)).updated).toBe(1);
    const found = await env.apiTokens.authenticate(s);
    expect(found?.user.username).toBe(second);
    expect(found?.permissions).toEqual(new Set(['view_role']));
  });

  it('removes the token of a line no longer there, on every instance', async () => {
    const [kept, dropped] = [secret(), secret()];
    await env.apiTokens.applyDeclaredTokens(`${unique('u')}:${kept}:view_user ${unique('u')}:${dropped}:view_user`);
    expect(await other.apiTokens.authenticate(dropped)).not.toBeNull();
    const result = await env.apiTokens.applyDeclaredTokens(`${unique('u')}:${kept}:view_user`);
    expect(result.removed).toBeGreaterThanOrEqual(1);
    expect(await env.apiTokens.authenticate(dropped)).toBeNull();
    await expect.poll(() => other.apiTokens.authenticate(dropped)).toBeNull();
    expect((await env.apiTokens.applyDeclaredTokens('')).removed).toBe(1);
    expect(await env.apiTokens.authenticate(kept)).toBeNull();
    expect(await env.db.prisma.apiToken.count({ where: { isDeclared: true } })).toBe(0);
  });

  it('warns about a short secret, naming the line, not the secret', async () => {
    const result = await env.apiTokens.applyDeclaredTokens(`${unique('u')}:${secret()}:view_user ${unique('u')}:tiny-secret:view_user`);
    expect(result.warnings).toEqual([expect.stringMatching(/^AUTH_TOKENS line 2: /)]);
    expect(result.warnings.join()).not.toContain('tiny-secret');
    await env.apiTokens.applyDeclaredTokens('');
  });

  describe('stops, applying nothing, naming the line and never the secret', () => {
    it('on a malformed line', async () => {
      const username = unique('nobody');
      const err = await refusal(env, `${username}:${secret()}:view_user\n${unique('u')}:hunter2hunter2:Not-A-Codename`);
      expect(err.issues).toEqual([expect.stringMatching(/^line 2: /)]);
      expect(err.message).not.toContain('hunter2');
      expect(await env.users.findByUsername(username)).toBeNull();
    });

    it('on a secret reused across lines', async () => {
      const s = secret();
      const username = unique('nobody');
      const err = await refusal(env, `${username}:${s}:view_user ${unique('u')}:${secret()}: ${unique('u')}:${s}:view_role`);
      expect(err.issues).toEqual(['line 3: uses the same secret as line 1; each token needs its own']);
      expect(err.message).not.toContain(s);
      expect(await env.users.findByUsername(username)).toBeNull();
    });

    it('on a secret already used by a token not declared here', async () => {
      const owner = await makeUser(env);
      const { secret: taken } = await env.apiTokens.create(systemPrincipal, { userId: owner.id });
      const declared = await env.db.prisma.apiToken.findMany({ where: { isDeclared: true } });
      const username = unique('nobody');
      const err = await refusal(env, `${username}:${secret()}:view_user\n${owner.username}:${taken}:view_user`);
      expect(err.issues).toEqual(['line 2: the secret is already used by an API token not declared in AUTH_TOKENS']);
      expect(err.message).not.toContain(taken);
      expect(await env.users.findByUsername(username)).toBeNull();
      expect(await env.db.prisma.apiToken.findMany({ where: { isDeclared: true } })).toEqual(declared);
    });
  });

  it('keeps a revoked declared token revoked across runs; refuses to delete one', async () => {
    const s = secret();
    const declaration = `${unique('u')}:${s}:view_user`;
    await env.apiTokens.applyDeclaredTokens(declaration);
    const token = (await env.apiTokens.authenticate(s))?.token;
    expect(await env.apiTokens.delete(systemPrincipal, token?.id as string).catch((e: AppError) => e.code)).toBe('api_token.declared');
    await env.apiTokens.revoke(systemPrincipal, token?.id as string);
    expect((await env.apiTokens.applyDeclaredTokens(declaration)).updated).toBe(0);
    expect(await env.apiTokens.authenticate(s)).toBeNull();
    await env.apiTokens.applyDeclaredTokens('');
  });

  it('two instances applying the same declaration at once end with one token per line', async () => {
    const [a, b] = [secret(), secret()];
    const declaration = `${unique('u')}:${a}:view_user ${unique('u')}:${b}:add_${unique('p')}`;
    const results = await Promise.all([env.apiTokens.applyDeclaredTokens(declaration), other.apiTokens.applyDeclaredTokens(declaration)]);
    expect(results.map((r) => r.created).sort()).toEqual([0, 2]);
    expect(await env.db.prisma.apiToken.count({ where: { isDeclared: true } })).toBe(2);
    expect(await env.apiTokens.authenticate(a)).not.toBeNull();
    await env.apiTokens.applyDeclaredTokens('');
  });
});

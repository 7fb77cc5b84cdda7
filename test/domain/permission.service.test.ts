import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemPrincipal } from '../../src/domain/access/principal.ts';
import { BUILT_IN_CODENAMES } from '../../src/domain/permissions/codename.ts';
import { AppError } from '../../src/lib/app-error.ts';
import { makeApi, makeApplication, makeUser, openIdentity, principalOf, unique } from '../support/identity.ts';
import { countStatements } from '../support/statements.ts';

const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => null,
    (err: unknown) => (err instanceof AppError ? { code: err.code, details: err.details } : { code: String(err) }),
  );

describe('permission service', () => {
  let env: Awaited<ReturnType<typeof openIdentity>>;
  beforeAll(async () => {
    env = await openIdentity();
  });
  afterAll(() => env?.close());

  it('ensures the built-in codenames once, then only reads', async () => {
    const first = await env.permissions.ensureBuiltIn();
    expect(new Set(first.created)).toEqual(BUILT_IN_CODENAMES);
    const statements = countStatements();
    try {
      expect(await env.permissions.ensureBuiltIn()).toEqual({ created: [] });
      // the codenames and their APIs (Prisma loads a relation in a second statement): no write
      expect(statements.count).toBeLessThanOrEqual(2);
    } finally {
      statements.restore();
    }
    const listed = await env.permissions.list({ page: 1, pageSize: 200, isBuiltIn: true });
    expect(listed.count).toBe(BUILT_IN_CODENAMES.size);
  });

  it('adopts a codename created by hand before it was built-in, and restores a deleted one', async () => {
    await env.permissions.ensureBuiltIn();
    const codename = 'view_activity';
    await env.db.prisma.permission.update({ where: { codename }, data: { isBuiltIn: false } });
    await env.db.prisma.permission.delete({ where: { codename: 'add_api' } });
    expect(await env.permissions.ensureBuiltIn()).toEqual({ created: ['add_api'] });
    expect((await env.permissions.findByCodename(codename))?.isBuiltIn).toBe(true);
  });

  it('never deletes a built-in permission', async () => {
    await env.permissions.ensureBuiltIn();
    const p = await env.permissions.findByCodename('delete_user');
    expect(await failure(env.permissions.delete(systemPrincipal, p?.id as string))).toMatchObject({ code: 'permission.built_in' });
  });

  it('creates a permission of an API, refusing an unknown API and a taken codename', async () => {
    const api = await makeApi(env);
    const codename = `add_${unique('media')}`;
    const p = await env.permissions.create(systemPrincipal, { codename, api: api.identifier });
    expect(p).toMatchObject({ codename, name: `Can add ${codename.slice(4)}`, api: api.identifier, isBuiltIn: false });
    expect(await failure(env.permissions.create(systemPrincipal, { codename }))).toMatchObject({ code: 'permission.codename_taken' });
    expect(
      await failure(env.permissions.create(systemPrincipal, { codename: `add_${unique('x')}`, api: 'https://none.example.test' })),
    ).toMatchObject({
      code: 'permission.unknown_api',
    });
  });

  it('deletes only a permission the principal holds', async () => {
    await env.permissions.ensureBuiltIn();
    const codename = `add_${unique('d')}`;
    const p = await env.permissions.create(systemPrincipal, { codename });
    const lacking = await principalOf(env, (await makeUser(env, { permissions: ['delete_permission'] })).id);
    expect(await failure(env.permissions.delete(lacking, p.id))).toMatchObject({ code: 'permission.escalation' });
    const holding = await principalOf(env, (await makeUser(env, { permissions: ['delete_permission', codename] })).id);
    await env.permissions.delete(holding, p.id);
    expect(await env.permissions.findByCodename(codename)).toBeNull();
    expect(await failure(env.permissions.get(p.id))).toMatchObject({ code: 'permission.not_found' });
  });

  it('ensures missing codenames idempotently', async () => {
    const a = `add_${unique('e')}`;
    expect(await env.permissions.ensure(systemPrincipal, [a, a])).toEqual({ created: [a] });
    expect(await env.permissions.ensure(systemPrincipal, [a])).toEqual({ created: [] });
  });

  describe('permissions of an application itself', () => {
    it('are granted only by someone holding each of them', async () => {
      await env.permissions.ensureBuiltIn();
      const app = await makeApplication(env);
      const me = await principalOf(env, (await makeUser(env, { permissions: ['change_application', 'view_user'] })).id);
      expect(await failure(env.permissions.setApplicationPermissions(me, app.id, ['view_user', 'delete_user']))).toEqual({
        code: 'permission.escalation',
        details: { codenames: ['delete_user'] },
      });
      expect((await env.permissions.setApplicationPermissions(me, app.id, ['view_user'])).map((p) => p.codename)).toEqual(['view_user']);
      await env.permissions.setApplicationPermissions(systemPrincipal, app.id, ['view_user', 'delete_user']);
      // withdrawing what they lack is refused too
      expect(await failure(env.permissions.setApplicationPermissions(me, app.id, ['view_user']))).toMatchObject({
        code: 'permission.escalation',
      });
      expect((await env.permissions.listApplicationPermissions(app.id)).map((p) => p.codename)).toEqual(['delete_user', 'view_user']);
    });

    it('refuse an unknown application or codename', async () => {
      await env.permissions.ensureBuiltIn();
      expect(await failure(env.permissions.setApplicationPermissions(systemPrincipal, 'app_missing', ['view_user']))).toMatchObject({
        code: 'permission.application_not_found',
      });
      const app = await makeApplication(env);
      expect(await failure(env.permissions.setApplicationPermissions(systemPrincipal, app.id, ['fly_spaceship']))).toMatchObject({
        code: 'permission.unknown_codenames',
      });
    });
  });
});

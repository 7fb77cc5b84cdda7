import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemPrincipal } from '../../src/domain/access/principal.ts';
import { CHEAP_PASSWORDS, makeToken, makeUser } from '../support/admin-http.ts';
import { basicAuth, makeApi, makeClient } from '../support/fixtures.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { FORM, introspect, send } from '../support/tokens.ts';

/**
 * Issue 10: introspection answers for API tokens too (`active`, `username`, `sub`, `scope`,
 * `permissions`, `exp`), so a downstream API checks every credential with one mechanism. API
 * tokens have no audience: a client holding an introspect right for any API (a resource server)
 * may ask, and the application a token is bound to; every other caller gets `{"active":false}`
 * (RFC 7662 §4, src/oidc/introspection-policy.ts).
 */
const DECLARED_SECRET = 'declared-secret-for-the-introspection-test-0123456789';

describe('introspection of API tokens (RFC 7662 §2.2)', () => {
  let server: TestServer;
  let resourceServer: { clientId: string; clientSecret: string };
  let stranger: { clientId: string; clientSecret: string };
  beforeAll(async () => {
    server = await startTestServer({ env: { ...CHEAP_PASSWORDS, AUTH_TOKENS: `robot:${DECLARED_SECRET}:view_report&add_report` } });
    const api = await makeApi(server.services);
    resourceServer = await makeClient(server.services, { apis: [{ identifier: api.identifier, introspect: true }] });
    stranger = await makeClient(server.services, { apis: [{ identifier: api.identifier }] });
  });
  afterAll(() => server?.close());

  it('answers an active token with its user, scope and permissions to a resource server', async () => {
    const user = await makeUser(server.services, { permissions: ['view_report', 'add_report'] });
    const { secret, token } = await makeToken(server.services, user.id, { expiresInSeconds: 3600 });
    const answer = await introspect(server.url, resourceServer, secret);
    expect(answer).toMatchObject({
      active: true,
      iss: server.url,
      sub: user.id,
      username: user.username,
      scope: 'write',
      permissions: ['add_report', 'view_report'],
      token_type: 'api_token',
    });
    expect(answer.exp).toBe(Math.floor((token.expiresAt as Date).getTime() / 1000));
  });

  it('narrows a read token to view_* codenames', async () => {
    const user = await makeUser(server.services, { permissions: ['view_report', 'add_report'] });
    const { secret } = await makeToken(server.services, user.id, { scope: 'read' });
    expect(await introspect(server.url, resourceServer, secret)).toMatchObject({
      active: true,
      scope: 'read',
      permissions: ['view_report'],
    });
  });

  it('answers a token declared in AUTH_TOKENS', async () => {
    expect(await introspect(server.url, resourceServer, DECLARED_SECRET)).toMatchObject({
      active: true,
      username: 'robot',
      permissions: ['add_report', 'view_report'],
    });
  });

  it('answers {"active":false} to a client without an introspect right, exactly as for an unknown token', async () => {
    const user = await makeUser(server.services, { permissions: ['view_report'] });
    const { secret } = await makeToken(server.services, user.id);
    expect(await introspect(server.url, stranger, secret)).toEqual({ active: false });
    // Another last character (the checksum's): '0' unless it already was one, a 1-in-62 flake before.
    const altered = `${secret.slice(0, -1)}${secret.endsWith('0') ? '1' : '0'}`;
    expect(await introspect(server.url, resourceServer, altered)).toEqual({ active: false });
  });

  it('answers {"active":false} at once after the token is revoked or its user deactivated', async () => {
    const user = await makeUser(server.services, { permissions: ['view_report'] });
    const revoked = await makeToken(server.services, user.id);
    const kept = await makeToken(server.services, user.id);
    expect((await introspect(server.url, resourceServer, revoked.secret)).active).toBe(true);
    await server.services.apiTokens.revoke(systemPrincipal, revoked.token.id);
    expect(await introspect(server.url, resourceServer, revoked.secret)).toEqual({ active: false });
    expect((await introspect(server.url, resourceServer, kept.secret)).active).toBe(true);
    await server.services.users.deactivate(systemPrincipal, user.id);
    expect(await introspect(server.url, resourceServer, kept.secret)).toEqual({ active: false });
  });

  it('lets the application a token is bound to introspect and revoke it; another client’s revocation changes nothing (RFC 7009 §2.1)', async () => {
    const user = await makeUser(server.services, { permissions: ['view_report'] });
    const app = await makeClient(server.services);
    const { secret } = await server.services.apiTokens.create(systemPrincipal, { userId: user.id, applicationId: app.application.id });
    expect(await introspect(server.url, app, secret)).toMatchObject({ active: true, client_id: app.clientId });

    const revoke = (client: { clientId: string; clientSecret: string }) =>
      send(`${server.url}/oauth/revoke`, {
        headers: { 'content-type': FORM, authorization: basicAuth(client.clientId, client.clientSecret) },
        body: new URLSearchParams({ token: secret }).toString(),
      });
    const foreign = await revoke(stranger);
    expect([foreign.status, foreign.text]).toEqual([200, '']);
    expect((await introspect(server.url, resourceServer, secret)).active).toBe(true);
    const own = await revoke(app);
    expect([own.status, own.text]).toEqual([200, '']);
    expect(await introspect(server.url, resourceServer, secret)).toEqual({ active: false });
  });
});

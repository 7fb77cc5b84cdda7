import { randomUUID } from 'node:crypto';
import type { Services } from '../../src/container.ts';
import { systemPrincipal } from '../../src/domain/access/principal.ts';
import { createJwtSigner } from '../../src/oidc/jwt-signer.ts';
import { makeClient } from './fixtures.ts';
import type { TestServer } from './server.ts';
import { type RawResponse, send } from './tokens.ts';

/** argon2id at its cheapest: these tests are about rules, not hashing cost. */
export const CHEAP_PASSWORDS = { PASSWORD_HASH_MEMORY_KIB: '64', PASSWORD_HASH_ITERATIONS: '1' };

let counter = 0;
export const uniqueName = (prefix = 'u') => `${prefix}${Date.now().toString(36)}${(counter++).toString(36)}`;

/** A user made through the services; with `permissions`, a role holding them is created and assigned. */
export async function makeUser(
  services: Services,
  options: { permissions?: string[]; isSuperuser?: boolean; password?: string; username?: string; roleName?: string } = {},
) {
  const user = await services.users.create(systemPrincipal, {
    username: options.username ?? uniqueName('user'),
    ...(options.password ? { password: options.password } : {}),
    ...(options.isSuperuser ? { isSuperuser: true } : {}),
  });
  let roleName: string | undefined;
  if (options.permissions?.length) {
    await services.permissions.ensure(systemPrincipal, options.permissions);
    roleName = options.roleName ?? uniqueName('role');
    const role = await services.roles.create(systemPrincipal, { name: roleName, permissions: options.permissions });
    await services.roles.assign(systemPrincipal, role.id, user.id);
  }
  return { ...user, roleName };
}

/** An API token for `userId`; returns the secret and the token. */
export async function makeToken(
  services: Services,
  userId: string,
  options: { scope?: 'read' | 'write'; permissions?: string[]; expiresInSeconds?: number } = {},
) {
  const { token, secret } = await services.apiTokens.create(systemPrincipal, { userId, ...options });
  return { token, secret };
}

/** The admin API's identifier on `server`: the audience of the access tokens it accepts. */
export const adminAudience = (server: Pick<TestServer, 'url'>) => `${server.url}/api/v1`;

/** Registers the admin API as an API (JWT tokens, scopes read and write), once per server. */
export async function registerAdminApi(server: Pick<TestServer, 'url' | 'services'>) {
  const identifier = adminAudience(server);
  return (
    (await server.services.apis.resolve(identifier)) ??
    server.services.apis.register({ identifier, name: 'Gatehouse admin API', scopes: ['read', 'write'] }, 'test')
  );
}

/** A client-credentials client granted the admin API, holding `permissions` itself. */
export async function makeAdminClient(server: Pick<TestServer, 'url' | 'services'>, permissions: string[] = []) {
  await registerAdminApi(server);
  const client = await makeClient(server.services, { apis: [{ identifier: adminAudience(server) }] });
  if (permissions.length) {
    await server.services.permissions.ensure(systemPrincipal, permissions);
    await server.services.permissions.setApplicationPermissions(systemPrincipal, client.application.id, permissions);
  }
  return client;
}

/** A client-credentials access token for the admin API, from the token endpoint. */
export async function clientCredentialsToken(
  server: Pick<TestServer, 'url'>,
  client: { clientId: string; clientSecret: string },
  scope?: string,
) {
  const res = await send(`${server.url}/oauth/token`, {
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: client.clientId,
      client_secret: client.clientSecret,
      resource: adminAudience(server),
      ...(scope ? { scope } : {}),
    }).toString(),
  });
  if (res.status !== 200 || typeof res.json?.access_token !== 'string') throw new Error(`token request failed: ${res.status} ${res.text}`);
  return res.json.access_token as string;
}

/**
 * An access token signed with the server's own active key, as oidc-provider signs those of people
 * (the sign-in flows that issue them come later): `sub` a user, for the admin API by default.
 */
export async function signedAccessToken(server: Pick<TestServer, 'url' | 'services'>, claims: Record<string, unknown>) {
  const ring = await server.services.signingKeys.loadKeyRing();
  const now = Math.floor(Date.now() / 1000);
  return createJwtSigner(() => ring).sign('ES256', 'at+jwt', {
    iss: server.url,
    aud: adminAudience(server),
    iat: now,
    exp: now + 300,
    jti: randomUUID(),
    ...claims,
  });
}

/** A request to the server with an `Authorization` header (or none) and an optional JSON body. */
export function call(
  server: Pick<TestServer, 'url'>,
  method: string,
  path: string,
  options: { auth?: string; json?: unknown; headers?: Record<string, string> } = {},
): Promise<RawResponse> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.auth) headers.authorization = options.auth;
  if (options.json !== undefined) headers['content-type'] ??= 'application/json';
  return send(`${server.url}${path}`, {
    method,
    headers,
    ...(options.json === undefined ? {} : { body: typeof options.json === 'string' ? options.json : JSON.stringify(options.json) }),
  });
}

export const tokenAuth = (secret: string) => `Token ${secret}`;
export const bearerAuth = (token: string) => `Bearer ${token}`;
/** RFC 7617: `username:password`, UTF-8, base64 (no form-encoding, unlike client_secret_basic). */
export const basicAuth = (username: string, password: string) =>
  `Basic ${Buffer.from(`${username}:${password}`, 'utf8').toString('base64')}`;

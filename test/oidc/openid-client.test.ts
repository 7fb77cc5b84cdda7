import { createRemoteJWKSet, jwtVerify } from 'jose';
import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeMachineSetup } from '../support/fixtures.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

/**
 * openid-client v6 as a real relying party / machine client, exactly as a customer would use it:
 * discovery, the client credentials grant, introspection and revocation. The issuer is plain http
 * on loopback, which openid-client refuses unless told otherwise (`allowInsecureRequests`).
 */
describe('openid-client interoperability', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server?.close());

  function discover(clientId: string, auth: oidc.ClientAuth) {
    return oidc.discovery(new URL(server.url), clientId, undefined, auth, { execute: [oidc.allowInsecureRequests] });
  }

  it('discovers the issuer and its endpoints (OIDC Discovery 1.0 §4, RFC 8414 §3)', async () => {
    const { clientId, clientSecret } = await makeMachineSetup(server.services);
    const config = await discover(clientId, oidc.ClientSecretBasic(clientSecret));
    const metadata = config.serverMetadata();

    expect(metadata.issuer).toBe(server.url);
    expect(metadata).toMatchObject({
      token_endpoint: `${server.url}/oauth/token`,
      jwks_uri: `${server.url}/.well-known/jwks.json`,
      introspection_endpoint: `${server.url}/oauth/introspect`,
      revocation_endpoint: `${server.url}/oauth/revoke`,
    });
    expect(metadata.grant_types_supported).toContain('client_credentials');
    expect(metadata.token_endpoint_auth_methods_supported).toEqual(expect.arrayContaining(['client_secret_basic', 'client_secret_post']));
  });

  const AUTH = { ClientSecretBasic: oidc.ClientSecretBasic, ClientSecretPost: oidc.ClientSecretPost };
  it.each([
    ['ClientSecretBasic', 'resource'],
    ['ClientSecretPost', 'resource'],
    ['ClientSecretBasic', 'audience'],
    ['ClientSecretPost', 'audience'],
  ] as const)('gets, introspects and revokes a token [%s, %s] (RFC 6749 §4.4, RFC 7662, RFC 7009)', async (auth, param) => {
    const { clientId, clientSecret, api } = await makeMachineSetup(server.services, { grantScopes: ['read'] });
    const config = await discover(clientId, AUTH[auth](clientSecret));

    const tokens = await oidc.clientCredentialsGrant(config, { [param]: api.identifier });
    expect(tokens.token_type).toBe('bearer'); // oauth4webapi lower-cases it
    expect(tokens.scope).toBe('read');
    expect(tokens.expiresIn()).toBeGreaterThan(0);
    const jwks = createRemoteJWKSet(new URL(config.serverMetadata().jwks_uri as string));
    const { payload } = await jwtVerify(tokens.access_token, jwks, { issuer: server.url, audience: api.identifier, typ: 'at+jwt' });
    expect(payload.client_id).toBe(clientId);

    const before = await oidc.tokenIntrospection(config, tokens.access_token);
    expect(before).toMatchObject({ active: true, client_id: clientId, aud: api.identifier, scope: 'read', iss: server.url });

    await oidc.tokenRevocation(config, tokens.access_token);

    const after = await oidc.tokenIntrospection(config, tokens.access_token);
    expect(after).toEqual({ active: false });
  });

  it('surfaces invalid_client as a 401 error for a wrong secret', async () => {
    const { clientId, clientSecret, api } = await makeMachineSetup(server.services);
    const config = await discover(clientId, oidc.ClientSecretPost(`${clientSecret}x`));

    const failure = await oidc.clientCredentialsGrant(config, { resource: api.identifier }).then(
      () => undefined,
      (err: unknown) => err,
    );
    // A 401 with WWW-Authenticate (RFC 6749 §5.2) reaches the caller as oauth4webapi's challenge error.
    expect(failure).toBeInstanceOf(oidc.WWWAuthenticateChallengeError);
    const { status, cause } = failure as oidc.WWWAuthenticateChallengeError;
    expect(status).toBe(401);
    expect(cause[0]).toMatchObject({ scheme: 'basic', parameters: { error: 'invalid_client' } });
  });
});

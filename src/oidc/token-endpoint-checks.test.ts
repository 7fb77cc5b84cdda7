import { describe, expect, it } from 'vitest';
import type { ClientRecord } from '../domain/applications/application.schema.ts';
import { readPresentedClient } from './client-auth.ts';
import type { ProviderParams } from './form-body.ts';
import { checkTokenRequest } from './token-endpoint-checks.ts';

const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;

const base = { clientType: 'confidential', clientSecretDigest: 'digest', isActive: true, allowedOrigins: [] } as const;
const records = new Map<string, ClientRecord>(
  [
    { ...base, clientId: 'machine', grantTypes: ['client_credentials'] },
    { ...base, clientId: 'legacy', grantTypes: ['authorization_code', 'refresh_token'], allowedOrigins: ['https://ok.example.test'] },
    { ...base, clientId: 'spa', clientType: 'public', clientSecretDigest: null, grantTypes: ['authorization_code'] },
  ].map((r) => [r.clientId, r as unknown as ClientRecord]),
);
const deps = {
  applications: {
    findClient: async (id: string) => records.get(id) ?? null,
    verifySecret: (record: ClientRecord | null | undefined, secret: string) => !!record?.clientSecretDigest && secret === 'right',
  },
  servedGrantTypes: ['client_credentials'],
};

function check(params: ProviderParams, headers: { authorization?: string; origin?: string; attestation?: boolean; pop?: boolean } = {}) {
  return checkTokenRequest(
    {
      authorization: headers.authorization,
      origin: headers.origin,
      attestation: headers.attestation ?? false,
      attestationPop: headers.pop ?? false,
      params,
      presented: readPresentedClient(headers.authorization, params),
    },
    deps,
  );
}

const CC = { grant_type: 'client_credentials' };

describe('token endpoint checks: invalid_client (RFC 6749 §5.2)', () => {
  it.each([
    ['no client authentication at all', CC, {}],
    ['a secret without a client id', { ...CC, client_secret: 'right' }, {}],
    ['another Authorization scheme', CC, { authorization: 'Bearer abc' }],
    ['an empty Authorization header', CC, { authorization: '' }],
    ['an empty secret in Basic', CC, { authorization: basic('machine', '') }],
    ['an empty client id in Basic', CC, { authorization: basic('', 'right') }],
    ['no client authentication beside an attestation PoP', CC, { pop: true }],
    ['no client authentication and a repeated grant_type', { grant_type: ['a', 'b'] }, {}],
  ] as const)('answers 401 invalid_client [%s]', async (_label, params, headers) => {
    expect(await check(params, headers)).toMatchObject({ status: 401, error: 'invalid_client' });
  });
});

describe('token endpoint checks: unauthorized_client (RFC 6749 §5.2)', () => {
  it('answers a client that is not registered for the grant type, with Basic or in the body', async () => {
    const expected = { status: 400, error: 'unauthorized_client', error_description: 'this client is not allowed to use this grant type' };
    expect(await check(CC, { authorization: basic('legacy', 'right') })).toMatchObject(expected);
    expect(await check({ ...CC, client_id: 'legacy', client_secret: 'right' })).toMatchObject(expected);
  });

  it('answers a public client by its id alone, as oidc-provider authenticates it', async () => {
    expect(await check({ ...CC, client_id: 'spa' })).toMatchObject({ error: 'unauthorized_client' });
  });

  it('answers a browser origin the client allows', async () => {
    expect(await check(CC, { authorization: basic('legacy', 'right'), origin: 'https://ok.example.test' })).toMatchObject({
      error: 'unauthorized_client',
    });
  });
});

describe("token endpoint checks: requests left to oidc-provider's own answer", () => {
  it.each([
    ['a client registered for the grant type', CC, { authorization: basic('machine', 'right') }],
    ['a wrong secret (its 401)', CC, { authorization: basic('legacy', 'wrong') }],
    ['an unknown client (its 401)', CC, { authorization: basic('nobody', 'right') }],
    ['a confidential client presenting its id alone (its 401)', { ...CC, client_id: 'legacy' }, {}],
    ['a Basic header that cannot be read', CC, { authorization: 'Basic !!' }],
    ['Basic plus a secret in the body', { ...CC, client_secret: 'right' }, { authorization: basic('legacy', 'right') }],
    ['a repeated client_id', { ...CC, client_id: ['legacy', 'legacy'], client_secret: 'right' }, {}],
    ['client attestation', CC, { attestation: true }],
    ['an attestation PoP beside Basic', CC, { authorization: basic('legacy', 'right'), pop: true }],
    ['an origin the client does not allow', CC, { authorization: basic('legacy', 'right'), origin: 'https://evil.example.test' }],
    ['a grant type the server does not serve', { grant_type: 'password' }, { authorization: basic('legacy', 'right') }],
    ['a repeated grant type', { grant_type: ['client_credentials', 'client_credentials'] }, { authorization: basic('legacy', 'right') }],
    ['no grant type', {}, { authorization: basic('legacy', 'right') }],
  ] as const)('[%s]', async (_label, params, headers) => {
    expect(await check(params, headers)).toBeNull();
  });
});

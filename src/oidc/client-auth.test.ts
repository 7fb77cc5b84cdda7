import { describe, expect, it } from 'vitest';
import type { ClientRecord } from '../domain/applications/application.schema.ts';
import { authenticateClient, readPresentedClient } from './client-auth.ts';

const b64 = (value: string | Buffer) => Buffer.from(value).toString('base64');
const basic = (id: string, secret: string) => `Basic ${b64(`${id}:${secret}`)}`;

describe('readPresentedClient (RFC 6749 §2.3.1)', () => {
  it('reads client_secret_basic', () => {
    expect(readPresentedClient(basic('app', 'ghcs_s3cret'), {})).toEqual({
      method: 'client_secret_basic',
      clientId: 'app',
      secret: 'ghcs_s3cret',
    });
  });

  it('form-urlencodes the Basic id and secret (RFC 6749 §2.3.1)', () => {
    expect(readPresentedClient(basic('my+app%3A1', 'a%2Bb+c'), {})).toMatchObject({ clientId: 'my app:1', secret: 'a+b c' });
  });

  it('takes the scheme name in any case, and unpadded base64 where the length allows it', () => {
    expect(readPresentedClient(`bAsIc ${b64('app:secret')}`, {})).toMatchObject({ clientId: 'app' });
    expect(readPresentedClient(`Basic ${b64('app:secre').replace(/=+$/, '')}`, {})).toMatchObject({ secret: 'secre' });
  });

  it('reads client_secret_post', () => {
    expect(readPresentedClient(undefined, { client_id: 'app', client_secret: 's' })).toEqual({
      method: 'client_secret_post',
      clientId: 'app',
      secret: 's',
    });
  });

  it('reads a bare client_id as method none', () => {
    expect(readPresentedClient(undefined, { client_id: 'app' })).toEqual({ method: 'none', clientId: 'app' });
  });

  it('accepts a client_id beside Basic credentials when it is the same', () => {
    expect(readPresentedClient(basic('app', 's'), { client_id: 'app' })).toMatchObject({ method: 'client_secret_basic' });
  });

  it('reads empty parameters as absent', () => {
    expect(readPresentedClient(basic('app', 's'), { client_id: '', client_secret: '' })).toMatchObject({ method: 'client_secret_basic' });
    expect(readPresentedClient(undefined, { client_id: 'app', client_secret: '' })).toEqual({ method: 'none', clientId: 'app' });
    expect(readPresentedClient('', { client_id: 'app', client_secret: 's' })).toMatchObject({ method: 'client_secret_post' });
  });

  describe('invalid_client (RFC 6749 §5.2: none included, or an unsupported method)', () => {
    it.each([
      ['nothing at all', undefined, {}],
      ['a secret without a client_id', undefined, { client_secret: 's' }],
      ['another scheme (Bearer)', 'Bearer abc', {}],
      ['another scheme (Digest)', 'Digest username="x"', {}],
      ['another scheme, alone', 'Bearer', {}],
      ['an empty Authorization header', '', { client_id: 'app' }],
      ['an empty client id in Basic', basic('', 's'), {}],
    ] as const)('[%s]', (_label, header, params) => {
      expect(readPresentedClient(header, params)).toMatchObject({ failure: 'invalid_client' });
    });

    it('names the client of a Basic header with an empty secret (the throttle counts it)', () => {
      expect(readPresentedClient(basic('app', ''), {})).toMatchObject({ failure: 'invalid_client', clientId: 'app' });
    });
  });

  describe('invalid_request (RFC 6749 §5.2: malformed, or several methods)', () => {
    it.each([
      ['the word Basic alone', 'Basic', {}],
      ['Basic with two spaces', `Basic  ${b64('app:s')}`, {}],
      ['Basic with something after the credentials', `Basic ${b64('app:s')} extra`, {}],
      ['a value that is not base64', 'Basic !!not-base64!!', {}],
      ['base64 with wrong padding', 'Basic YWJjZA=', {}],
      ['base64 of an impossible length', 'Basic YWJjZ', {}],
      ['no colon', `Basic ${b64('app')}`, {}],
      ['bad percent-encoding', `Basic ${b64('app%zz:s')}`, {}],
      ['bytes that are not UTF-8', `Basic ${b64(Buffer.from([0xff, 0xfe, 0x3a, 0x61]))}`, {}],
      ['a character outside printable ASCII', basic('app\u00e9', 's'), {}],
      ['a control character, percent-encoded', basic('app%00', 's'), {}],
      ['Basic plus a client_secret in the body', basic('app', 's'), { client_secret: 's' }],
      ['a client_id in the body that differs from the Basic one', basic('app', 's'), { client_id: 'other' }],
      ['a client_id in the body beside an empty Basic one', basic('', 's'), { client_id: 'app' }],
      ['a repeated client_id', undefined, { client_id: ['a', 'a'], client_secret: 's' }],
      ['a repeated client_secret', undefined, { client_id: 'a', client_secret: ['s', 't'] }],
    ] as const)('[%s]', (_label, header, params) => {
      expect(readPresentedClient(header, params)).toMatchObject({ failure: 'invalid_request' });
    });
  });
});

describe('authenticateClient', () => {
  const confidential = { clientId: 'app', clientType: 'confidential', clientSecretDigest: 'digest', isActive: true } as ClientRecord;
  const inactive = { ...confidential, clientId: 'old', isActive: false } as ClientRecord;
  const publicClient = { ...confidential, clientId: 'spa', clientType: 'public', clientSecretDigest: null } as ClientRecord;
  const records = new Map([confidential, inactive, publicClient].map((r) => [r.clientId, r]));

  function applications() {
    const lookups: string[] = [];
    let checks = 0;
    return {
      lookups,
      checks: () => checks,
      async findClient(id: string) {
        lookups.push(id);
        return records.get(id) ?? null;
      },
      verifySecret(record: ClientRecord | null | undefined, presented: string) {
        checks++;
        return !!record?.isActive && !!record.clientSecretDigest && presented === 'right';
      },
    };
  }

  it('authenticates a confidential client with its secret', async () => {
    const apps = applications();
    expect(await authenticateClient(apps, { method: 'client_secret_post', clientId: 'app', secret: 'right' })).toEqual({
      client: confidential,
    });
  });

  it.each([
    ['a wrong secret', { method: 'client_secret_basic', clientId: 'app', secret: 'wrong' }],
    ['an unknown client', { method: 'client_secret_basic', clientId: 'nobody', secret: 'right' }],
    ['an inactive client', { method: 'client_secret_basic', clientId: 'old', secret: 'right' }],
    ['a public client presenting a secret', { method: 'client_secret_post', clientId: 'spa', secret: 'right' }],
  ] as const)('fails with invalid_client after the same secret check [%s]', async (_label, presented) => {
    const apps = applications();
    expect(await authenticateClient(apps, presented)).toMatchObject({ failure: 'invalid_client', clientId: presented.clientId });
    expect(apps.checks()).toBe(1);
  });

  it('looks nothing up for credentials with control characters, and spends the same check', async () => {
    const apps = applications();
    expect(await authenticateClient(apps, { method: 'client_secret_post', clientId: 'a\u0000pp', secret: 'right' })).toMatchObject({
      failure: 'invalid_client',
    });
    expect(apps.lookups).toEqual([]);
    expect(apps.checks()).toBe(1);
  });

  it('refuses method none unless public clients are accepted', async () => {
    const apps = applications();
    expect(await authenticateClient(apps, { method: 'none', clientId: 'spa' })).toMatchObject({ failure: 'invalid_client' });
    expect(apps.lookups).toEqual([]);
    expect(await authenticateClient(apps, { method: 'none', clientId: 'spa' }, { publicClients: true })).toEqual({ client: publicClient });
    expect(await authenticateClient(apps, { method: 'none', clientId: 'app' }, { publicClients: true })).toMatchObject({
      failure: 'invalid_client',
    });
  });

  it('passes a reading failure through', async () => {
    const failure = { failure: 'invalid_request', description: 'client_id mismatch' } as const;
    expect(await authenticateClient(applications(), failure)).toBe(failure);
  });
});

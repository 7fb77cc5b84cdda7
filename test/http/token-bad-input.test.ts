import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basicAuth, makeMachineSetup } from '../support/fixtures.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { expectOAuthError, FORM, type RawResponse, type RequestBody, send } from '../support/tokens.ts';

/**
 * Bad input to the OAuth endpoints gets a prompt 4xx with RFC 6749 §5.2 error JSON: never a 500,
 * never a hang (every request in `send` has a deadline), never a token.
 */

const b64 = (value: string | Buffer) => Buffer.from(value).toString('base64');
const TWO_MB = 2 * 1024 * 1024;

type Client = { clientId: string; clientSecret: string };

/** Authorization headers that are not valid client_secret_basic credentials, and the answer each gets. */
function malformedAuthorizations(client: Client): Array<[label: string, header: string, status: number, error: string]> {
  return [
    // RFC 6749 §5.2 invalid_request: "… or is otherwise malformed"
    ['Basic value that is not base64', 'Basic !!not-base64!!', 400, 'invalid_request'],
    ['Basic credentials without a colon', `Basic ${b64(client.clientId)}`, 400, 'invalid_request'],
    ['Basic credentials with bad percent-encoding', `Basic ${b64(`${client.clientId}%zz:${client.clientSecret}`)}`, 400, 'invalid_request'],
    ['Basic credentials that are not UTF-8', `Basic ${b64(Buffer.from([0xff, 0xfe, 0x3a, 0x61]))}`, 400, 'invalid_request'],
    ['the word Basic alone', 'Basic', 400, 'invalid_request'],
    // RFC 6749 §5.2 invalid_client: "no client authentication included, or unsupported authentication method"
    ['Basic credentials with an empty client id', `Basic ${b64(`:${client.clientSecret}`)}`, 401, 'invalid_client'],
    ['Basic credentials with an empty secret', `Basic ${b64(`${client.clientId}:`)}`, 401, 'invalid_client'],
    ['another scheme (Bearer)', 'Bearer x', 401, 'invalid_client'],
    ['another scheme (Digest)', 'Digest username="x"', 401, 'invalid_client'],
  ];
}

function multipart(fields: Record<string, string>): FormData {
  const data = new FormData();
  for (const [k, v] of Object.entries(fields)) data.set(k, v);
  return data;
}

/** Oversized bodies: oidc-provider answers 400 (RFC 6749 §5.2), Gatehouse's own endpoints 413 (RFC 9110 §15.5.14). */
function expectTooLarge(res: RawResponse): void {
  expect(res.status, res.text).toBeOneOf([400, 413]);
  expect(res.json?.error).toBe('invalid_request');
}

describe('bad input to the OAuth endpoints', () => {
  let server: TestServer;
  let client: Client & { api: { identifier: string } };
  beforeAll(async () => {
    server = await startTestServer();
    client = await makeMachineSetup(server.services);
  });
  afterAll(() => server?.close());

  describe('POST /oauth/token', () => {
    const post = (body: RequestBody | undefined, headers: Record<string, string> = {}) =>
      send(`${server.url}/oauth/token`, { body, headers: { 'content-type': FORM, ...headers } });
    const asClient = () => ({ authorization: basicAuth(client.clientId, client.clientSecret) });
    const form = (fields: Record<string, string> | Array<[string, string]>) => new URLSearchParams(fields).toString();

    it('the well-formed request used as a baseline issues a token', async () => {
      const res = await post(form({ grant_type: 'client_credentials' }), asClient());
      expect(res.status, res.text).toBe(200);
    });

    it('answers errors as JSON even to a client that accepts only HTML (RFC 6749 §5.2)', async () => {
      for (const accept of ['text/html', 'text/html,application/xhtml+xml;q=0.9,*/*;q=0.8']) {
        expectOAuthError(await post(form({ grant_type: 'client_credentials' }), { accept }), 401, 'invalid_client');
        expectOAuthError(await post(form({ grant_type: 'password' }), { ...asClient(), accept }), 400, 'unsupported_grant_type');
      }
      const ok = await post(form({ grant_type: 'client_credentials' }), { ...asClient(), accept: 'text/html' });
      expect(ok.status, ok.text).toBe(200);
      expect(ok.headers.get('content-type')).toMatch(/^application\/json/);
    });

    it('answers invalid_request [missing grant_type] (RFC 6749 §5.2)', async () => {
      expectOAuthError(await post(form({ audience: client.api.identifier }), asClient()), 400, 'invalid_request');
    });

    it.each(['password', 'implicit', 'urn:example:made-up'])(
      'answers unsupported_grant_type [grant_type=%s] (RFC 6749 §5.2)',
      async (grant) => {
        expectOAuthError(await post(form({ grant_type: grant }), asClient()), 400, 'unsupported_grant_type');
      },
    );

    it.each([
      ['grant_type', 'client_credentials'],
      ['scope', 'read'],
      ['audience', 'https://a.example.test'],
    ])('answers invalid_request [repeated %s] (RFC 6749 §3.2)', async (name, value) => {
      const body = form([
        ['grant_type', 'client_credentials'],
        [name, value],
        [name, value],
      ]);
      expectOAuthError(await post(body, asClient()), 400, 'invalid_request');
    });

    it('answers invalid_request [repeated client_id, client_secret_post] (RFC 6749 §3.2)', async () => {
      const body = form([
        ['grant_type', 'client_credentials'],
        ['client_id', client.clientId],
        ['client_id', client.clientId],
        ['client_secret', client.clientSecret],
      ]);
      expectOAuthError(await post(body), 400, 'invalid_request');
    });

    it.each([
      ['a JSON body', 'application/json', () => JSON.stringify({ grant_type: 'client_credentials' })],
      ['a text/plain body', 'text/plain', () => 'grant_type=client_credentials'],
    ])('answers invalid_request [%s] (RFC 6749 §4.4.2)', async (_label, type, body) => {
      expectOAuthError(await post(body(), { ...asClient(), 'content-type': type }), 400, 'invalid_request');
    });

    it('answers invalid_request [a multipart/form-data body] (RFC 6749 §4.4.2)', async () => {
      const res = await send(`${server.url}/oauth/token`, { body: multipart({ grant_type: 'client_credentials' }), headers: asClient() });
      expectOAuthError(res, 400, 'invalid_request');
    });

    it('answers invalid_request [empty body]', async () => {
      expectOAuthError(await post('', asClient()), 400, 'invalid_request');
    });

    it('answers a 4xx invalid_request promptly [2 MB body]', async () => {
      const res = await post(`${form({ grant_type: 'client_credentials' })}&pad=${'a'.repeat(TWO_MB)}`, asClient());
      expectTooLarge(res);
    });

    it('answers invalid_client with 401 [no client authentication at all] (RFC 6749 §5.2)', async () => {
      expectOAuthError(await post(form({ grant_type: 'client_credentials' })), 401, 'invalid_client');
    });

    it('answers invalid_request [Basic header plus client_secret in the body] (RFC 6749 §2.3, §5.2)', async () => {
      const res = await post(form({ grant_type: 'client_credentials', client_secret: client.clientSecret }), asClient());
      expectOAuthError(res, 400, 'invalid_request');
    });

    it('answers invalid_request [client_id in the body differs from the Basic one]', async () => {
      const res = await post(form({ grant_type: 'client_credentials', client_id: 'someone-else' }), asClient());
      expectOAuthError(res, 400, 'invalid_request');
    });

    it('answers each malformed Authorization header as RFC 6749 §5.2 says', async () => {
      for (const [label, header, status, error] of malformedAuthorizations(client)) {
        const res = await post(form({ grant_type: 'client_credentials' }), { authorization: header });
        expect({ label, status: res.status, error: res.json?.error }, res.text).toEqual({ label, status, error });
        expectOAuthError(res, status, error);
      }
    });

    it('answers invalid_scope [non-UTF-8 bytes in scope]', async () => {
      const body = Buffer.concat([Buffer.from('grant_type=client_credentials&scope='), Buffer.from([0xff, 0xfe, 0xc3])]);
      expectOAuthError(await post(body, asClient()), 400, 'invalid_scope');
    });

    it('answers invalid_client [non-UTF-8 bytes in client_id]', async () => {
      const body = Buffer.concat([
        Buffer.from(`grant_type=client_credentials&client_secret=${client.clientSecret}&client_id=`),
        Buffer.from([0xff, 0xfe]),
      ]);
      expectOAuthError(await post(body), 401, 'invalid_client');
    });

    it('answers invalid_client [10,000-character client_id, in the body and in Basic]', async () => {
      const long = 'x'.repeat(10_000);
      expectOAuthError(
        await post(form({ grant_type: 'client_credentials', client_id: long, client_secret: 'ghcs_x' })),
        401,
        'invalid_client',
      );
      expectOAuthError(
        await post(form({ grant_type: 'client_credentials' }), { authorization: basicAuth(long, 'ghcs_x') }),
        401,
        'invalid_client',
      );
    });

    it.each(['GET', 'PUT', 'DELETE'])('answers 405 with Allow: POST and no token [%s] (RFC 6749 §3.2)', async (method) => {
      const query = form({ grant_type: 'client_credentials' });
      const res = await send(`${server.url}/oauth/token?${query}`, {
        method,
        headers: asClient(),
        ...(method === 'GET' ? {} : { body: query }),
      });
      expectOAuthError(res, 405, 'invalid_request');
      expect(res.headers.get('allow')).toBe('POST');
    });
  });

  describe.each([
    ['/oauth/introspect', 'RFC 7662 §2'],
    ['/oauth/revoke', 'RFC 7009 §2'],
  ])('POST %s', (path, rfc) => {
    const post = (body: RequestBody | undefined, headers: Record<string, string> = {}) =>
      send(`${server.url}${path}`, { body, headers: { 'content-type': FORM, ...headers } });
    const asClient = () => ({ authorization: basicAuth(client.clientId, client.clientSecret) });

    it(`accepts the well-formed request used as a baseline (${rfc})`, async () => {
      const res = await post('token=not-a-token', asClient());
      expect(res.status, res.text).toBe(200);
    });

    it(`answers invalid_request [missing token] (${rfc})`, async () => {
      expectOAuthError(await post('token_type_hint=access_token', asClient()), 400, 'invalid_request');
      expectOAuthError(await post('token=', asClient()), 400, 'invalid_request');
    });

    it(`answers invalid_request [repeated token] (${rfc}, RFC 6749 §3.2)`, async () => {
      expectOAuthError(await post('token=a&token=b', asClient()), 400, 'invalid_request');
    });

    it.each([
      ['a JSON body', 'application/json', JSON.stringify({ token: 'a' })],
      ['a text/plain body', 'text/plain', 'token=a'],
    ])(`answers invalid_request [%s] (${rfc})`, async (_label, type, body) => {
      expectOAuthError(await post(body, { ...asClient(), 'content-type': type }), 400, 'invalid_request');
    });

    it(`answers invalid_request [a multipart/form-data body] (${rfc})`, async () => {
      const res = await send(`${server.url}${path}`, { body: multipart({ token: 'a' }), headers: asClient() });
      expectOAuthError(res, 400, 'invalid_request');
    });

    it('answers a 4xx invalid_request promptly [2 MB body]', async () => {
      expectTooLarge(await post(`token=a&pad=${'a'.repeat(TWO_MB)}`, asClient()));
    });

    it('answers each malformed Authorization header as RFC 6749 §5.2 says', async () => {
      for (const [label, header, status, error] of malformedAuthorizations(client)) {
        const res = await post('token=a', { authorization: header });
        expect({ label, status: res.status, error: res.json?.error }, res.text).toEqual({ label, status, error });
        expectOAuthError(res, status, error);
      }
    });

    it('answers invalid_request [Basic header plus client_secret in the body] (RFC 6749 §2.3)', async () => {
      expectOAuthError(await post(`token=a&client_secret=${client.clientSecret}`, asClient()), 400, 'invalid_request');
    });

    it('answers invalid_client with 401 [unknown client, Basic and client_secret_post]', async () => {
      expectOAuthError(await post('token=a', { authorization: basicAuth('no-such-client', client.clientSecret) }), 401, 'invalid_client');
      expectOAuthError(await post(`token=a&client_id=no-such-client&client_secret=${client.clientSecret}`), 401, 'invalid_client');
    });

    it('answers invalid_client with 401 [wrong secret]', async () => {
      expectOAuthError(await post('token=a', { authorization: basicAuth(client.clientId, 'ghcs_wrong') }), 401, 'invalid_client');
    });

    it(`answers invalid_client with 401 [no client authentication] (${rfc})`, async () => {
      expectOAuthError(await post('token=a'), 401, 'invalid_client');
      expectOAuthError(await post(`token=a&client_id=${client.clientId}`), 401, 'invalid_client');
    });

    it('answers invalid_client [10,000-character client_id]', async () => {
      expectOAuthError(await post(`token=a&client_id=${'x'.repeat(10_000)}&client_secret=ghcs_x`), 401, 'invalid_client');
    });

    it('treats non-UTF-8 bytes in the token as an unknown token, not an error', async () => {
      const res = await post(Buffer.concat([Buffer.from('token='), Buffer.from([0xff, 0xfe, 0xc3])]), asClient());
      expect(res.status, res.text).toBe(200);
      if (path === '/oauth/introspect') expect(res.json).toEqual({ active: false });
    });

    it.each(['GET', 'PUT'])('answers 405 with Allow: POST [%s]', async (method) => {
      const res = await send(`${server.url}${path}?token=a`, {
        method,
        headers: asClient(),
        ...(method === 'GET' ? {} : { body: 'token=a' }),
      });
      expectOAuthError(res, 405, 'invalid_request');
      expect(res.headers.get('allow')).toBe('POST');
    });
  });
});

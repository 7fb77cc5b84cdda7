import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/lib/logger.ts';
import { introspect, waitFor } from '../support/downstream.ts';
import { basicAuth, makeClient, makeMachineSetup, postForm } from '../support/fixtures.ts';
import { sendRaw } from '../support/raw-http.ts';
import { LogCapture, startTestServer, type TestServer } from '../support/server.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * Request ids and access logs (README "Logs and operations"): one JSON line per request with its
 * id, and never a secret, a token or an Authorization header.
 */
describe('request ids and logs', () => {
  let server: TestServer;
  beforeAll(async () => {
    // the test server logs at debug, so protocol-error details are captured too
    server = await startTestServer();
  });
  afterAll(() => server?.close());

  describe('X-Request-Id', () => {
    it('is generated when the caller sends none, and differs per request', async () => {
      const [a, b] = await Promise.all([fetch(`${server.url}/healthz`), fetch(`${server.url}/healthz`)]);
      expect(a.headers.get('x-request-id')).toMatch(UUID);
      expect(b.headers.get('x-request-id')).toMatch(UUID);
      expect(a.headers.get('x-request-id')).not.toBe(b.headers.get('x-request-id'));
    });

    it("keeps a caller's well-formed id on every kind of response", async () => {
      const { clientId, clientSecret, api } = await makeMachineSetup(server.services);
      const requests: Array<[string, () => Promise<Response>, number]> = [
        ['health', () => fetch(`${server.url}/healthz`, { headers: { 'x-request-id': 'lb-1234.abc_DEF:9' } }), 200],
        ['jwks', () => fetch(`${server.url}/.well-known/jwks.json`, { headers: { 'x-request-id': 'lb-1234.abc_DEF:9' } }), 200],
        ['not found', () => fetch(`${server.url}/no/such/route`, { headers: { 'x-request-id': 'lb-1234.abc_DEF:9' } }), 404],
        [
          'token (oidc-provider)',
          () =>
            fetch(`${server.url}/oauth/token`, {
              method: 'POST',
              headers: {
                'x-request-id': 'lb-1234.abc_DEF:9',
                'content-type': 'application/x-www-form-urlencoded',
                authorization: basicAuth(clientId, clientSecret),
              },
              body: new URLSearchParams({ grant_type: 'client_credentials', audience: api.identifier }),
            }),
          200,
        ],
        [
          'token error (oidc-provider)',
          () =>
            fetch(`${server.url}/oauth/token`, {
              method: 'POST',
              headers: {
                'x-request-id': 'lb-1234.abc_DEF:9',
                'content-type': 'application/x-www-form-urlencoded',
                authorization: basicAuth(clientId, 'ghcs_wrong'),
              },
              body: new URLSearchParams({ grant_type: 'client_credentials' }),
            }),
          401,
        ],
        [
          'introspection error',
          () =>
            fetch(`${server.url}/oauth/introspect`, {
              method: 'POST',
              headers: { 'x-request-id': 'lb-1234.abc_DEF:9', 'content-type': 'application/x-www-form-urlencoded' },
              body: 'token=x',
            }),
          401,
        ],
      ];
      for (const [name, send, status] of requests) {
        const res = await send();
        await res.arrayBuffer();
        expect(res.status, name).toBe(status);
        expect(res.headers.get('x-request-id'), name).toBe('lb-1234.abc_DEF:9');
      }
    });

    it.each([
      ['spaces', 'has spaces in it'],
      ['too long', 'a'.repeat(129)],
      ['markup', '<script>alert(1)</script>'],
      ['log-injection attempt', 'x"},"level":"fatal'],
    ])('replaces a malformed caller id with a fresh one [%s]', async (_name, bad) => {
      const res = await fetch(`${server.url}/healthz`, { headers: { 'x-request-id': bad } });
      const echoed = res.headers.get('x-request-id');
      expect(echoed).toMatch(UUID);
      expect(echoed).not.toBe(bad);
      await waitFor('the request line', async () =>
        server.logs.records().find((r) => r.msg === 'request' && r.reqId === echoed) ? true : undefined,
      );
      expect(server.logs.text).not.toContain(bad);
      expect(server.logs.text).not.toContain(JSON.stringify(bad).slice(1, -1)); // as it would appear inside a JSON string
    });
  });

  describe('access log', () => {
    it('writes one request line per request with its id, method, path and status, and never a secret, token or Authorization value', async () => {
      const { clientId, clientSecret, api } = await makeMachineSetup(server.services);
      const basic = basicAuth(clientId, clientSecret);
      const run = randomUUID().slice(0, 8);
      const id = (step: string) => `${run}-${step}`;
      const send = (step: string, path: string, form: Record<string, string>, headers: Record<string, string> = {}) =>
        postForm(`${server.url}${path}`, form, { 'x-request-id': id(step), ...headers });

      const viaBasic = await send(
        'token-basic',
        '/oauth/token',
        { grant_type: 'client_credentials', audience: api.identifier },
        { authorization: basic },
      );
      const viaPost = await send('token-post', '/oauth/token', {
        grant_type: 'client_credentials',
        resource: api.identifier,
        client_id: clientId,
        client_secret: clientSecret,
      });
      expect(viaBasic.status).toBe(200);
      expect(viaPost.status).toBe(200);
      const tokenA = viaBasic.body.access_token as string;
      const tokenB = viaPost.body.access_token as string;
      const wrongSecret = `ghcs_${randomUUID()}`;
      const steps: Array<[string, string, number, Promise<{ status: number }>]> = [
        [
          'introspect-basic',
          '/oauth/introspect',
          200,
          send('introspect-basic', '/oauth/introspect', { token: tokenA }, { authorization: basic }),
        ],
        [
          'introspect-post',
          '/oauth/introspect',
          200,
          send('introspect-post', '/oauth/introspect', { token: tokenB, client_id: clientId, client_secret: clientSecret }),
        ],
        ['revoke', '/oauth/revoke', 200, send('revoke', '/oauth/revoke', { token: tokenA }, { authorization: basic })],
        [
          'token-wrong-secret',
          '/oauth/token',
          401,
          send('token-wrong-secret', '/oauth/token', { grant_type: 'client_credentials', client_id: clientId, client_secret: wrongSecret }),
        ],
        [
          'introspect-wrong-secret',
          '/oauth/introspect',
          401,
          send('introspect-wrong-secret', '/oauth/introspect', { token: tokenB }, { authorization: basicAuth(clientId, wrongSecret) }),
        ],
      ];
      for (const [step, , status, pending] of steps) expect((await pending).status, step).toBe(status);

      const expected: Array<[string, string, number]> = [
        ['token-basic', '/oauth/token', 200],
        ['token-post', '/oauth/token', 200],
        ...steps.map(([step, path, status]) => [step, path, status] as [string, string, number]),
      ];
      await waitFor('every request line', async () =>
        expected.every(([step]) => server.logs.records().some((r) => r.msg === 'request' && r.reqId === id(step))) ? true : undefined,
      );
      const records = server.logs.records();
      for (const [step, path, status] of expected) {
        const lines = records.filter((r) => r.msg === 'request' && r.reqId === id(step));
        expect(lines, step).toHaveLength(1);
        expect(lines[0], step).toMatchObject({ method: 'POST', path, status, level: 'info' });
        expect(typeof lines[0]?.ms).toBe('number');
      }

      const text = server.logs.text;
      const basicValue = basic.slice('Basic '.length);
      const forbidden: Record<string, string> = {
        'client secret': clientSecret,
        'wrong secret': wrongSecret,
        'access token (Basic)': tokenA,
        'access token (post)': tokenB,
        'access token signature': tokenA.split('.')[2] as string,
        'Authorization header value': basicValue,
      };
      for (const [what, value] of Object.entries(forbidden)) expect(text.includes(value), `${what} must not be logged`).toBe(false);
    });

    it('logs the path without its query string', async () => {
      const res = await fetch(`${server.url}/healthz?code=SECRET-CODE-123&state=xyz`, { headers: { 'x-request-id': `${randomUUID()}` } });
      const reqId = res.headers.get('x-request-id');
      const line = await waitFor('the request line', async () =>
        server.logs.records().find((r) => r.msg === 'request' && r.reqId === reqId),
      );
      expect(line.path).toBe('/healthz');
      expect(server.logs.text).not.toContain('SECRET-CODE-123');
    });

    it('never logs an introspected or revoked token even when the caller fails to authenticate', async () => {
      const { clientId, clientSecret, api } = await makeMachineSetup(server.services);
      const token = (
        await postForm(
          `${server.url}/oauth/token`,
          { grant_type: 'client_credentials', audience: api.identifier },
          { authorization: basicAuth(clientId, clientSecret) },
        )
      ).body.access_token as string;
      const stranger = await makeClient(server.services);
      expect((await introspect(server.url, { clientId: stranger.clientId, clientSecret: 'ghcs_nope' }, token)).status).toBe(401);
      expect((await postForm(`${server.url}/oauth/revoke`, { token })).status).toBe(401);
      // a foreign token: answered as an unknown one (RFC 7009 §2.1-2.2)
      expect(
        (await postForm(`${server.url}/oauth/revoke`, { token }, { authorization: basicAuth(stranger.clientId, stranger.clientSecret) }))
          .status,
      ).toBe(200);
      expect((await introspect(server.url, stranger, token)).body).toStrictEqual({ active: false });
      expect(server.logs.text).not.toContain(token);
      expect(server.logs.text).not.toContain(stranger.clientSecret);
    });

    it('never logs a mixed-case AuThOrIzAtIoN header or a credential nested in a form, whatever the answer', async () => {
      const { clientId, clientSecret, api } = await makeMachineSetup(server.services);
      const wrong = `ghcs_${randomUUID()}`;
      const assertion = `eyJhbGciOiJub25lIn0.${randomUUID()}.`;
      const headers = (secret: string) => ({
        AuThOrIzAtIoN: basicAuth(clientId, secret),
        'Content-Type': 'application/x-www-form-urlencoded',
        'X-Request-Id': `${randomUUID()}`,
      });
      const answers = [
        await sendRaw(server.url, {
          method: 'POST',
          path: '/oauth/token',
          headers: headers(clientSecret),
          body: `grant_type=client_credentials&audience=${encodeURIComponent(api.identifier)}`,
        }),
        await sendRaw(server.url, { method: 'POST', path: '/oauth/token', headers: headers(wrong), body: 'grant_type=client_credentials' }),
        await sendRaw(server.url, {
          method: 'POST',
          path: '/oauth/token',
          headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
          body: `grant_type=client_credentials&client_id=${clientId}&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion=${assertion}`,
        }),
        await sendRaw(server.url, { method: 'POST', path: '/oauth/introspect', headers: headers(wrong), body: 'token=x' }),
      ];
      expect(answers.map((a) => a.status)).toStrictEqual([200, 401, 401, 401]);
      const issued = (JSON.parse(answers[0]?.body ?? '{}') as { access_token: string }).access_token;
      await waitFor('the request lines', async () =>
        server.logs.records().filter((r) => r.msg === 'request').length > 0 ? true : undefined,
      );
      for (const [what, value] of Object.entries({
        'client secret': clientSecret,
        'wrong secret': wrong,
        'Basic credentials': basicAuth(clientId, clientSecret).slice('Basic '.length),
        'wrong Basic credentials': basicAuth(clientId, wrong).slice('Basic '.length),
        'client assertion': assertion,
        'issued token': issued,
      })) {
        expect(server.logs.text.includes(value), `${what} must not be logged`).toBe(false);
      }
    });
  });

  describe('logger redaction (src/lib/logger.ts)', () => {
    function capture() {
      const out = new LogCapture();
      return { out, log: createLogger({ level: 'debug', destination: out }) };
    }

    it('redacts secrets, passwords and tokens at the top level and one level down', () => {
      const { out, log } = capture();
      log.info({ client_secret: 'S-top', password: 'P-top', token: 'T-top', clientSecret: 'CS-top' }, 'top level');
      log.info(
        {
          form: {
            client_secret: 'S-form',
            password: 'P-form',
            token: 'T-form',
            access_token: 'A-form',
            refresh_token: 'R-form',
            id_token: 'I-form',
            code: 'C-form',
            code_verifier: 'V-form',
            secret: 'X-form',
          },
          client: { clientSecret: 'CS-client', client_id: 'visible-id' },
        },
        'nested',
      );
      log.child({ reqId: 'r1' }).warn({ body: { client_secret: 'S-child' } }, 'child logger');
      const [top, nested, child] = out.records();
      expect(top).toMatchObject({ client_secret: '[redacted]', password: '[redacted]', token: '[redacted]', clientSecret: '[redacted]' });
      expect(nested?.form).toStrictEqual({
        client_secret: '[redacted]',
        password: '[redacted]',
        token: '[redacted]',
        access_token: '[redacted]',
        refresh_token: '[redacted]',
        id_token: '[redacted]',
        code: '[redacted]',
        code_verifier: '[redacted]',
        secret: '[redacted]',
      });
      expect(nested?.client).toStrictEqual({ clientSecret: '[redacted]', client_id: 'visible-id' });
      expect(child).toMatchObject({ reqId: 'r1', body: { client_secret: '[redacted]' } });
      for (const leaked of [
        'S-top',
        'P-top',
        'T-top',
        'CS-top',
        'S-form',
        'A-form',
        'R-form',
        'V-form',
        'X-form',
        'CS-client',
        'S-child',
      ]) {
        expect(out.text).not.toContain(leaked);
      }
    });

    it('redacts Authorization and Cookie headers of requests and Set-Cookie of responses', () => {
      const { out, log } = capture();
      log.info(
        {
          req: {
            method: 'POST',
            headers: { authorization: 'Basic QUxBRERJTjpPUEVOU0VTQU1F', cookie: 'sid=COOKIE1', 'user-agent': 'curl' },
          },
          res: { headers: { 'set-cookie': 'sid=COOKIE2' } },
        },
        'request',
      );
      log.info({ headers: { authorization: 'Bearer eyJBEARER', cookie: 'sid=COOKIE3', accept: '*/*' } }, 'headers');
      const [request, headers] = out.records();
      expect(request?.req).toMatchObject({ headers: { authorization: '[redacted]', cookie: '[redacted]', 'user-agent': 'curl' } });
      expect(request?.res).toStrictEqual({ headers: { 'set-cookie': '[redacted]' } });
      expect(headers?.headers).toStrictEqual({ authorization: '[redacted]', cookie: '[redacted]', accept: '*/*' });
      for (const leaked of ['QUxBRERJTjpPUEVOU0VTQU1F', 'COOKIE1', 'COOKIE2', 'COOKIE3', 'eyJBEARER'])
        expect(out.text).not.toContain(leaked);
    });

    it('does not alter the object that was logged', () => {
      const { log } = capture();
      const form = { client_secret: 'still-here' };
      log.info({ form }, 'x');
      expect(form.client_secret).toBe('still-here');
    });

    it('redacts header names whatever their case, e.g. AuThOrIzAtIoN, Proxy-Authorization, X-Api-Key', () => {
      const { out, log } = capture();
      log.info(
        {
          req: {
            headers: {
              AuThOrIzAtIoN: 'Basic TUlYRUQtQ0FTRQ==',
              'Proxy-Authorization': 'Basic UFJPWFk=',
              COOKIE: 'sid=COOKIE-UPPER',
              'X-Api-Key': 'APIKEY-1',
              Accept: '*/*',
            },
          },
        },
        'mixed case',
      );
      const [line] = out.records();
      expect(line?.req).toStrictEqual({
        headers: {
          AuThOrIzAtIoN: '[redacted]',
          'Proxy-Authorization': '[redacted]',
          COOKIE: '[redacted]',
          'X-Api-Key': '[redacted]',
          Accept: '*/*',
        },
      });
      for (const leaked of ['TUlYRUQtQ0FTRQ==', 'UFJPWFk=', 'COOKIE-UPPER', 'APIKEY-1']) expect(out.text).not.toContain(leaked);
    });

    it('redacts credentials nested at any depth, in arrays and in child bindings', () => {
      const { out, log } = capture();
      log.info({ request: { headers: { authorization: 'Bearer DEEP-1' } }, a: { b: { c: { d: { password: 'DEEP-2' } } } } }, 'deep');
      log.info({ batch: [{ form: { client_assertion: 'DEEP-3', Refresh_Token: 'DEEP-4', client_id: 'visible-id' } }] }, 'array');
      log.child({ upstream: { headers: { Cookie: 'DEEP-5' } } }).info({ body: { Code_Verifier: 'DEEP-6' } }, 'child');
      const [deep, array, child] = out.records();
      expect(deep).toMatchObject({
        request: { headers: { authorization: '[redacted]' } },
        a: { b: { c: { d: { password: '[redacted]' } } } },
      });
      expect(array?.batch).toStrictEqual([
        { form: { client_assertion: '[redacted]', Refresh_Token: '[redacted]', client_id: 'visible-id' } },
      ]);
      expect(child).toMatchObject({ upstream: { headers: { Cookie: '[redacted]' } }, body: { Code_Verifier: '[redacted]' } });
      expect(out.text).not.toMatch(/DEEP-\d/);
    });
  });
});

import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createAccessLogger, createLogger, isCredentialName, redactCredentials, serializeError } from './logger.ts';

/** Issue 8 item 12: redaction by field name, case-insensitive and at any depth. */

function capture() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      done();
    },
  });
  const log = createLogger({ level: 'debug', destination });
  return { log, lines, records: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>), text: () => lines.join('\n') };
}

describe('isCredentialName', () => {
  it.each([
    'authorization',
    'Authorization',
    'AuThOrIzAtIoN',
    'AUTHORIZATION',
    'Proxy-Authorization',
    'cookie',
    'Cookie',
    'set-cookie',
    'Set-Cookie',
    'X-Api-Key',
    'x-api-key',
    'apiKey',
    'DPoP',
    'client_secret',
    'clientSecret',
    'Client-Secret',
    'CLIENT_SECRET',
    'secret',
    'password',
    'Password',
    'new_password',
    'token',
    'Token',
    'access_token',
    'accessToken',
    'refresh_token',
    'Refresh_Token',
    'id_token',
    'subject_token',
    'registration_access_token',
    'tokens',
    'code',
    'Code',
    'code_verifier',
    'CODE_VERIFIER',
    'device_code',
    'user_code',
    'assertion',
    'client_assertion',
    'clientAssertion',
    'masterKey',
    'master_key',
    'privateJwk',
  ])('names a credential [%s]', (name) => {
    expect(isCredentialName(name)).toBe(true);
  });

  it.each([
    'client_id',
    'clientId',
    'token_type',
    'token_type_hint',
    'token_endpoint',
    'scope',
    'grant_type',
    'statusCode',
    'error_code',
    'kid',
    'alg',
    'path',
    'method',
    'reqId',
    'status',
    'ms',
    'accept',
    'user-agent',
    'content-type',
    'x-request-id',
  ])('leaves other names alone [%s]', (name) => {
    expect(isCredentialName(name)).toBe(false);
  });
});

describe('redactCredentials', () => {
  it('blanks credentials at any depth, whatever their case, in objects and arrays', () => {
    const input = {
      request: {
        headers: {
          AuThOrIzAtIoN: 'Basic U0VDUkVULUhFQURFUg==',
          Cookie: 'sid=SECRET-COOKIE',
          'Proxy-Authorization': 'Basic U0VDUkVULVBST1hZ',
          'X-Api-Key': 'SECRET-API-KEY',
          accept: '*/*',
        },
      },
      a: { b: { c: { d: { password: 'SECRET-PW', Client_Secret: 'SECRET-CS', keep: 'visible-1' } } } },
      forms: [{ refresh_token: 'SECRET-RT' }, { code: 'SECRET-CODE', code_verifier: 'SECRET-CV', state: 'visible-2' }],
      assertion: { header: 'eyJ', payload: 'SECRET-ASSERTION' },
      client_id: 'visible-3',
    };
    const out = redactCredentials(input) as typeof input;
    expect(out.request.headers).toStrictEqual({
      AuThOrIzAtIoN: '[redacted]',
      Cookie: '[redacted]',
      'Proxy-Authorization': '[redacted]',
      'X-Api-Key': '[redacted]',
      accept: '*/*',
    });
    expect(out.a.b.c.d).toStrictEqual({ password: '[redacted]', Client_Secret: '[redacted]', keep: 'visible-1' });
    expect(out.forms).toStrictEqual([
      { refresh_token: '[redacted]' },
      { code: '[redacted]', code_verifier: '[redacted]', state: 'visible-2' },
    ]);
    expect(out.assertion).toBe('[redacted]');
    expect(JSON.stringify(out)).not.toMatch(/SECRET|U0VDUkVU/);
    expect(JSON.stringify(out)).toMatch(/visible-1.*visible-2.*visible-3/);
  });

  it('never alters the object given, and returns it as is when there is nothing to blank', () => {
    const nested = { headers: { authorization: 'Bearer SECRET' }, other: { x: 1 } };
    const out = redactCredentials(nested) as typeof nested;
    expect(nested.headers.authorization).toBe('Bearer SECRET');
    expect(out).not.toBe(nested);
    expect(out.other).toBe(nested.other); // untouched branches are shared, not copied
    const clean = { reqId: 'r', method: 'GET', path: '/x', status: 200, nested: { a: [1, 2, { b: 'c' }] } };
    expect(redactCredentials(clean)).toBe(clean);
  });

  it('survives cycles and bounds its depth', () => {
    const cyclic: Record<string, unknown> = { name: 'loop', password: 'SECRET' };
    cyclic.self = cyclic;
    cyclic.list = [cyclic];
    const out = redactCredentials(cyclic) as Record<string, unknown>;
    expect(out).toMatchObject({ name: 'loop', password: '[redacted]', self: '[Circular]', list: ['[Circular]'] });

    let deep: Record<string, unknown> = { token: 'SECRET-DEEP' };
    for (let i = 0; i < 5000; i++) deep = { next: deep };
    const text = JSON.stringify(redactCredentials(deep));
    expect(text).toContain('[truncated]');
    expect(text).not.toContain('SECRET-DEEP');
  });

  it('leaves values with toJSON (dates, buffers, URLs) and primitives whole', () => {
    const at = new Date(0);
    const url = new URL('https://issuer.example/oauth/token');
    expect(redactCredentials({ at, url, n: 1, s: 's', b: false })).toStrictEqual({ at, url, n: 1, s: 's', b: false });
    expect(redactCredentials('token')).toBe('token');
    expect(redactCredentials(null)).toBe(null);
  });

  it('serializes errors found anywhere, with their credentials and query parameters blanked', () => {
    const err = Object.assign(new Error('request failed'), {
      code: 'ECONNREFUSED',
      params: ['SECRET-PARAM'],
      request: { headers: { Authorization: 'Bearer SECRET-ERR' } },
    });
    const out = redactCredentials({ detail: { failure: err } }) as { detail: { failure: Record<string, unknown> } };
    expect(out.detail.failure).toMatchObject({ type: 'Error', message: 'request failed', code: 'ECONNREFUSED', params: '[redacted]' });
    expect(JSON.stringify(out)).not.toContain('SECRET');
  });
});

describe('serializeError', () => {
  it("keeps an error's own code, blanks credentials and queries through its cause chain", () => {
    const cause = Object.assign(new Error('driver failed'), {
      code: '57P01',
      query: 'SELECT * FROM t WHERE token = $1',
      values: ['SECRET-VALUE'],
      config: { password: 'SECRET-PW', host: 'db' },
    });
    const err = Object.assign(new Error('lookup failed', { cause }), { code: 'P1017', headers: { 'Set-Cookie': 'SECRET-SC' } });
    const out = serializeError(err) as Record<string, unknown>;
    expect(out).toMatchObject({ code: 'P1017', headers: { 'Set-Cookie': '[redacted]' } });
    expect(JSON.stringify(out)).not.toContain('SECRET');
  });
});

describe('createLogger', () => {
  it('writes no credential whatever its case or depth, in a line, an error or child bindings', () => {
    const { log, text, records } = capture();
    log.info({ req: { headers: { AuThOrIzAtIoN: 'Basic U0VDUkVULTE=', 'X-API-KEY': 'SECRET-2' } } }, 'mixed case');
    log.info({ a: { b: { c: { Password: 'SECRET-3', client_assertion: 'SECRET-4' } } } }, 'deep');
    log.child({ headers: { Cookie: 'SECRET-5' } }).warn({ body: { Refresh_Token: 'SECRET-6' } }, 'child');
    log.error({ err: Object.assign(new Error('boom'), { code: 'E_BOOM', form: { CODE_VERIFIER: 'SECRET-7' } }) }, 'error');
    expect(text()).not.toMatch(/SECRET|U0VDUkVU/);
    const [mixed, deep, child, error] = records();
    expect(mixed?.req).toStrictEqual({ headers: { AuThOrIzAtIoN: '[redacted]', 'X-API-KEY': '[redacted]' } });
    expect(deep?.a).toStrictEqual({ b: { c: { Password: '[redacted]', client_assertion: '[redacted]' } } });
    expect(child).toMatchObject({ headers: { Cookie: '[redacted]' }, body: { Refresh_Token: '[redacted]' } });
    expect(error?.err).toMatchObject({ message: 'boom', code: 'E_BOOM', form: { CODE_VERIFIER: '[redacted]' } });
  });

  it('the access logger writes its fixed fields unchanged', () => {
    const { log, records } = capture();
    createAccessLogger(log).info({ reqId: 'r1', method: 'POST', path: '/oauth/token', status: 200, ms: 1.5 }, 'request');
    expect(records()[0]).toMatchObject({ reqId: 'r1', method: 'POST', path: '/oauth/token', status: 200, ms: 1.5, msg: 'request' });
  });
});

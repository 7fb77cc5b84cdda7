import { type IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import Koa from 'koa';
import { describe, expect, it } from 'vitest';
import { PROVIDER_BODY_LIMIT_BYTES, parseForm, readForm, readProviderForm, singleValued } from './form-body.ts';

const FORM = 'application/x-www-form-urlencoded';

/** A Koa context over a request whose body arrives in `chunks` (a Content-Length only when given). */
function contextFor(chunks: Array<string | Buffer>, headers: Record<string, string>) {
  const req = Readable.from(chunks.map((c) => Buffer.from(c))) as unknown as IncomingMessage;
  Object.assign(req, { headers, method: 'POST', url: '/oauth/token', httpVersion: '1.1', socket: {} });
  return new Koa().createContext(req, new ServerResponse(req));
}

/** What a later reader (oidc-provider's body parser) gets from the request. */
async function drained(req: IncomingMessage): Promise<string> {
  const out: Buffer[] = [];
  for await (const chunk of req.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>) out.push(chunk);
  return Buffer.concat(out).toString('utf8');
}

/** A form body sent in chunks, its length not declared. */
const CHUNKED = { 'content-type': FORM, 'transfer-encoding': 'chunked' };
const sized = (body: string, type = FORM) => ({ 'content-type': type, 'content-length': String(Buffer.byteLength(body)) });

describe('parseForm (RFC 6749 §3.2)', () => {
  it('decodes form-urlencoding', () => {
    expect(parseForm('a=1+2&b=%C3%A9&c=')).toEqual({ a: '1 2', b: 'é', c: '' });
  });

  it('refuses a repeated parameter [invalid_request]', () => {
    expect(() => parseForm('token=a&token=b')).toThrow(expect.objectContaining({ error: 'invalid_request' }));
  });
});

describe('readForm', () => {
  it('reads the form of an endpoint Gatehouse answers', async () => {
    expect(await readForm(contextFor(['token=a', '&token_type_hint=b'], CHUNKED), 100)).toEqual({
      token: 'a',
      token_type_hint: 'b',
    });
  });

  it('refuses another content type [invalid_request]', async () => {
    await expect(readForm(contextFor(['{}'], sized('{}', 'application/json')), 100)).rejects.toMatchObject({ error: 'invalid_request' });
  });

  it('answers 413 for a body over the limit, declared or not', async () => {
    const body = `token=${'a'.repeat(200)}`;
    await expect(readForm(contextFor([body], sized(body)), 100)).rejects.toMatchObject({ status: 413, error: 'invalid_request' });
    await expect(readForm(contextFor([body.slice(0, 90), body.slice(90)], CHUNKED), 100)).rejects.toMatchObject({
      status: 413,
    });
  });
});

describe('readProviderForm (as oidc-provider 9.13 parses, lib/shared/selective_body.js)', () => {
  it('reads repeated parameters as lists, and hands the same bytes on', async () => {
    const body = 'grant_type=client_credentials&scope=a+b&resource=x&resource=y';
    const ctx = contextFor([body], sized(body));
    const read = await readProviderForm(ctx);
    expect({ ...read?.params }).toEqual({ grant_type: 'client_credentials', scope: 'a b', resource: ['x', 'y'] });
    read?.replay();
    expect(await drained(ctx.req)).toBe(body);
  });

  it("decodes the body in the request's charset", async () => {
    const body = Buffer.concat([Buffer.from('client_id=caf'), Buffer.from([0xe9])]);
    const ctx = contextFor([body], { 'content-type': `${FORM}; charset=latin1`, 'content-length': String(body.length) });
    expect((await readProviderForm(ctx))?.params.client_id).toBe('café');
  });

  it('gives a request without a body type no parameters, and reads nothing', async () => {
    const ctx = contextFor(['grant_type=x'], { 'content-length': '12' });
    expect({ ...(await readProviderForm(ctx))?.params }).toEqual({});
    expect(await drained(ctx.req)).toBe('grant_type=x');
  });

  it('leaves a body of another type to oidc-provider, unread', async () => {
    const ctx = contextFor(['{}'], sized('{}', 'application/json'));
    expect(await readProviderForm(ctx)).toBeNull();
    expect(await drained(ctx.req)).toBe('{}');
  });

  it('leaves a body declared longer than the limit to oidc-provider, unread', async () => {
    const body = `pad=${'a'.repeat(PROVIDER_BODY_LIMIT_BYTES)}`;
    const ctx = contextFor([body], sized(body));
    expect(await readProviderForm(ctx)).toBeNull();
    expect(await drained(ctx.req)).toBe(body);
  });

  it('leaves an undeclared body over the limit to oidc-provider, with every byte', async () => {
    const half = `pad=${'a'.repeat(PROVIDER_BODY_LIMIT_BYTES / 2)}`;
    const ctx = contextFor([half, half, half], CHUNKED);
    expect(await readProviderForm(ctx)).toBeNull();
    expect(await drained(ctx.req)).toBe(half + half + half);
  });

  it('leaves a body whose length does not match Content-Length to oidc-provider, with its bytes', async () => {
    const ctx = contextFor(['a=1'], { 'content-type': FORM, 'content-length': '10' });
    expect(await readProviderForm(ctx)).toBeNull();
    expect(await drained(ctx.req)).toBe('a=1');
  });

  it('leaves a charset nobody can decode to oidc-provider', async () => {
    const ctx = contextFor(['a=1'], { 'content-type': `${FORM}; charset=x-made-up`, 'content-length': '3' });
    expect(await readProviderForm(ctx)).toBeNull();
    expect(await drained(ctx.req)).toBe('a=1');
  });
});

describe('singleValued', () => {
  it('keeps a form whose parameters are each sent once, and refuses one that repeats', () => {
    expect(singleValued({ a: '1', b: '' })).toEqual({ a: '1', b: '' });
    expect(singleValued({})).toEqual({});
    expect(singleValued({ a: '1', b: ['2', '3'] })).toBeNull();
  });
});

import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import { afterEach, describe, expect, it } from 'vitest';
import { securityHeaders } from './security-headers.ts';

describe('securityHeaders', () => {
  let close: (() => void) | undefined;
  afterEach(() => close?.());

  async function headersFor(issuer: string): Promise<Headers> {
    const app = new Koa();
    app.use(securityHeaders({ issuer }));
    app.use((ctx) => {
      ctx.body = { ok: true };
    });
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    close = () => server.close();
    const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    await res.arrayBuffer();
    return res.headers;
  }

  it('sends Strict-Transport-Security, without includeSubDomains, when the issuer is https (RFC 6797 §6.1)', async () => {
    expect((await headersFor('https://auth.example.test')).get('strict-transport-security')).toBe('max-age=31536000');
  });

  it('sends no Strict-Transport-Security when the issuer is plain http (RFC 6797 §7.2)', async () => {
    expect((await headersFor('http://127.0.0.1:3000')).get('strict-transport-security')).toBeNull();
  });

  it('sends only the headers it documents', async () => {
    const headers = await headersFor('https://auth.example.test');
    const security = [...headers.keys()].filter((h) => !['content-type', 'content-length', 'date', 'connection', 'keep-alive'].includes(h));
    expect(security.sort()).toEqual([
      'content-security-policy',
      'cross-origin-resource-policy',
      'referrer-policy',
      'strict-transport-security',
      'x-content-type-options',
      'x-frame-options',
    ]);
    expect(headers.get('content-security-policy')).toBe("default-src 'none';base-uri 'none';form-action 'none';frame-ancestors 'none'");
  });
});

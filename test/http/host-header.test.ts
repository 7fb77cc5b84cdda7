import { afterEach, describe, expect, it } from 'vitest';
import { sendRaw } from '../support/raw-http.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

/**
 * Every URL the server publishes derives from ISSUER (DESIGN.md §5), never from request headers:
 * discovery is rendered once per provider instance, so a hostile Host on the first request after
 * a start (or a key rotation) used to be served to everyone after it.
 */
const DOCUMENTS = ['/.well-known/openid-configuration', '/.well-known/oauth-authorization-server'];

function publishedUrls(body: string): string[] {
  return Object.values(JSON.parse(body) as Record<string, unknown>).filter(
    (v): v is string => typeof v === 'string' && /^[a-z]+:\/\//.test(v),
  );
}

describe('published URLs ignore Host and X-Forwarded-* headers', () => {
  let server: TestServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  for (const trustProxy of ['false', 'true']) {
    it(`discovery after a hostile first request lists only issuer URLs [TRUST_PROXY=${trustProxy}]`, async () => {
      server = await startTestServer({ env: { TRUST_PROXY: trustProxy } });
      const hostile = { host: 'attacker.example', 'x-forwarded-host': 'attacker.example', 'x-forwarded-proto': 'https' };
      for (const path of DOCUMENTS) {
        const first = await sendRaw(server.url, { method: 'GET', path, headers: hostile });
        expect(first.status).toBe(200);
        for (const url of publishedUrls(first.body)) expect(url === server.url || url.startsWith(`${server.url}/`), url).toBe(true);
        const plain = await sendRaw(server.url, { method: 'GET', path });
        const urls = publishedUrls(plain.body);
        expect(urls.length).toBeGreaterThan(3);
        for (const url of urls) expect(url === server.url || url.startsWith(`${server.url}/`), url).toBe(true);
      }
    });
  }
});

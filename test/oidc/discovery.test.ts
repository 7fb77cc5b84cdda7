import type { JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchJwks, waitForJwksChange } from '../support/downstream.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

/**
 * Discovery (OpenID Connect Discovery 1.0 §4, RFC 8414 §3) and the JWKS (RFC 7517 §5): their
 * content, and the HTTP caching both are served with.
 */
describe('discovery and JWKS', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server?.close());

  const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k', 'oth'];

  describe('discovery document', () => {
    it('names the issuer and every endpoint under it (OIDC Discovery §3, RFC 8414 §2)', async () => {
      const res = await fetch(`${server.url}/.well-known/openid-configuration`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      const doc = (await res.json()) as Record<string, unknown>;
      expect(doc.issuer).toBe(server.url);
      expect(doc.token_endpoint).toBe(`${server.url}/oauth/token`);
      expect(doc.introspection_endpoint).toBe(`${server.url}/oauth/introspect`);
      expect(doc.revocation_endpoint).toBe(`${server.url}/oauth/revoke`);
      expect(doc.jwks_uri).toBe(`${server.url}/.well-known/jwks.json`);
    });

    it('advertises the client credentials grant and the secret-based client authentication methods (RFC 8414 §2)', async () => {
      const doc = (await (await fetch(`${server.url}/.well-known/openid-configuration`)).json()) as Record<string, string[]>;
      expect(doc.grant_types_supported).toContain('client_credentials');
      expect(doc.token_endpoint_auth_methods_supported).toEqual(expect.arrayContaining(['client_secret_basic', 'client_secret_post']));
      // client_secret_jwt needs the plain secret, which Gatehouse does not keep
      expect(doc.token_endpoint_auth_methods_supported).not.toContain('client_secret_jwt');
      for (const member of ['introspection_endpoint_auth_methods_supported', 'revocation_endpoint_auth_methods_supported']) {
        expect(doc[member], member).toEqual(expect.arrayContaining(['client_secret_basic', 'client_secret_post']));
        // the endpoints refuse unauthenticated callers, so `none` must not be advertised
        expect(doc[member], member).not.toContain('none');
      }
    });

    it('serves the same document at /.well-known/oauth-authorization-server (RFC 8414 §3)', async () => {
      const [oidc, oauth] = await Promise.all([
        fetch(`${server.url}/.well-known/openid-configuration`),
        fetch(`${server.url}/.well-known/oauth-authorization-server`),
      ]);
      expect(oauth.status).toBe(200);
      expect(oauth.headers.get('content-type')).toMatch(/^application\/json/);
      expect(await oauth.json()).toStrictEqual(await oidc.json());
      expect(oauth.headers.get('etag')).toBe(oidc.headers.get('etag'));
    });

    it('is cacheable and answers a conditional request with 304 (RFC 9111 §5.2, RFC 9110 §13.1.2)', async () => {
      const url = `${server.url}/.well-known/openid-configuration`;
      const first = await fetch(url);
      await first.arrayBuffer();
      expect(first.headers.get('cache-control')).toMatch(/max-age=\d+/);
      const etag = first.headers.get('etag');
      expect(etag).toMatch(/^"[^"]+"$/);
      const again = await fetch(url, { headers: { 'if-none-match': etag as string } });
      expect(again.status).toBe(304);
      expect(await again.text()).toBe('');
      expect(again.headers.get('etag')).toBe(etag);
    });
  });

  describe('JWKS', () => {
    it('publishes only public key members, each key with kid, alg and use "sig" (RFC 7517 §4, RFC 7518 §6)', async () => {
      const res = await fetch(`${server.url}/.well-known/jwks.json`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^application\/(jwk-set\+)?json/);
      const { keys } = (await res.json()) as { keys: JWK[] };
      expect(keys.length).toBeGreaterThanOrEqual(2);
      for (const key of keys) {
        for (const member of PRIVATE_MEMBERS) expect(key, `${key.kid} must not carry "${member}"`).not.toHaveProperty(member);
        expect(typeof key.kid).toBe('string');
        expect(['ES256', 'RS256']).toContain(key.alg);
        expect(key.use).toBe('sig');
      }
      expect(new Set(keys.map((k) => k.kid)).size).toBe(keys.length);
      expect(keys.map((k) => k.alg)).toEqual(expect.arrayContaining(['ES256', 'RS256']));
    });

    it('publishes the keys the server signs with right now', async () => {
      const { keys } = await fetchJwks(server.url);
      const active = (await server.services.signingKeys.list()).filter((k) => k.state === 'active').map((k) => k.kid);
      expect(active).toHaveLength(2);
      expect(keys.map((k) => k.kid)).toEqual(expect.arrayContaining(active));
    });

    it('is cacheable and answers a conditional request with 304 and no body (RFC 9110 §13.1.2, §15.4.5)', async () => {
      const url = `${server.url}/.well-known/jwks.json`;
      const first = await fetch(url);
      await first.arrayBuffer();
      expect(first.headers.get('cache-control')).toMatch(/(^|[ ,])max-age=[1-9]\d*/);
      const etag = first.headers.get('etag');
      expect(etag).toMatch(/^"[^"]+"$/);

      const again = await fetch(url, { headers: { 'if-none-match': etag as string } });
      expect(again.status).toBe(304);
      expect(await again.text()).toBe('');
      expect(again.headers.get('etag')).toBe(etag);

      const stale = await fetch(url, { headers: { 'if-none-match': '"something-else"' } });
      expect(stale.status).toBe(200);
      expect(((await stale.json()) as { keys: unknown[] }).keys.length).toBeGreaterThan(0);
    });

    it('after a key rotation changes its ETag and publishes both the old and the new keys, the new ones before they sign', async () => {
      const before = await fetchJwks(server.url);
      const beforeKids = before.keys.map((k) => k.kid);
      await server.services.signingKeys.rotate('test');
      // the server reloads its keys when the rotation's change notification arrives
      const after = await waitForJwksChange(server.url, before.etag);
      expect(after.etag).not.toBe(before.etag);
      const afterKids = after.keys.map((k) => k.kid);
      expect(afterKids).toEqual(expect.arrayContaining(beforeKids as string[]));
      const keys = await server.services.signingKeys.list();
      const pending = keys.filter((k) => k.state === 'pending').map((k) => k.kid);
      const active = keys.filter((k) => k.state === 'active').map((k) => k.kid);
      expect(pending).toHaveLength(2);
      expect(pending.some((kid) => beforeKids.includes(kid))).toBe(false);
      // the old keys sign until the new ones start: both are in the JWKS
      expect(active.every((kid) => beforeKids.includes(kid))).toBe(true);
      expect(afterKids).toEqual(expect.arrayContaining([...pending, ...active]));
      expect(after.keys.length).toBe(before.keys.length + 2);
      for (const key of after.keys) for (const member of PRIVATE_MEMBERS) expect(key).not.toHaveProperty(member);

      // the old ETag no longer matches
      const conditional = await fetch(`${server.url}/.well-known/jwks.json`, { headers: { 'if-none-match': before.etag as string } });
      expect(conditional.status).toBe(200);
      expect(conditional.headers.get('etag')).toBe(after.etag);
      await conditional.arrayBuffer();
    });
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SigningAlg } from '../../src/domain/api-resources/api-resource.schema.ts';
import { fetchJwks, getToken, introspect, kidOf, waitFor } from '../support/downstream.ts';
import { makeApi, makeClient } from '../support/fixtures.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

/**
 * `keys revoke` (src/domain/signing-keys/signing-key.service.ts): a compromised signing key leaves
 * the JWKS at once, every JWT it signed introspects inactive (RFC 7662 §2.2), and its algorithm is
 * never left without a key that signs. `keys rotate --now` is the gentle path that keeps the old
 * key published; this one does not.
 */
describe('revoking a signing key', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server?.close());

  async function jwtSetup(signingAlg: SigningAlg = 'ES256') {
    const api = await makeApi(server.services, { signingAlg });
    const client = await makeClient(server.services, { apis: [{ identifier: api.identifier }] });
    const issue = async () => (await getToken(server.url, client, { audience: api.identifier })).access_token;
    const active = async (token: string) => {
      const res = await introspect(server.url, client, token);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      return res.body.active;
    };
    return { api, client, issue, active };
  }

  const published = async () => (await fetchJwks(server.url)).keys.map((k) => k.kid);
  const untilUnpublished = (kid: string) =>
    waitFor(`${kid} to leave the JWKS`, async () => ((await published()).includes(kid) ? undefined : true), 5_000);
  const activeKid = async (alg: SigningAlg) =>
    (await server.services.signingKeys.list()).find((k) => k.alg === alg && k.state === 'active')?.kid;

  for (const alg of ['ES256', 'RS256'] as const) {
    it(`pulls the key that signs: out of the JWKS, its tokens inactive, a new key signs at once [${alg}]`, async () => {
      const { issue, active } = await jwtSetup(alg);
      const token = await issue();
      const kid = kidOf(token) as string;
      expect(kid).toBe(await activeKid(alg));
      expect(await active(token)).toBe(true); // verified once: remembered, which must not outlive the key
      const otherAlg = alg === 'ES256' ? 'RS256' : 'ES256';
      const otherKid = await activeKid(otherAlg);

      const revoked = await server.services.signingKeys.revoke(kid, 'test');
      expect(revoked).toMatchObject({ changed: true, key: { kid, alg, state: 'revoked' } });
      expect(revoked.key.revokedAt).toBeInstanceOf(Date);
      expect(revoked.replacements.map((k) => [k.alg, k.state])).toEqual([[alg, 'active']]);
      const replacement = revoked.replacements[0]?.kid as string;

      await untilUnpublished(kid);
      expect(await published()).toEqual(expect.arrayContaining([replacement, otherKid]));
      expect(await active(token)).toBe(false);

      const fresh = await issue();
      expect(kidOf(fresh)).toBe(replacement);
      expect(await active(fresh)).toBe(true);
      // the other algorithm's key is untouched
      expect(await activeKid(otherAlg)).toBe(otherKid);
    });
  }

  it('pulls a retiring key (rotated out, still published) without creating another', async () => {
    const { issue, active } = await jwtSetup();
    const token = await issue();
    const kid = kidOf(token) as string;
    await server.services.signingKeys.rotate('test', { immediately: true });
    const signing = await activeKid('ES256');
    expect(signing).not.toBe(kid);
    await waitFor('the rotation to reach the server', async () => (kidOf(await issue()) === signing ? true : undefined), 5_000);
    expect(await active(token)).toBe(true); // the gentle path: still published, still accepted

    const revoked = await server.services.signingKeys.revoke(kid, 'test');
    expect(revoked).toMatchObject({ changed: true, key: { state: 'revoked' }, replacements: [] });
    await untilUnpublished(kid);
    expect(await active(token)).toBe(false);
    expect(await activeKid('ES256')).toBe(signing);
    expect(kidOf(await issue())).toBe(signing);
  });

  it('pulls a pending key (published ahead, not yet signing): a new key signs at once, so the switch-over never leaves none', async () => {
    const { issue, active } = await jwtSetup();
    const before = await activeKid('ES256');
    const keys = await server.services.signingKeys.rotate('test'); // KEY_ACTIVATION_DELAY_SECONDS: 600 s
    const pending = keys.find((k) => k.alg === 'ES256' && k.state === 'pending')?.kid as string;
    expect(pending).toBeDefined();

    const revoked = await server.services.signingKeys.revoke(pending, 'test');
    const replacement = revoked.replacements[0]?.kid as string;
    expect(revoked.replacements.map((k) => [k.alg, k.state])).toEqual([['ES256', 'active']]);
    await untilUnpublished(pending);
    const after = await server.services.signingKeys.list();
    // nothing else of its algorithm is left to sign later, nor is the previous key
    expect(after.filter((k) => k.alg === 'ES256' && (k.state === 'active' || k.state === 'pending')).map((k) => k.kid)).toEqual([
      replacement,
    ]);
    expect(after.find((k) => k.kid === before)?.state).toBe('retiring');
    const fresh = await issue();
    expect(kidOf(fresh)).toBe(replacement);
    expect(await active(fresh)).toBe(true);
  });

  it('refuses an unknown kid (signing_key.not_found) and changes nothing revoking a revoked key again', async () => {
    await expect(server.services.signingKeys.revoke('no-such-kid', 'test')).rejects.toMatchObject({
      code: 'signing_key.not_found',
      status: 404,
    });
    const kid = (await activeKid('RS256')) as string;
    const first = await server.services.signingKeys.revoke(kid, 'test');
    const keysAfterFirst = await server.services.signingKeys.list();
    const again = await server.services.signingKeys.revoke(kid, 'test');
    expect(again).toMatchObject({ changed: false, key: { kid, state: 'revoked', revokedAt: first.key.revokedAt }, replacements: [] });
    expect(await server.services.signingKeys.list()).toEqual(keysAfterFirst);
  });
});

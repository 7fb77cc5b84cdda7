import { createHmac, createPublicKey, createSign, sign } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeJwt, exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchJwks, getToken, introspect, revoke } from '../support/downstream.ts';
import { makeMachineSetup } from '../support/fixtures.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

/**
 * Forged access tokens (RFC 8725, JWT Best Current Practices, §2 threats): whatever a forger puts
 * in the header, introspection answers `{ "active": false }` and revocation does nothing to the
 * real token whose claims the forgery copies. Each forgery is asked about by the very client the
 * copied claims name, so an `active: true` can only mean the forgery was believed.
 */

const b64url = (value: string | Buffer) => Buffer.from(value).toString('base64url');
const compact = (header: Record<string, unknown>, claims: Record<string, unknown>) =>
  `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;

describe('forged JWT access tokens (RFC 8725 §2)', () => {
  let server: TestServer;
  let setup: Awaited<ReturnType<typeof makeMachineSetup>>;
  let real: string;
  let claims: Record<string, unknown>;
  let publicJwks: JWK[];
  let jkuHits = 0;
  let jkuServer: Server;
  let jkuUrl: string;
  let attacker: { privateKey: Awaited<ReturnType<typeof generateKeyPair>>['privateKey']; publicJwk: JWK };

  beforeAll(async () => {
    server = await startTestServer();
    setup = await makeMachineSetup(server.services);
    real = (await getToken(server.url, setup)).access_token;
    claims = decodeJwt(real) as Record<string, unknown>;
    publicJwks = (await fetchJwks(server.url)).keys;
    const pair = await generateKeyPair('ES256', { extractable: true });
    attacker = { privateKey: pair.privateKey, publicJwk: await exportJWK(pair.publicKey) };
    // An attacker's key server: a verifier that follows `jku`/`x5u` would fetch from here.
    jkuServer = createServer((_req, res) => {
      jkuHits++;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ keys: [{ ...attacker.publicJwk, kid: 'attacker', alg: 'ES256', use: 'sig' }] }));
    });
    await new Promise<void>((resolve) => jkuServer.listen(0, '127.0.0.1', () => resolve()));
    jkuUrl = `http://127.0.0.1:${(jkuServer.address() as AddressInfo).port}/jwks.json`;
  });
  afterAll(async () => {
    await server?.close();
    await new Promise((resolve) => jkuServer?.close(resolve));
  });

  const serverKey = (alg: 'ES256' | 'RS256') => {
    const jwk = publicJwks.find((k) => k.alg === alg);
    if (!jwk?.kid) throw new Error(`no published ${alg} key`);
    return { jwk, kid: jwk.kid, pem: createPublicKey({ key: jwk as never, format: 'jwk' }).export({ type: 'spki', format: 'pem' }) };
  };

  /**
   * A token signed with the server's own private ES256 key: only the header is hostile. Signed by
   * hand (jose refuses to sign some of these headers, such as an unknown `crit`).
   */
  async function signWithServerKey(header: Record<string, unknown>, body = claims) {
    const ring = await server.services.signingKeys.loadKeyRing();
    const kid = ring.activeKid.ES256 as string;
    const jwk = ring.privateJwks.find((k) => k.kid === kid) as JWK;
    const input = compact({ alg: 'ES256', typ: 'at+jwt', kid, ...header }, body);
    const signature = sign('sha256', Buffer.from(input), { key: jwk as never, format: 'jwk', dsaEncoding: 'ieee-p1363' });
    return `${input}.${signature.toString('base64url')}`;
  }

  async function expectRejected(forged: string) {
    const res = await introspect(server.url, setup, forged);
    expect(res.status).toBe(200);
    expect(res.body).toStrictEqual({ active: false });
    // Revoking the forgery must not revoke the real token whose jti it carries.
    const revoked = await revoke(server.url, setup, forged);
    expect(revoked.status).toBe(200);
    expect((await introspect(server.url, setup, real)).body.active).toBe(true);
  }

  it('the real token is active for its own client (the control)', async () => {
    expect((await introspect(server.url, setup, real)).body).toMatchObject({ active: true, client_id: setup.clientId });
  });

  for (const alg of ['none', 'None', 'NONE', 'nOnE']) {
    it(`refuses an unsigned token [alg ${alg}] (RFC 8725 §2.1)`, async () => {
      const header = { alg, typ: 'at+jwt', kid: serverKey('ES256').kid };
      await expectRejected(`${compact(header, claims)}.`);
      await expectRejected(`${compact(header, claims)}.${b64url('signature')}`);
    });
  }

  for (const alg of ['ES256', 'RS256'] as const) {
    it(`refuses HS256 keyed with the server's public key [${alg} key as PEM and as JWK] (RFC 8725 §2.1)`, async () => {
      const { kid, pem, jwk } = serverKey(alg);
      for (const secret of [String(pem), JSON.stringify(jwk), String(jwk.x ?? jwk.n)]) {
        const input = compact({ alg: 'HS256', typ: 'at+jwt', kid }, claims);
        await expectRejected(`${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`);
      }
    });
  }

  it("refuses a foreign key's signature under the server's kid", async () => {
    for (const alg of ['ES256', 'RS256'] as const) {
      const { privateKey } = await generateKeyPair(alg, { extractable: true });
      const forged = await new SignJWT(claims).setProtectedHeader({ alg, typ: 'at+jwt', kid: serverKey(alg).kid }).sign(privateKey);
      await expectRejected(forged);
    }
  });

  it('refuses a token that carries its own key [embedded jwk] (RFC 8725 §3.10)', async () => {
    for (const kid of [undefined, serverKey('ES256').kid]) {
      const header = { alg: 'ES256', typ: 'at+jwt', jwk: attacker.publicJwk, ...(kid ? { kid } : {}) };
      await expectRejected(await new SignJWT(claims).setProtectedHeader(header).sign(attacker.privateKey));
    }
  });

  it('refuses a token pointing at its own key set, and never fetches it [jku, x5u]', async () => {
    for (const pointer of [{ jku: jkuUrl }, { x5u: jkuUrl }, { jku: jkuUrl, kid: 'attacker' }]) {
      const header = { alg: 'ES256', typ: 'at+jwt', kid: 'attacker', ...pointer };
      await expectRejected(await new SignJWT(claims).setProtectedHeader(header).sign(attacker.privateKey));
    }
    expect(jkuHits).toBe(0);
  });

  it('refuses critical header parameters it does not understand, even under its own signature [crit] (RFC 7515 §4.1.11)', async () => {
    // The control: the same construction without crit is active, so crit is what makes the difference.
    const live = await signWithServerKey({}, { ...claims, jti: `${claims.jti}-crit-control` });
    expect((await introspect(server.url, setup, live)).body.active).toBe(true);
    await expectRejected(await signWithServerKey({ crit: ['urn:example:unknown'], 'urn:example:unknown': true }));
    await expectRejected(await signWithServerKey({ crit: ['exp'] }));
    await expectRejected(await signWithServerKey({ crit: [] }));
  });

  it('refuses its own signature under another algorithm name [alg confusion]', async () => {
    const signed = await signWithServerKey({}, { ...claims, jti: `${claims.jti}-alg` });
    const [, payload, signature] = signed.split('.') as [string, string, string];
    for (const alg of ['ES384', 'ES512', 'PS256', 'RS256', 'EdDSA']) {
      const header = b64url(JSON.stringify({ alg, typ: 'at+jwt', kid: serverKey('ES256').kid }));
      await expectRejected(`${header}.${payload}.${signature}`);
    }
  });

  it('refuses a token signed with a real RSA key but presented as another RSA algorithm [PS256]', async () => {
    const ring = await server.services.signingKeys.loadKeyRing();
    const kid = ring.activeKid.RS256 as string;
    const jwk = ring.privateJwks.find((k) => k.kid === kid) as JWK;
    const input = compact({ alg: 'PS256', typ: 'at+jwt', kid }, claims);
    const signature = createSign('sha256')
      .update(input)
      .sign({ key: jwk as never, format: 'jwk', padding: 6 /* RSA_PKCS1_PSS_PADDING */ })
      .toString('base64url');
    await expectRejected(`${input}.${signature}`);
  });

  it('refuses hostile kids and headers without being confused [path, SQL, control characters, huge]', async () => {
    for (const kid of ['../../../../etc/passwd', "' OR '1'='1", 'kid\u0000', 'x'.repeat(10_000), '']) {
      await expectRejected(await signWithServerKey({ kid }));
    }
    await expectRejected(await signWithServerKey({ typ: 'JWT' })); // an ID-token-like typ is not an access token (RFC 9068 §4)
    await expectRejected(`${b64url('{"alg":"ES256","kid":')}.${b64url('{}')}.${b64url('x')}`); // header not JSON
    await expectRejected(`${compact({ alg: 'ES256' }, claims)}.x.y.z`); // JWE-like five parts
  });

  it('logs no error while refusing forgeries', () => {
    const faults = server.logs.records().filter((r) => r.level === 'error' || r.level === 'fatal');
    expect(faults.map((r) => r.msg)).toEqual([]);
  });
});

import { createPrivateKey, type KeyObject, sign } from 'node:crypto';
import type { JWK } from 'jose';
import type { SigningAlg } from '../domain/api-resources/api-resource.schema.ts';
import type { KeyRing } from '../domain/signing-keys/signing-key.schema.ts';

/**
 * Compact JWS signing (RFC 7515 §7.1) with the key ring's active keys, for the token endpoint's
 * fast path (token-fast-path.ts). Private keys are imported once per key ring.
 *
 * ES256 signatures must be r || s (RFC 7518 §3.4). node:crypto can produce that itself
 * (`dsaEncoding: 'ieee-p1363'`), but passing the key inside an options object doubles the cost of
 * a signature (measured: 49.5 µs against 25 µs per ES256 signature), so the signature is made
 * with the bare KeyObject, in DER, and re-encoded here.
 */
export function createJwtSigner(keyRing: () => KeyRing) {
  let importedFor: KeyRing | undefined;
  let keys = new Map<string, KeyObject>();

  const keyFor = (ring: KeyRing, kid: string): KeyObject | undefined => {
    if (importedFor !== ring) {
      keys = new Map(
        ring.privateJwks.filter((jwk): jwk is JWK & { kid: string } => typeof jwk.kid === 'string').map((jwk) => [jwk.kid, importKey(jwk)]),
      );
      importedFor = ring;
    }
    return keys.get(kid);
  };

  return {
    /** The kid that signs for `alg` now, or undefined when the ring has no active key for it. */
    activeKid: (alg: SigningAlg): string | undefined => keyRing().activeKid[alg],

    /** Signs `payload` with the active key for `alg`; `typ` goes into the protected header. */
    sign(alg: SigningAlg, typ: string, payload: Record<string, unknown>): string {
      const ring = keyRing();
      const kid = ring.activeKid[alg];
      const key = kid ? keyFor(ring, kid) : undefined;
      if (!kid || !key) throw new Error(`no active ${alg} signing key`);
      const signingInput = `${encode({ alg, typ, kid })}.${encode(payload)}`;
      const signature = sign('sha256', Buffer.from(signingInput), key);
      return `${signingInput}.${(alg === 'ES256' ? derToJose(signature, 32) : signature).toString('base64url')}`;
    },
  };
}

export type JwtSigner = ReturnType<typeof createJwtSigner>;

const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/**
 * An ECDSA signature from DER (SEQUENCE { INTEGER r, INTEGER s }) to r || s, each left-padded to
 * `size` bytes (32 for P-256). DER integers are minimal and may carry a 0x00 sign byte.
 */
export function derToJose(der: Buffer, size: number): Buffer {
  let offset = 2; // SEQUENCE tag and a short-form length (a P-256 signature is under 128 bytes)
  if (der[0] !== 0x30 || (der[1] ?? 0) & 0x80) throw new Error('unexpected ECDSA signature encoding');
  const out = Buffer.alloc(size * 2);
  for (let part = 0; part < 2; part++) {
    if (der[offset] !== 0x02) throw new Error('unexpected ECDSA signature encoding');
    const length = der[offset + 1] ?? 0;
    let start = offset + 2;
    const end = start + length;
    while (end - start > size && der[start] === 0) start++;
    if (end - start > size || end > der.length) throw new Error('unexpected ECDSA signature encoding');
    der.copy(out, part * size + size - (end - start), start, end);
    offset = end;
  }
  return out;
}

function importKey(jwk: JWK): KeyObject {
  return createPrivateKey({ key: jwk as Parameters<typeof createPrivateKey>[0] as never, format: 'jwk' });
}

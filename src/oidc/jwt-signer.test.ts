import { createPublicKey, generateKeyPairSync, sign, verify } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { derToJose } from './jwt-signer.ts';

/** RFC 7518 §3.4: an ES256 signature is R || S, each 32 bytes, big-endian, left-padded with zeros. */
describe('derToJose', () => {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const publicKey = createPublicKey(privateKey);

  it('turns node:crypto DER signatures into 64-byte R || S that verify as ieee-p1363', () => {
    for (let i = 0; i < 200; i++) {
      const data = Buffer.from(`message ${i}`);
      const der = sign('sha256', data, privateKey);
      const jose = derToJose(der, 32);
      expect(jose).toHaveLength(64);
      expect(verify('sha256', data, { key: publicKey, dsaEncoding: 'ieee-p1363' }, jose)).toBe(true);
    }
  });

  it('pads short integers and drops the sign byte of long ones', () => {
    // SEQUENCE { INTEGER 0x00 0x80 <31 bytes>, INTEGER 0x01 } — r has a sign byte, s is one byte.
    const r = Buffer.concat([Buffer.from([0x00, 0x80]), Buffer.alloc(31, 0x11)]);
    const s = Buffer.from([0x01]);
    const der = Buffer.concat([Buffer.from([0x30, 2 + r.length + 2 + s.length, 0x02, r.length]), r, Buffer.from([0x02, s.length]), s]);
    const jose = derToJose(der, 32);
    expect(jose.subarray(0, 32)).toEqual(r.subarray(1));
    expect(jose.subarray(32)).toEqual(Buffer.concat([Buffer.alloc(31), s]));
  });

  it('refuses what is not a DER ECDSA signature', () => {
    expect(() => derToJose(Buffer.from([0x31, 0x00]), 32)).toThrow(/unexpected ECDSA signature encoding/);
    expect(() => derToJose(Buffer.from([0x30, 0x06, 0x03, 0x01, 0x01, 0x02, 0x01, 0x01]), 32)).toThrow(/unexpected/);
  });
});

import { describe, expect, it } from 'vitest';
import { keyStateAt } from './signing-key.service.ts';
import type { StoredKey } from './signing-key.store.ts';

const t = (minutes: number) => new Date(Date.UTC(2026, 0, 1, 0, minutes));

function key(overrides: Partial<StoredKey> = {}): StoredKey {
  return {
    kid: 'k',
    alg: 'ES256',
    state: 'active',
    publicJwk: {},
    privateJwkEncrypted: '',
    createdAt: t(0),
    signsFrom: null,
    rotatedAt: null,
    retireAfter: null,
    revokedAt: null,
    ...overrides,
  };
}

describe('keyStateAt: a key state is derived from its dates and the clock, so every instance agrees', () => {
  it('is active from creation when it has no signsFrom', () => {
    expect(keyStateAt(key(), t(1))).toBe('active');
  });

  it('is pending until signsFrom, then active (a rotation publishes before it signs)', () => {
    const rotatedIn = key({ signsFrom: t(10) });
    expect(keyStateAt(rotatedIn, t(5))).toBe('pending');
    expect(keyStateAt(rotatedIn, t(10))).toBe('active');
  });

  it('is retiring from rotatedAt until retireAfter, then retired', () => {
    const rotatedOut = key({ state: 'retiring', rotatedAt: t(10), retireAfter: t(70) });
    expect(keyStateAt(rotatedOut, t(5))).toBe('active');
    expect(keyStateAt(rotatedOut, t(10))).toBe('retiring');
    expect(keyStateAt(rotatedOut, t(69))).toBe('retiring');
    expect(keyStateAt(rotatedOut, t(70))).toBe('retired');
  });

  it('is retiring when rotated out before it ever signed', () => {
    expect(keyStateAt(key({ state: 'retiring', signsFrom: t(10), rotatedAt: t(5), retireAfter: t(60) }), t(7))).toBe('retiring');
  });

  it('is revoked whatever its dates say once revokedAt is set', () => {
    expect(keyStateAt(key({ state: 'retired', revokedAt: t(3) }), t(1))).toBe('revoked');
  });

  it('is retired when marked so', () => {
    expect(keyStateAt(key({ state: 'retired' }), t(1))).toBe('retired');
  });
});

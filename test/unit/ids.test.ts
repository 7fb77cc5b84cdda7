import { describe, expect, it } from 'vitest';
import { newClientId, newTokenId } from '../../src/lib/ids.ts';

describe('generated identifiers', () => {
  it('client ids are 128-bit base64url and never start with - or _ (a command line would read an option)', () => {
    const ids = Array.from({ length: 20_000 }, newClientId);
    for (const id of ids) expect(id).toMatch(/^[A-Za-z0-9][A-Za-z0-9_-]{21}$/);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('token ids are 256-bit base64url and unique across pool refills', () => {
    const ids = Array.from({ length: 1_000 }, newTokenId);
    for (const id of ids) expect(id).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(new Set(ids).size).toBe(ids.length);
  });
});

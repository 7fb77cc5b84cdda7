import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { deriveKeys, digestSecret } from './secrets.ts';

describe('derived keys', () => {
  it('give API tokens a digest key of their own, stable for one master key', () => {
    const master = randomBytes(32);
    const keys = deriveKeys(master);
    expect(digestSecret(keys.apiTokenKey, 'same secret')).not.toBe(digestSecret(keys.digestKey, 'same secret'));
    expect(digestSecret(deriveKeys(master).apiTokenKey, 'same secret')).toBe(digestSecret(keys.apiTokenKey, 'same secret'));
    expect(digestSecret(deriveKeys(randomBytes(32)).apiTokenKey, 'same secret')).not.toBe(digestSecret(keys.apiTokenKey, 'same secret'));
  });
});

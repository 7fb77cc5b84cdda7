import argon2 from 'argon2';
import { describe, expect, it, vi } from 'vitest';
import { createPasswordHasher } from './passwords.ts';

const cheap = { memoryKiB: 64, iterations: 1, parallelism: 1 };

describe('passwords', () => {
  it('hashes with argon2id and the configured parameters, and verifies', async () => {
    const hasher = createPasswordHasher(cheap);
    const hash = await hasher.hash('correct horse');
    expect(hash).toMatch(/^\$argon2id\$v=19\$m=64,p=1,t=1\$/);
    expect(await hasher.verify(hash, 'correct horse')).toBe(true);
    expect(await hasher.verify(hash, 'correct horsE')).toBe(false);
  });

  it('salts every hash', async () => {
    const hasher = createPasswordHasher(cheap);
    expect(await hasher.hash('same')).not.toBe(await hasher.hash('same'));
  });

  it('answers false for a malformed hash instead of throwing', async () => {
    const hasher = createPasswordHasher(cheap);
    expect(await hasher.verify('not a hash', 'x')).toBe(false);
    expect(hasher.needsRehash('not a hash')).toBe(true);
  });

  it('asks for a rehash when the parameters changed', async () => {
    const hash = await createPasswordHasher(cheap).hash('pw');
    expect(createPasswordHasher(cheap).needsRehash(hash)).toBe(false);
    expect(createPasswordHasher({ ...cheap, iterations: 2 }).needsRehash(hash)).toBe(true);
  });

  it('spends a verification on nothing without failing', async () => {
    await expect(createPasswordHasher(cheap).verifyNothing('whatever')).resolves.toBeUndefined();
  });

  it('computes at most the given number of hashes at once, each holding its memory cost, and queues the rest', async () => {
    let running = 0;
    let most = 0;
    const spy = vi.spyOn(argon2, 'verify').mockImplementation(async () => {
      running++;
      most = Math.max(most, running);
      await new Promise((resolve) => setTimeout(resolve, 5));
      running--;
      return true;
    });
    try {
      const hasher = createPasswordHasher(cheap, 2);
      const answers = await Promise.all(Array.from({ length: 9 }, () => hasher.verify('$argon2id$whatever', 'pw')));
      expect(answers).toEqual(Array(9).fill(true));
      expect(spy).toHaveBeenCalledTimes(9);
      expect(most).toBe(2);
    } finally {
      spy.mockRestore();
    }
  });
});

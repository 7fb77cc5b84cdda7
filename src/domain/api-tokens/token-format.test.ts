import { crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { API_TOKEN_LENGTH, API_TOKEN_PREFIX, displayPrefix, generateApiToken, isWellFormedApiToken } from './token-format.ts';

describe('API token format', () => {
  it('has the prefix, a base62 body and checksum, and a fixed length', () => {
    const token = generateApiToken();
    expect(token).toMatch(/^ghat_[0-9A-Za-z]{49}$/);
    expect(token).toHaveLength(API_TOKEN_LENGTH);
    expect(isWellFormedApiToken(token)).toBe(true);
  });

  it('checks the checksum: CRC32 of prefix and body, base62, 6 characters', () => {
    const token = generateApiToken();
    const head = token.slice(0, -6);
    let value = crc32(head);
    let expected = '';
    const alphabet = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
    for (let i = 0; i < 6; i++) {
      expected = alphabet[value % 62] + expected;
      value = Math.floor(value / 62);
    }
    expect(token.slice(-6)).toBe(expected);
  });

  it('refuses any single-character typo in the body', () => {
    const token = generateApiToken();
    for (let i = API_TOKEN_PREFIX.length; i < token.length; i++) {
      const replacement = token[i] === 'a' ? 'b' : 'a';
      expect(isWellFormedApiToken(token.slice(0, i) + replacement + token.slice(i + 1))).toBe(false);
    }
  });

  it.each([
    ['empty', ''],
    ['another prefix', `ghcs_${generateApiToken().slice(5)}`],
    ['too short', generateApiToken().slice(0, -1)],
    ['too long', `${generateApiToken()}a`],
    ['a non-base62 character', `${generateApiToken().slice(0, 10)}-${generateApiToken().slice(11)}`],
    ['a random string of the right shape', `ghat_${'A'.repeat(49)}`],
  ])('refuses %s', (_, value) => {
    expect(isWellFormedApiToken(value)).toBe(false);
  });

  it('draws distinct tokens with every base62 character in use', () => {
    const tokens = Array.from({ length: 200 }, generateApiToken);
    expect(new Set(tokens).size).toBe(200);
    const seen = new Set(tokens.flatMap((t) => [...t.slice(5, -6)]));
    expect(seen.size).toBe(62);
  });

  it('shows only the prefix and 4 characters of a generated token, nothing of another secret', () => {
    const token = generateApiToken();
    expect(displayPrefix(token)).toBe(token.slice(0, 9));
    expect(displayPrefix('an-operator-chosen-secret')).toBe('');
  });
});

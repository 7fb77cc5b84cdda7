import { describe, expect, it } from 'vitest';
import { hasControlCharacters } from './control-characters.ts';

describe('hasControlCharacters', () => {
  it('finds C0 controls and DEL anywhere in a value', () => {
    for (const c of ['\u0000', '\u0001', '\t', '\n', '\r', '\u001f', '\u007f']) {
      expect(hasControlCharacters(`ab${c}cd`)).toBe(true);
      expect(hasControlCharacters(c)).toBe(true);
    }
  });
  it('passes identifiers, secrets, tokens and non-ASCII text', () => {
    for (const v of ['', 'Jv3s1wJuC2uC6IqZcAqYQQ', 'ghcs_eHXX1jM4-_', 'eyJ.a.b', 'caf\u00e9 \u4e2d', ' ~']) {
      expect(hasControlCharacters(v)).toBe(false);
    }
  });
});

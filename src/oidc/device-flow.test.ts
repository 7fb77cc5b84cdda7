import { describe, expect, it } from 'vitest';
import { formatUserCode, normalizeUserCode } from './device-flow.ts';

/** The user-code reading must match oidc-provider's (lib/helpers/user_codes.js), which stores codes normalized. */
describe('user codes (RFC 8628 §6.1: case- and punctuation-insensitive)', () => {
  it('normalizes what a person types to the stored form', async () => {
    const { normalize } = (await import('../../node_modules/oidc-provider/lib/helpers/user_codes.js' as string)) as {
      normalize(input: string): string;
    };
    for (const typed of ['WDJB-MJHT', 'wdjb-mjht', 'wdjbmjht', ' wdjb mjht ', 'Wd.jB–mJ_ht', 'ÄBCD-ÉFGH', '']) {
      expect(normalizeUserCode(typed), typed).toBe(normalize(typed));
    }
    expect(normalizeUserCode('wdjb-mjht')).toBe('WDJBMJHT');
  });

  it('shows a normalized code in the mask, and anything of another length as it is', () => {
    expect(formatUserCode('WDJBMJHT')).toBe('WDJB-MJHT');
    expect(formatUserCode('WDJB')).toBe('WDJB');
  });
});

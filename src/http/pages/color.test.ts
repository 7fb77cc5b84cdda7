import { describe, expect, it } from 'vitest';
import { accentPalette, contrastRatio, inkOnWhite, MIN_TEXT_CONTRAST, parseHexColor, relativeLuminance, textColorOn } from './color.ts';

const white = parseHexColor('#ffffff');

describe('accent colours', () => {
  it('parses #rgb and #rrggbb alike, and refuses anything else', () => {
    expect(parseHexColor('#15a')).toEqual([0x11, 0x55, 0xaa]);
    expect(parseHexColor('#1F5FAE')).toEqual([0x1f, 0x5f, 0xae]);
    for (const bad of ['red', '#12', '#1234567', '1f5fae', '#ggg']) expect(() => parseHexColor(bad)).toThrow();
  });

  it('computes WCAG 2.1 luminance and contrast (known reference values)', () => {
    expect(relativeLuminance(white)).toBeCloseTo(1, 6);
    expect(relativeLuminance(parseHexColor('#000'))).toBe(0);
    expect(contrastRatio(white, parseHexColor('#000'))).toBeCloseTo(21, 6);
    // #767676 is the lightest grey that passes 4.5:1 on white, #777777 the darkest that fails.
    expect(contrastRatio(parseHexColor('#767676'), white)).toBeGreaterThanOrEqual(4.5);
    expect(contrastRatio(parseHexColor('#777777'), white)).toBeLessThan(4.5);
    expect(contrastRatio(white, parseHexColor('#767676'))).toBe(contrastRatio(parseHexColor('#767676'), white));
  });

  it('puts white text on dark accents and black text on light ones', () => {
    expect(textColorOn('#1f5fae')).toBe('#ffffff');
    expect(textColorOn('#000000')).toBe('#ffffff');
    expect(textColorOn('#ffd700')).toBe('#000000');
    expect(textColorOn('#ffffff')).toBe('#000000');
  });

  it('keeps an accent that reads on white as the link colour, and darkens one that does not', () => {
    expect(inkOnWhite('#1f5fae')).toBe('#1f5fae');
    const gold = inkOnWhite('#ffd700');
    expect(gold).not.toBe('#ffd700');
    expect(contrastRatio(parseHexColor(gold), white)).toBeGreaterThanOrEqual(MIN_TEXT_CONTRAST);
    // still a shade of the accent (same hue), not plain black
    const [r, g, b] = parseHexColor(gold);
    expect(b).toBe(0);
    expect(r).toBeGreaterThan(g);
    expect(gold).not.toBe('#000000');
  });

  it('derives readable button text and links from every accent (a sweep of the colour cube)', () => {
    const levels = [0, 0x33, 0x66, 0x80, 0x99, 0xbb, 0xcc, 0xee, 0xff];
    for (const r of levels)
      for (const g of levels)
        for (const b of levels) {
          const hex = `#${[r, g, b].map((c) => c.toString(16).padStart(2, '0')).join('')}`;
          const palette = accentPalette(hex);
          expect(contrastRatio(parseHexColor(palette.onAccent), parseHexColor(palette.accent)), hex).toBeGreaterThanOrEqual(
            MIN_TEXT_CONTRAST,
          );
          expect(contrastRatio(parseHexColor(palette.ink), white), hex).toBeGreaterThanOrEqual(MIN_TEXT_CONTRAST);
        }
  });
});

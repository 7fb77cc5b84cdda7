/**
 * Colour arithmetic for the pages' accent (ACCENT_COLOR): WCAG 2.1 relative luminance and contrast
 * ratio (https://www.w3.org/TR/WCAG21/#dfn-relative-luminance, #dfn-contrast-ratio).
 *
 * Gatehouse accepts any accent and derives what must stay readable from it, rather than rejecting
 * light colours an operator's brand may use:
 * - text on an accent-coloured button is black or white, whichever contrasts more: for any colour
 *   one of the two reaches at least 4.58:1 (the worst case is a luminance of √(0.0525) − 0.05);
 * - links and focus rings on the white page use the accent darkened until it reaches 4.5:1 (WCAG
 *   1.4.3 for link text; 1.4.11 asks 3:1 of a focus indicator, which this exceeds).
 */

export type Rgb = readonly [number, number, number];

/** `#rgb` or `#rrggbb` (what config accepts) as 0–255 channels. */
export function parseHexColor(hex: string): Rgb {
  const match = /^#([0-9a-f]{3}|[0-9a-f]{6})$/i.exec(hex);
  if (!match?.[1]) throw new Error(`not a hex colour: ${hex}`);
  const digits = match[1].length === 3 ? [...match[1]].map((d) => d + d).join('') : match[1];
  return [0, 2, 4].map((i) => Number.parseInt(digits.slice(i, i + 2), 16)) as unknown as Rgb;
}

export function toHexColor(rgb: Rgb): string {
  return `#${rgb.map((c) => Math.round(c).toString(16).padStart(2, '0')).join('')}`;
}

/** WCAG 2.1 relative luminance, 0 (black) to 1 (white). */
export function relativeLuminance(rgb: Rgb): number {
  const [r, g, b] = rgb.map((channel) => {
    const c = channel / 255;
    return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  }) as [number, number, number];
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

/** WCAG 2.1 contrast ratio of two colours, 1 to 21. */
export function contrastRatio(a: Rgb, b: Rgb): number {
  const [light, dark] = [relativeLuminance(a), relativeLuminance(b)].sort((x, y) => y - x) as [number, number];
  return (light + 0.05) / (dark + 0.05);
}

const WHITE: Rgb = [255, 255, 255];
const BLACK: Rgb = [0, 0, 0];

/** The minimum contrast of normal text (WCAG 2.1 SC 1.4.3, level AA). */
export const MIN_TEXT_CONTRAST = 4.5;

/** Text colour for a button whose background is `background`: white when it reads, else black. */
export function textColorOn(background: string): '#ffffff' | '#000000' {
  const bg = parseHexColor(background);
  return contrastRatio(bg, WHITE) >= MIN_TEXT_CONTRAST ? '#ffffff' : '#000000';
}

/** `accent` itself when it reads as text on white, else the lightest darker shade that does. */
export function inkOnWhite(accent: string): string {
  const rgb = parseHexColor(accent);
  for (let step = 0; step <= 20; step++) {
    const shade = rgb.map((c) => c * (1 - step / 20)) as unknown as Rgb;
    const hex = toHexColor(shade);
    if (contrastRatio(parseHexColor(hex), WHITE) >= MIN_TEXT_CONTRAST) return hex;
  }
  return toHexColor(BLACK);
}

/** The colours the stylesheet derives from ACCENT_COLOR. */
export interface AccentPalette {
  /** background of primary buttons */
  accent: string;
  /** text on primary buttons */
  onAccent: string;
  /** links, secondary buttons, borders and focus rings on the white page */
  ink: string;
}

export function accentPalette(accentColor: string): AccentPalette {
  const accent = toHexColor(parseHexColor(accentColor));
  return { accent, onAccent: textColorOn(accent), ink: inkOnWhite(accent) };
}

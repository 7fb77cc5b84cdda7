import { createHash } from 'node:crypto';
import type { BrandingConfig } from '../../config/config.ts';
import { accentPalette } from './color.ts';

/**
 * The pages' one stylesheet, served by Gatehouse at `/assets/gatehouse.<hash>.css` (assets.ts): no
 * external asset, no inline style (the pages' CSP allows `style-src 'self'` only). Its first rule
 * is generated from ACCENT_COLOR, as custom properties the rest of the sheet uses; the name carries
 * a hash of the whole content, so it is cached for a year and a changed accent is a new URL.
 *
 * Calm and plain: a white card on a light grey page, the system font, 16 px text, full-width
 * fields and buttons of at least 44 px (WCAG 2.5.5), a 3 px focus ring in the accent's ink colour
 * on every focusable element, nothing wider than a 360 px screen. Greys and the error red reach
 * 4.5:1 on white (#4a4f57 is 8:1, #b3261e is 6.5:1).
 */
const BASE_CSS = `
*,*::before,*::after{box-sizing:border-box}
html{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;font-size:100%;line-height:1.5;color:#1b1d21;background:#f3f4f6;-webkit-text-size-adjust:100%;text-size-adjust:100%}
body{margin:0;padding:1.5rem 1rem 3rem;display:flex;flex-direction:column;align-items:center;min-height:100vh}
.brand{display:flex;align-items:center;gap:.625rem;width:100%;max-width:30rem;margin:0 0 1rem;font-size:1.125rem;font-weight:600}
.brand img{display:block;max-height:2.5rem;max-width:10rem;width:auto;height:auto}
main{width:100%;max-width:30rem;background:#fff;border:1px solid #c9ced6;border-radius:.5rem;padding:1.5rem}
h1{font-size:1.5rem;line-height:1.25;margin:0 0 1rem;overflow-wrap:anywhere}
h2{font-size:1.0625rem;line-height:1.3;margin:1.25rem 0 .5rem}
h3{font-size:1rem;line-height:1.3;margin:1rem 0 .25rem}
p,ul{margin:0 0 1rem}
ul{padding-left:1.25rem}
li{margin:.25rem 0}
p,li,dd{overflow-wrap:anywhere}
a{color:var(--gh-ink);text-decoration:underline;text-underline-offset:.15em}
a:hover{text-decoration-thickness:2px}
strong{font-weight:650}
code,.code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.9375em;overflow-wrap:anywhere}
.lead{font-size:1.0625rem}
.muted{color:#4a4f57}
.small{font-size:.9375rem}
.field{margin:0 0 1.125rem}
label{display:block;font-weight:600;margin:0 0 .25rem}
.hint{display:block;color:#4a4f57;font-size:.9375rem;margin:0 0 .375rem}
input[type=text],input[type=password],input[type=email]{display:block;width:100%;min-height:2.75rem;font:inherit;color:inherit;background:#fff;padding:.5rem .75rem;border:2px solid #5b626c;border-radius:.375rem}
input.user-code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:1.25rem;letter-spacing:.12em;text-transform:uppercase}
input.user-code::placeholder{text-transform:none;letter-spacing:normal}
input[aria-invalid=true]{border-color:#b3261e}
.field-error{color:#b3261e;font-weight:600;margin:.375rem 0 0}
.notice{border-left:4px solid var(--gh-ink);background:#f3f4f6;padding:.625rem .875rem;margin:0 0 1rem}
.notice>:last-child{margin-bottom:0}
.notice-error{border-left-color:#b3261e;background:#fdf2f1}
.user-code-display{display:inline-block;font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:1.375rem;letter-spacing:.12em;padding:.25rem .625rem;border:1px solid #c9ced6;border-radius:.375rem;background:#f3f4f6}
.actions{display:flex;flex-wrap:wrap;gap:.75rem;margin:1.5rem 0 0}
.button{display:inline-flex;align-items:center;justify-content:center;min-height:2.75rem;padding:.5rem 1.25rem;font:inherit;font-weight:600;line-height:1.25;text-align:center;text-decoration:none;border:2px solid var(--gh-ink);border-radius:.375rem;cursor:pointer}
.button-primary{background:var(--gh-accent);color:var(--gh-on-accent)}
.button-secondary{background:#fff;color:var(--gh-ink)}
.button:hover{box-shadow:inset 0 0 0 2px var(--gh-ink)}
:focus-visible{outline:3px solid var(--gh-ink);outline-offset:2px}
input:focus-visible{outline-offset:1px}
.visually-hidden{position:absolute;width:1px;height:1px;margin:-1px;padding:0;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap;border:0}
footer{width:100%;max-width:30rem;margin:1rem 0 0;color:#4a4f57;font-size:.875rem}
@media (max-width:30rem){body{padding:1rem .5rem 2rem}main{padding:1.125rem 1rem}.actions .button{flex:1 1 100%}}
@media (forced-colors:active){.button{border-color:ButtonText}:focus-visible{outline-color:Highlight}}
`;

export interface Stylesheet {
  /** the path it is served at: /assets/gatehouse.<hash>.css */
  href: string;
  css: string;
  /** a strong ETag for conditional requests */
  etag: string;
}

export const ASSETS_PREFIX = '/assets/';

const built = new WeakMap<BrandingConfig, Stylesheet>();

/** The stylesheet for a branding config (computed once per config object). */
export function pageStylesheet(branding: BrandingConfig): Stylesheet {
  const cached = built.get(branding);
  if (cached) return cached;
  const palette = accentPalette(branding.accentColor);
  const css = `:root{--gh-accent:${palette.accent};--gh-on-accent:${palette.onAccent};--gh-ink:${palette.ink}}${BASE_CSS}`;
  const hash = createHash('sha256').update(css).digest('base64url').slice(0, 16);
  const sheet = Object.freeze({ href: `${ASSETS_PREFIX}gatehouse.${hash}.css`, css, etag: `"${hash}"` });
  built.set(branding, sheet);
  return sheet;
}

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../../src/lib/package-root.ts';

/**
 * src/oidc/internals.ts is the only file allowed to reach into oidc-provider's internals
 * (STYLE.md §1, issue 9): patched prototypes, properties its typings do not declare, behaviour of
 * its private helpers. This reads every source file and fails on the signs of reaching in
 * anywhere else, so an upgrade of the library has one file to check.
 */

const ROOT = packageRoot();
const INTERNALS = 'src/oidc/internals.ts';

function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory()) return path === 'src/db/generated' ? [] : sources(path);
    return /\.tsx?$/.test(entry.name) && !/\.test\.tsx?$/.test(entry.name) ? [path] : [];
  });
}

/** What reaching into oidc-provider looks like, each with what to use instead. */
const SIGNS: Array<{ sign: RegExp; why: string }> = [
  { sign: /from ['"]oidc-provider\/[^'"]+['"]/, why: "imports one of oidc-provider's own modules" },
  {
    sign: /\b(?:Client|OIDCContext|Grant|AccessToken|ClientCredentials|RefreshToken|Provider)\.prototype\b/,
    why: "patches oidc-provider's classes",
  },
  { sign: /\.compareClientSecret\s*=[^=]/, why: "overrides oidc-provider's secret comparison" },
  { sign: /\bOIDCContext\b/, why: "uses oidc-provider's request context class" },
  { sign: /\.oidc\)?\.body\b|\boidc as unknown as/, why: "reads oidc-provider's parsed body" },
  {
    sign: /\bGrant\.find\b|\.(?:AccessToken|ClientCredentials|RefreshToken)\.find\b|\[model\]\.find\b/,
    why: "loads oidc-provider's models",
  },
  { sign: /Object\.defineProperties?\(\s*(?:ctx\.)?req\b/, why: "rewires the request stream for oidc-provider's body parser" },
  { sign: /\(ctx\.oidc\.params as [^)]*\)\.\w+\s*=[^=]/, why: "writes oidc-provider's parsed parameters" },
  { sign: /\.middleware as\b|\bprovider(?:\(\))? as unknown as/, why: 'reaches into the Provider instance' },
];

/** Files that import oidc-provider or live beside it must not cast through unknown either. */
const UNKNOWN_CAST = /\bas unknown as\b/;
const TOUCHES_PROVIDER = (path: string, text: string) => path.startsWith('src/oidc/') || /from ['"]oidc-provider['"]/.test(text);

/** The code of a file without its comment lines (comments may name what the code must not do). */
const code = (text: string) =>
  text
    .split('\n')
    .filter((line) => !/^\s*(?:\/\/|\/\*|\*)/.test(line))
    .join('\n');

function reachesIn(path: string, source: string): string[] {
  const text = code(source);
  const found = SIGNS.filter(({ sign }) => sign.test(text)).map(({ why }) => why);
  if (TOUCHES_PROVIDER(path, text) && UNKNOWN_CAST.test(text)) found.push('casts through unknown beside oidc-provider');
  return found;
}

describe('oidc-provider internals', () => {
  it(`are reached only from ${INTERNALS}`, () => {
    const offenders = sources('src')
      .filter((path) => path !== INTERNALS)
      .flatMap((path) => reachesIn(path, readFileSync(join(ROOT, path), 'utf8')).map((why) => `${path}: ${why}`));
    expect(offenders).toEqual([]);
  });

  it('recognises what internals.ts does (the signs are not stale)', () => {
    const text = readFileSync(join(ROOT, INTERNALS), 'utf8');
    const seen = reachesIn(INTERNALS, text);
    expect(seen).toEqual(expect.arrayContaining(SIGNS.slice(1).map(({ why }) => why)));
    expect(seen).toContain('casts through unknown beside oidc-provider');
  });

  it('leave src/oidc free of src/http (the protocol wing does not know the Koa app)', () => {
    const upward = sources('src/oidc').filter((path) => /from ['"](?:\.\.\/)+http\//.test(readFileSync(join(ROOT, path), 'utf8')));
    expect(upward).toEqual([]);
  });

  it('recognises a deep import and a cast in another file', () => {
    expect(reachesIn('src/http/x.ts', "import x from 'oidc-provider/lib/helpers/weak_cache.js';")).toHaveLength(1);
    expect(reachesIn('src/oidc/x.ts', 'const p = provider() as unknown as { Grant: unknown };')).toEqual([
      'reaches into the Provider instance',
      'casts through unknown beside oidc-provider',
    ]);
    expect(reachesIn('src/http/pages/color.ts', 'const rgb = parts as unknown as Rgb;')).toEqual([]);
  });
});

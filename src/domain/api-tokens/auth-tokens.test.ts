import { describe, expect, it } from 'vitest';
import { AuthTokensError, parseAuthTokens } from './auth-tokens.ts';

const LONG = 'a-long-operator-chosen-secret-0123456789';

function issues(value: string): string[] {
  try {
    parseAuthTokens(value);
  } catch (err) {
    expect(err).toBeInstanceOf(AuthTokensError);
    return (err as AuthTokensError).issues;
  }
  throw new Error('accepted');
}

describe('AUTH_TOKENS parser', () => {
  it('reads entries separated by newlines, as a compose literal block writes them', () => {
    const { tokens, warnings } = parseAuthTokens(`alice:${LONG}:view_user&add_user\nci:${LONG}x:add_job\n`);
    expect(tokens).toEqual([
      { line: 1, username: 'alice', secret: LONG, permissions: ['add_user', 'view_user'] },
      { line: 2, username: 'ci', secret: `${LONG}x`, permissions: ['add_job'] },
    ]);
    expect(warnings).toEqual([]);
  });

  it('reads entries separated by spaces or tabs, as a folded block writes them', () => {
    const { tokens } = parseAuthTokens(`  alice:${LONG}:view_user \t ci:${LONG}x:add_job  `);
    expect(tokens.map((t) => [t.line, t.username])).toEqual([
      [1, 'alice'],
      [2, 'ci'],
    ]);
  });

  it('numbers entries in order, not counting blank lines', () => {
    expect(issues(`alice:${LONG}:view_user\n\n\nbroken`)).toEqual([expect.stringMatching(/^line 2: /)]);
  });

  it('takes an empty or missing value as no declared token', () => {
    expect(parseAuthTokens(undefined)).toEqual({ tokens: [], warnings: [] });
    expect(parseAuthTokens(' \n ')).toEqual({ tokens: [], warnings: [] });
  });

  it('allows no permissions, duplicate codenames, and colons inside the secret', () => {
    const { tokens } = parseAuthTokens(`alice:${LONG}: bob:se:cr:${LONG}:view_user&view_user`);
    expect(tokens).toEqual([
      { line: 1, username: 'alice', secret: LONG, permissions: [] },
      { line: 2, username: 'bob', secret: `se:cr:${LONG}`, permissions: ['view_user'] },
    ]);
  });

  it('warns about a short secret, naming the line, not the secret', () => {
    const { tokens, warnings } = parseAuthTokens(`alice:${LONG}:view_user bob:short:view_user`);
    expect(tokens).toHaveLength(2);
    expect(warnings).toEqual([expect.stringMatching(/^AUTH_TOKENS line 2: the secret has fewer than 32 characters/)]);
    expect(warnings.join()).not.toContain('short:');
  });

  it.each([
    ['no colon', 'hunter2hunter2'],
    ['one colon', 'alice:hunter2hunter2'],
    ['an empty secret', 'alice::view_user'],
    ['an invalid username', 'al/ice:hunter2hunter2:view_user'],
    ['an empty username', ':hunter2hunter2:view_user'],
    ['an invalid codename', 'alice:hunter2hunter2:View-User'],
    ['an empty codename', 'alice:hunter2hunter2:view_user&&add_user'],
    ['fields swapped', 'alice:view_user:hunter2hunter2'],
    ['a control character in the secret', 'alice:hunter2\u0001hunter2:view_user'],
    ['a huge secret', `alice:${'x'.repeat(600)}hunter2hunter2:view_user`],
  ])('stops on an entry with %s, naming its line and no part of it', (_, entry) => {
    const found = issues(`ok:${LONG}:view_user\n${entry}`);
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(/^line 2: /);
    expect(found.join()).not.toContain('hunter2');
    expect(found.join()).not.toContain('alice');
    expect(found.join()).not.toContain(LONG);
  });

  it('stops on a secret reused across lines, naming both lines', () => {
    const found = issues(`alice:${LONG}:view_user bob:${LONG}x:add_user carol:${LONG}:add_user`);
    expect(found).toEqual(['line 3: uses the same secret as line 1; each token needs its own']);
  });

  it('names every malformed line at once, and the message carries no secret', () => {
    try {
      parseAuthTokens('a:hunter2hunter2 b:hunter2hunter3:BAD ok:hunter2hunter4:view_user');
      throw new Error('accepted');
    } catch (err) {
      expect((err as AuthTokensError).issues.map((i) => i.slice(0, 7))).toEqual(['line 1:', 'line 2:']);
      expect((err as Error).message).not.toMatch(/hunter2/);
    }
  });
});

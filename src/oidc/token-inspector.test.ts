import { describe, expect, it } from 'vitest';
import type { TokenParties } from './introspection-policy.ts';
import { createTokenInspector } from './token-inspector.ts';
import { createIssuedPartiesCheck } from './token-kinds/issued-parties.ts';
import type { TokenKind } from './token-kinds/token-kind.ts';

const ORDERS = 'https://orders.example.test';

interface Fake {
  value: string;
  parties: TokenParties | null;
  active?: boolean;
  /** null: a further check (grant, parties) finds it dead */
  alive?: boolean;
}

/** A kind over a fixed list of tokens, recording what the inspector asked of it. */
function fakeKind(name: string, prefix: string, tokens: Fake[]) {
  const calls: string[] = [];
  const kind: TokenKind<Fake> = {
    name,
    recognises: (value) => value.startsWith(prefix),
    async find(value) {
      calls.push(`find ${value}`);
      return tokens.find((t) => t.value === value) ?? null;
    },
    partiesOf: (t) => t.parties,
    isActive: (t) => t.active ?? true,
    async introspection(t) {
      calls.push(`introspection ${t.value}`);
      return t.alive === false ? null : { active: true, kind: name, value: t.value };
    },
    async revoke(t) {
      calls.push(`revoke ${t.value}`);
    },
  };
  return { kind, calls };
}

const own = { kind: 'access_token', clientId: 'app', audiences: [ORDERS] } as const;
const caller = { clientId: 'app', apis: [] };
const stranger = { clientId: 'other', apis: [] };

describe('token inspector', () => {
  it('leaves a value to the first kind that recognises it', async () => {
    const jwt = fakeKind('jwt', 'eyJ', [{ value: 'eyJ.a.b', parties: own }]);
    const opaque = fakeKind('opaque', '', [{ value: 'opaque-1', parties: own }]);
    const inspector = createTokenInspector({ kinds: [jwt.kind, opaque.kind] });

    expect(await inspector.introspect('eyJ.a.b', undefined, caller)).toEqual({ active: true, kind: 'jwt', value: 'eyJ.a.b' });
    expect(await inspector.introspect('opaque-1', undefined, caller)).toEqual({ active: true, kind: 'opaque', value: 'opaque-1' });
    expect(opaque.calls).toEqual(['find opaque-1', 'introspection opaque-1']);
  });

  it('takes a third kind placed before the catch-all one (an API token kind)', async () => {
    const apiTokens = fakeKind('api_token', 'ghat_', [{ value: 'ghat_x', parties: { kind: 'api_token', audiences: [] } }]);
    const opaque = fakeKind('opaque', '', []);
    const inspector = createTokenInspector({ kinds: [apiTokens.kind, opaque.kind] });

    const introspector = { clientId: 'rs', apis: [{ identifier: ORDERS, introspect: true }] };
    expect(await inspector.introspect('ghat_x', undefined, introspector)).toMatchObject({ active: true, kind: 'api_token' });
    expect(opaque.calls).toEqual([]);
  });

  it.each([
    ['unknown to its kind', { value: 'other', parties: own }, 'x'],
    ['no longer active (denylisted, consumed)', { value: 'x', parties: own, active: false }, 'x'],
    ['found dead by a further check (its grant, its client)', { value: 'x', parties: own, alive: false }, 'x'],
    ['of no kind the policy knows', { value: 'x', parties: null }, 'x'],
  ] as const)('answers inactive for a token %s (RFC 7662 §2.2)', async (_label, token, value) => {
    const inspector = createTokenInspector({ kinds: [fakeKind('opaque', '', [token]).kind] });
    expect(await inspector.introspect(value, undefined, caller)).toEqual({ active: false });
  });

  it('answers inactive for a value no kind recognises', async () => {
    const inspector = createTokenInspector({ kinds: [fakeKind('jwt', 'eyJ', []).kind] });
    expect(await inspector.introspect('plain', undefined, caller)).toEqual({ active: false });
  });

  it('applies the policy before any further lookup (RFC 7662 §4)', async () => {
    const opaque = fakeKind('opaque', '', [{ value: 'x', parties: own }]);
    const inspector = createTokenInspector({ kinds: [opaque.kind] });
    expect(await inspector.introspect('x', undefined, stranger)).toEqual({ active: false });
    expect(opaque.calls).toEqual(['find x']);
  });

  it('finds, reports the parties of and revokes a token through its kind (RFC 7009 §2.1)', async () => {
    const opaque = fakeKind('opaque', '', [{ value: 'x', parties: own }]);
    const inspector = createTokenInspector({ kinds: [opaque.kind] });
    const found = await inspector.inspect('x', 'refresh_token');
    expect(found && inspector.partiesOf(found)).toEqual(own);
    if (found) await inspector.revoke(found);
    expect(opaque.calls).toEqual(['find x', 'revoke x']);
    expect(await inspector.inspect('y', undefined)).toBeNull();
  });
});

describe('issued parties check (DESIGN.md §5)', () => {
  const check = createIssuedPartiesCheck({
    applications: { findClient: async (id: string) => (id === 'gone' ? null : ({ isActive: id !== 'off' } as never)) },
    apis: { resolve: async (id: string) => (id === ORDERS ? ({ identifier: ORDERS } as never) : null) },
    // usr_back was deactivated at 1000 s and is active again: only what was made after counts.
    access: {
      isSignInCurrent: async (id: string, issuedAt: number | undefined) =>
        id === 'usr_back' ? (issuedAt ?? 0) >= 1000 : id !== 'usr_gone' && id !== 'usr_off',
    },
  });

  it('keeps a token whose client and APIs exist', async () => {
    expect(await check('app', ORDERS)).toBe(true);
    expect(await check('app', [ORDERS])).toBe(true);
    expect(await check(undefined, undefined)).toBe(true);
    expect(await check('app', ORDERS, 'usr_here')).toBe(true);
    expect(await check('app', ORDERS, 'usr_back', 1001)).toBe(true);
  });

  it.each([
    ['a deleted person', 'usr_gone'],
    ['a deactivated person', 'usr_off'],
    ['a person deactivated after it was issued', 'usr_back'],
  ] as const)('ends a token of %s', async (_label, person) => {
    expect(await check('app', ORDERS, person, 999)).toBe(false);
  });

  it.each([
    ['a deleted client', 'gone', ORDERS],
    ['a deactivated client', 'off', ORDERS],
    ['a deleted API', 'app', 'https://gone.example.test'],
    ['one deleted API among several', 'app', [ORDERS, 'https://gone.example.test']],
    ['an audience that is not a string', 'app', [ORDERS, 42]],
  ] as const)('ends a token of %s', async (_label, clientId, aud) => {
    expect(await check(clientId, aud)).toBe(false);
  });
});

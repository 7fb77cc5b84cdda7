import { describe, expect, it } from 'vitest';
import { describeClaims, describeOidcScopes } from './scopes.ts';

describe('scope descriptions', () => {
  it('describes the OIDC scopes Gatehouse offers in words, identity first and lasting access last', () => {
    expect(describeOidcScopes(['offline_access', 'email', 'openid', 'profile'])).toEqual([
      { scope: 'openid', text: 'Confirm who you are (your account’s unique identifier)' },
      { scope: 'profile', text: 'See your name and username' },
      { scope: 'email', text: 'See your email address and whether it is verified' },
      { scope: 'offline_access', text: 'Keep this access while you are away, until you revoke it' },
    ]);
  });

  it('names a scope it has no words for instead of hiding it, and lists each scope once', () => {
    expect(describeOidcScopes(['openid', 'groups', 'openid', '', 'offline_access', 'groups'])).toEqual([
      { scope: 'openid', text: expect.any(String) },
      { scope: 'groups', text: 'Use the “groups” permission' },
      { scope: 'offline_access', text: expect.any(String) },
    ]);
  });

  it('describes individually requested claims, leaving out protocol bookkeeping', () => {
    expect(describeClaims(['sub', 'email', 'auth_time', 'preferred_username', 'shoe_size', 'email'])).toEqual([
      'your email address',
      'your username',
      'your “shoe_size”',
    ]);
  });
});

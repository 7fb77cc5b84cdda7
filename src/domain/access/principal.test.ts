import { describe, expect, it } from 'vitest';
import {
  canActOnUser,
  check,
  holds,
  mayActOnOwn,
  missingPermissions,
  operatorPrincipal,
  type Principal,
  systemPrincipal,
} from './principal.ts';

const user = (permissions: string[]): Principal => ({
  userId: 'usr_1',
  isSuperuser: false,
  permissions: new Set(permissions),
  actor: 'user:usr_1',
});

describe('principal', () => {
  it('superusers, the operator and the system hold everything', () => {
    for (const p of [operatorPrincipal('alice'), systemPrincipal, { ...user([]), isSuperuser: true }]) {
      expect(holds(p, 'delete_user')).toBe(true);
      expect(missingPermissions(p, ['delete_user', 'anything_else'])).toEqual([]);
    }
    expect(operatorPrincipal('alice').actor).toBe('cli:alice');
  });

  it('a user holds what their set says, nothing more', () => {
    const p = user(['change_role']);
    expect(holds(p, 'change_role')).toBe(true);
    expect(holds(p, 'delete_user')).toBe(false);
    expect(missingPermissions(p, ['change_role', 'delete_user', 'delete_user'])).toEqual(['delete_user']);
  });

  it('check answers each asked codename once, in order', () => {
    expect(check(user(['view_user', 'add_user']), ['add_user', 'delete_user', 'view_user', 'add_user'])).toEqual({
      granted: ['add_user', 'view_user'],
      denied: ['delete_user'],
    });
    expect(check(systemPrincipal, ['add_mediasource'])).toEqual({ granted: ['add_mediasource'], denied: [] });
    expect(check(user([]), [])).toEqual({ granted: [], denied: [] });
  });

  it('acts on a user only when holding everything they hold, never on a superuser unless one', () => {
    const target = { isSuperuser: false, permissions: new Set(['view_user', 'delete_user']) };
    expect(canActOnUser(user(['view_user']), target)).toBe(false);
    expect(canActOnUser(user(['view_user', 'delete_user', 'add_user']), target)).toBe(true);
    expect(canActOnUser(user(['view_user', 'delete_user']), { ...target, isSuperuser: true })).toBe(false);
    expect(canActOnUser(systemPrincipal, { ...target, isSuperuser: true })).toBe(true);
  });
});

describe('mayActOnOwn', () => {
  it('a person acting as themselves may act on their own objects without holding the codename', () => {
    expect(mayActOnOwn(user([]), 'change_application')).toBe(true);
  });

  it('a read credential only views; a codename list admits only its codenames; the operator has no own objects', () => {
    const read: Principal = { ...user([]), credential: { readOnly: true, codenames: null } };
    expect(mayActOnOwn(read, 'view_application')).toBe(true);
    expect(mayActOnOwn(read, 'change_application')).toBe(false);
    const listed: Principal = { ...user([]), credential: { readOnly: false, codenames: new Set(['view_token']) } };
    expect(mayActOnOwn(listed, 'view_token')).toBe(true);
    expect(mayActOnOwn(listed, 'view_application')).toBe(false);
    const none: Principal = { ...user([]), credential: { readOnly: false, codenames: new Set() } };
    expect(mayActOnOwn(none, 'view_token')).toBe(false);
    expect(mayActOnOwn(operatorPrincipal('alice'), 'view_application')).toBe(false);
  });
});

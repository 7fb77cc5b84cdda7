import { describe, expect, it } from 'vitest';
import { isUnnarrowed, narrow } from './narrow.ts';

const held = new Set(['view_user', 'add_user', 'change_user', 'view_role', 'delete_role']);

describe('narrow', () => {
  it('keeps everything for a write scope without codenames', () => {
    expect(narrow(held, { scope: 'write' })).toEqual(held);
    expect(narrow(held, { scope: 'write', codenames: [] })).toEqual(held);
  });

  it('keeps only view_* codenames for a read scope', () => {
    expect(narrow(held, { scope: 'read' })).toEqual(new Set(['view_user', 'view_role']));
  });

  it('keeps only the explicit codenames the user holds', () => {
    expect(narrow(held, { scope: 'write', codenames: ['add_user', 'add_mediasource'] })).toEqual(new Set(['add_user']));
  });

  it('applies the scope and the codenames together', () => {
    expect(narrow(held, { scope: 'read', codenames: ['add_user', 'view_user'] })).toEqual(new Set(['view_user']));
  });

  it('does not mistake a codename that merely contains view for a view_ one', () => {
    expect(narrow(new Set(['change_preview', 'review_thing']), { scope: 'read' })).toEqual(new Set());
  });

  it('never changes its input', () => {
    const copy = new Set(held);
    narrow(held, { scope: 'read' });
    expect(held).toEqual(copy);
  });

  it('says when a narrowing keeps everything', () => {
    expect(isUnnarrowed({ scope: 'write' })).toBe(true);
    expect(isUnnarrowed({ scope: 'write', codenames: [] })).toBe(true);
    expect(isUnnarrowed({ scope: 'read' })).toBe(false);
    expect(isUnnarrowed({ scope: 'write', codenames: ['add_user'] })).toBe(false);
  });
});

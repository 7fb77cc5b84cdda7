import { describe, expect, it } from 'vitest';
import { BUILT_IN_CODENAMES, BUILT_IN_PERMISSIONS, Codename, defaultPermissionName, isCodename } from './codename.ts';

describe('permission codenames', () => {
  it.each(['add_application', 'change_mediasource', 'view_activity', 'delete_media_source', 'add2_thing9'])('accepts %s', (c) => {
    expect(isCodename(c)).toBe(true);
    expect(Codename.safeParse(c).success).toBe(true);
  });

  it.each([
    ['no underscore', 'addapplication'],
    ['upper case', 'Add_application'],
    ['leading digit', '1add_thing'],
    ['empty model', 'add_'],
    ['model starting with a digit', 'add_1thing'],
    ['leading underscore', '_add_thing'],
    ['a space', 'add thing'],
    ['a separator of AUTH_TOKENS', 'add_a&b'],
    ['a colon', 'add_a:b'],
    ['a dash', 'add_media-source'],
    ['non-ASCII', 'add_médiasource'],
    ['a newline', 'add_thing\n'],
    ['too long', `add_${'x'.repeat(100)}`],
    ['empty', ''],
  ])('refuses one with %s', (_, c) => {
    expect(isCodename(c)).toBe(false);
    expect(Codename.safeParse(c).success).toBe(false);
  });

  it('declares the admin codenames of every model, view_activity and view_access', () => {
    expect(BUILT_IN_PERMISSIONS).toHaveLength(30);
    for (const model of ['application', 'user', 'role', 'permission', 'token', 'organization', 'api'])
      for (const action of ['view', 'add', 'change', 'delete']) expect(BUILT_IN_CODENAMES.has(`${action}_${model}`)).toBe(true);
    expect(BUILT_IN_CODENAMES.has('view_activity')).toBe(true);
    expect(BUILT_IN_CODENAMES.has('view_access')).toBe(true);
    for (const p of BUILT_IN_PERMISSIONS) expect(isCodename(p.codename)).toBe(true);
  });

  it('names a codename created without a name', () => {
    expect(defaultPermissionName('add_media_source')).toBe('Can add media source');
  });
});

import { describe, expect, it } from 'vitest';
import { addressGroup } from './address-group.ts';

describe('addressGroup', () => {
  it.each([
    ['192.0.2.1', '192.0.2.1'],
    ['::ffff:192.0.2.1', '192.0.2.1'],
    ['::FFFF:127.0.0.1', '127.0.0.1'],
    ['2001:db8:1:2:3:4:5:6', '2001:db8:1:2::/64'],
    ['2001:0db8:0001:0002:abcd::1', '2001:db8:1:2::/64'],
    ['2001:db8::1', '2001:db8:0:0::/64'],
    ['::1', '0:0:0:0::/64'],
    ['fe80::1%eth0', 'fe80:0:0:0::/64'],
    ['64:ff9b::192.0.2.1', '64:ff9b:0:0::/64'],
    ['', ''],
    ['not an address', 'not an address'],
  ])('groups %j as %j', (ip, group) => {
    expect(addressGroup(ip)).toBe(group);
  });

  it('puts every address of one /64 in one group, and neighbouring /64s in different ones', () => {
    expect(addressGroup('2001:db8:a:b:1::1')).toBe(addressGroup('2001:db8:a:b:ffff:ffff:ffff:ffff'));
    expect(addressGroup('2001:db8:a:b::1')).not.toBe(addressGroup('2001:db8:a:c::1'));
  });
});

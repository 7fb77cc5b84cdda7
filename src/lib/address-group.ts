import { isIPv4, isIPv6 } from 'node:net';

/**
 * The unit an IP-based limit counts: an IPv4 address, or the /64 network of an IPv6 address.
 *
 * One IPv6 host usually holds a whole /64 (RFC 4291 §2.5.4 interface identifiers, SLAAC privacy
 * addresses under RFC 8981), so counting single IPv6 addresses would let one machine rotate through
 * 2^64 of them. An IPv4-mapped IPv6 address (`::ffff:192.0.2.1`, what a dual-stack socket reports
 * for an IPv4 peer) counts as its IPv4 address. Anything else (an empty string, a unix socket) is
 * returned as it is.
 */
export function addressGroup(ip: string): string {
  const address = ip.replace(/%.*$/, ''); // zone index (fe80::1%eth0)
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
  if (mapped?.[1] && isIPv4(mapped[1])) return mapped[1];
  if (!isIPv6(address)) return ip;
  const hextets = expandIPv6(address);
  return `${hextets.slice(0, 4).join(':')}::/64`;
}

/** The eight hextets of a valid IPv6 address, lower-case without leading zeros. */
function expandIPv6(address: string): string[] {
  const toHextets = (part: string): string[] => {
    if (!part) return [];
    const groups = part.split(':');
    const last = groups[groups.length - 1] ?? '';
    if (last.includes('.')) {
      // an embedded IPv4 tail (::ffff:1.2.3.4, 64:ff9b::1.2.3.4) is the last two hextets
      const [a = 0, b = 0, c = 0, d = 0] = last.split('.').map(Number);
      groups.splice(-1, 1, ((a << 8) | b).toString(16), ((c << 8) | d).toString(16));
    }
    return groups;
  };
  const [head = '', tail] = address.split('::');
  const front = toHextets(head);
  const back = tail === undefined ? [] : toHextets(tail);
  const zeros = Array.from({ length: 8 - front.length - back.length }, () => '0');
  return [...front, ...zeros, ...back].map((h) => Number.parseInt(h, 16).toString(16));
}

import { isIPv4, isIPv6 } from '../net/ip.ts';

/**
 * The canonical form of a CIDR as clouds store it: host bits cleared and IPv6 in its shortest lowercase form
 * (`203.0.113.7/24` → `203.0.113.0/24`, `2001:DB8:0::1/48` → `2001:db8::/48`). EC2 answers with this form whatever
 * was sent, so rules are compared in it. Input must already be a valid CIDR (see net/cidr.ts).
 */
export function canonicalCidr(cidr: string): string {
  const [addr = '', bitsText] = cidr.trim().split('/');
  if (isIPv4(addr)) {
    const bits = bitsText === undefined ? 32 : Number(bitsText);
    const value = addr.split('.').reduce((n, part) => n * 256 + Number(part), 0);
    const masked = bits === 0 ? 0 : Math.floor(value / 2 ** (32 - bits)) * 2 ** (32 - bits);
    return `${[24, 16, 8, 0].map((shift) => Math.floor(masked / 2 ** shift) % 256).join('.')}/${bits}`;
  }
  if (isIPv6(addr)) {
    const bits = bitsText === undefined ? 128 : Number(bitsText);
    const groups = expandIpv6(addr);
    let remaining = bits;
    const masked = groups.map((g) => {
      const keep = Math.max(0, Math.min(16, remaining));
      remaining -= 16;
      return keep === 16 ? g : keep === 0 ? 0 : g & (0xffff << (16 - keep)) & 0xffff;
    });
    return `${compressIpv6(masked)}/${bits}`;
  }
  return cidr.trim();
}

function expandIpv6(addr: string): number[] {
  let text = addr.toLowerCase();
  // An embedded IPv4 tail (::ffff:1.2.3.4) becomes two groups.
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const p = v4[1]!.split('.').map(Number);
    text = text.slice(0, -v4[1]!.length) + `${((p[0]! << 8) | p[1]!).toString(16)}:${((p[2]! << 8) | p[3]!).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const left = head ? head.split(':') : [];
  const right = tail === undefined ? [] : tail ? tail.split(':') : [];
  const fill = tail === undefined ? [] : new Array<string>(8 - left.length - right.length).fill('0');
  return [...left, ...fill, ...right].map((g) => parseInt(g, 16));
}

/** RFC 5952: the longest run of two or more zero groups becomes `::` (the first such run on a tie). */
function compressIpv6(groups: number[]): string {
  let best = { start: -1, len: 0 };
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > best.len) best = { start: i, len: j - i };
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best.len < 2) return hex.join(':');
  return `${hex.slice(0, best.start).join(':')}::${hex.slice(best.start + best.len).join(':')}`;
}

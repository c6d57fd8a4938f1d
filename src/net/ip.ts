/**
 * IP address parsing without `node:net`, so the coordinator's shared code runs on Workers too. Accepts what
 * node:net's isIPv4/isIPv6 accept (dotted quads without leading zeros; IPv6 with `::`, an embedded IPv4 tail and a
 * `%zone`), checked against node:net in ip.test.ts.
 */

const OCTET = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

export function isIPv4(text: string): boolean {
  const parts = text.split('.');
  return parts.length === 4 && parts.every((p) => OCTET.test(p));
}

/** The eight 16-bit groups of an IPv6 address (its zone dropped), or undefined when it is not one. */
export function ipv6Groups(text: string): number[] | undefined {
  const zone = text.indexOf('%');
  if (zone === 0 || zone === text.length - 1) return undefined;
  const address = zone > 0 ? text.slice(0, zone) : text;
  if (zone > 0 && !/^[\w.-]+$/.test(text.slice(zone + 1))) return undefined;
  const halves = address.split('::');
  if (halves.length > 2) return undefined;
  const words = (half: string): number[] | undefined => {
    if (half === '') return [];
    const out: number[] = [];
    const pieces = half.split(':');
    for (const [i, piece] of pieces.entries()) {
      if (i === pieces.length - 1 && piece.includes('.')) {
        if (!isIPv4(piece)) return undefined;
        const [a, b, c, d] = piece.split('.').map(Number) as [number, number, number, number];
        out.push((a << 8) | b, (c << 8) | d);
      } else if (/^[0-9a-fA-F]{1,4}$/.test(piece)) out.push(parseInt(piece, 16));
      else return undefined;
    }
    return out;
  };
  const left = words(halves[0]!);
  const right = halves.length === 2 ? words(halves[1]!) : [];
  if (!left || !right) return undefined;
  if (halves.length === 1) return left.length === 8 ? left : undefined;
  const missing = 8 - left.length - right.length;
  return missing >= 1 ? [...left, ...Array<number>(missing).fill(0), ...right] : undefined;
}

export function isIPv6(text: string): boolean {
  return ipv6Groups(text) !== undefined;
}

/** 4, 6 or 0, as node:net's isIP. */
export function isIP(text: string): 0 | 4 | 6 {
  return isIPv4(text) ? 4 : isIPv6(text) ? 6 : 0;
}

/** The address as 4 or 16 bytes. */
function bytesOf(address: string): number[] | undefined {
  if (isIPv4(address)) return address.split('.').map(Number);
  const groups = ipv6Groups(address);
  return groups?.flatMap((g) => [g >> 8, g & 0xff]);
}

/** Whether `address` lies inside `cidr` (`a.b.c.d/n`, an IPv6 CIDR, or a bare address). Families never mix. */
export function inCidr(address: string, cidr: string): boolean {
  const [base = '', prefixText] = cidr.split('/');
  const a = bytesOf(address);
  const b = bytesOf(base);
  if (!a || !b || a.length !== b.length) return false;
  const prefix = prefixText === undefined ? a.length * 8 : Number(prefixText);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > a.length * 8) return false;
  for (let bit = 0; bit < prefix; bit += 8) {
    const take = Math.min(8, prefix - bit);
    const mask = (0xff << (8 - take)) & 0xff;
    if (((a[bit / 8]! ^ b[bit / 8]!) & mask) !== 0) return false;
  }
  return true;
}

import type { Context } from 'hono';
import { getConnInfo } from '@hono/node-server/conninfo';
import { BlockList, isIP, isIPv4, isIPv6 } from 'node:net';
import type { AppEnv } from './env.ts';

/**
 * Where a request comes from. The TCP peer, unless the operator named a trusted proxy (`trustedProxy`: a header and
 * the peer CIDRs allowed to set it, e.g. `CF-Connecting-IP` from Cloudflare's ranges): then, and only for requests
 * whose peer is in those CIDRs, the header's address. A header from anyone else is ignored, so it cannot be forged.
 */
export interface TrustedProxy {
  /** The header carrying the client address (`CF-Connecting-IP`, `X-Real-IP`, `X-Forwarded-For`: its last entry). */
  header: string;
  /** CIDRs of the proxy's own addresses. */
  from: string[];
}

const lists = new WeakMap<TrustedProxy, BlockList>();

function proxyList(proxy: TrustedProxy): BlockList {
  let list = lists.get(proxy);
  if (!list) {
    list = new BlockList();
    for (const cidr of proxy.from) {
      const [address = '', prefix] = cidr.split('/');
      const family = isIPv4(address) ? 'ipv4' : 'ipv6';
      list.addSubnet(address, Number(prefix ?? (family === 'ipv4' ? 32 : 128)), family);
    }
    lists.set(proxy, list);
  }
  return list;
}

/** `::ffff:192.0.2.1` is the IPv4 address it maps; a zone (`%eth0`) is dropped. */
function plain(address: string): string {
  const bare = address.replace(/%.*$/, '');
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(bare);
  return mapped ? mapped[1]! : bare;
}

function peerAddress(c: Context<AppEnv>): string | undefined {
  try {
    return getConnInfo(c).remote.address || undefined;
  } catch {
    return undefined;
  }
}

/** The client address the proxy's header names, when the peer is that proxy and the header holds one address. */
export function forwardedAddress(peer: string | undefined, value: string | undefined, proxy: TrustedProxy | undefined): string | undefined {
  if (!proxy || !peer || value === undefined) return undefined;
  const from = plain(peer);
  if (!proxyList(proxy).check(from, isIPv4(from) ? 'ipv4' : 'ipv6')) return undefined;
  // X-Forwarded-For lists every hop; only the last one was written by our proxy.
  const candidate = plain((proxy.header.toLowerCase() === 'x-forwarded-for' ? value.split(',').at(-1) : value)?.trim() ?? '');
  return isIP(candidate) ? candidate : undefined;
}

/** The request's client address (see TrustedProxy); undefined off the Node server. */
export function sourceAddress(c: Context<AppEnv>): string | undefined {
  const peer = peerAddress(c);
  const proxy = c.var.deps.config.trustedProxy;
  const forwarded = proxy ? forwardedAddress(peer, c.req.header(proxy.header), proxy) : undefined;
  return forwarded ?? (peer ? plain(peer) : undefined);
}

/** The eight 16-bit groups of an IPv6 address, or undefined when it is not one. */
function ipv6Groups(address: string): number[] | undefined {
  if (!isIPv6(address)) return undefined;
  let text = address.toLowerCase();
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (v4) {
    const [a, b, c, d] = v4.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, v4.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = [...left, ...Array(8 - left.length - right.length).fill('0'), ...right].map((g) => parseInt(g, 16));
  return groups.length === 8 && groups.every((g) => g >= 0 && g <= 0xffff) ? groups : undefined;
}

/**
 * The bucket a source is counted in for rate limits: an IPv4 address as it is, an IPv6 address by its /64 (one
 * subscriber or host usually holds a whole /64, so counting single addresses would let it rotate past any bound).
 */
export function rateLimitKey(address: string | undefined): string {
  if (!address) return 'unknown';
  const bare = plain(address);
  if (isIPv4(bare)) return bare;
  const groups = ipv6Groups(bare);
  return groups ? `${groups.slice(0, 4).map((g) => g.toString(16)).join(':')}::/64` : 'unknown';
}

import type { Context } from 'hono';
import { inCidr, ipv6Groups, isIP, isIPv4 } from '../net/ip.ts';
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

/** `::ffff:192.0.2.1` is the IPv4 address it maps; a zone (`%eth0`) is dropped. */
function plain(address: string): string {
  const bare = address.replace(/%.*$/, '');
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(bare);
  return mapped ? mapped[1]! : bare;
}

/**
 * The runtime's view of who is on the other end of the connection, injected by the entry: on Node the TCP peer
 * (@hono/node-server's conninfo), on Workers the `CF-Connecting-IP` Cloudflare's edge sets.
 */
export type PeerAddress = (c: Context<AppEnv>) => string | undefined;

function peerAddress(c: Context<AppEnv>): string | undefined {
  try {
    return c.var.deps.peerAddress?.(c) || undefined;
  } catch {
    return undefined;
  }
}

/** The client address the proxy's header names, when the peer is that proxy and the header holds one address. */
export function forwardedAddress(peer: string | undefined, value: string | undefined, proxy: TrustedProxy | undefined): string | undefined {
  if (!proxy || !peer || value === undefined) return undefined;
  const from = plain(peer);
  if (!proxy.from.some((cidr) => inCidr(from, cidr))) return undefined;
  // X-Forwarded-For lists every hop; only the last one was written by our proxy.
  const candidate = plain((proxy.header.toLowerCase() === 'x-forwarded-for' ? value.split(',').at(-1) : value)?.trim() ?? '');
  return isIP(candidate) ? candidate : undefined;
}

/** The request's client address (see TrustedProxy); undefined when the entry cannot tell. */
export function sourceAddress(c: Context<AppEnv>): string | undefined {
  const peer = peerAddress(c);
  const proxy = c.var.deps.config.trustedProxy;
  const forwarded = proxy ? forwardedAddress(peer, c.req.header(proxy.header), proxy) : undefined;
  return forwarded ?? (peer ? plain(peer) : undefined);
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

/** Error codes that mean the network (or the far end) failed, not the request: DNS, refused, reset, unreachable, timed out. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL', 'ETIMEDOUT', 'EHOSTUNREACH', 'EHOSTDOWN', 'ENETUNREACH', 'ENETDOWN', 'EPIPE',
  'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_SOCKET', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CLOSED',
]);

interface SystemErrorShape { code?: unknown; address?: unknown; port?: unknown; hostname?: unknown; cause?: unknown; errors?: unknown }

/**
 * The network cause of a failed request, as one short phrase (`ECONNREFUSED 127.0.0.1:8787`, `ENOTFOUND api.example.com`),
 * found anywhere in the cause chain (fetch wraps it as `TypeError: fetch failed`, happy eyeballs in an AggregateError).
 * Undefined when the failure was not a network one.
 */
export function networkCause(error: unknown): string | undefined {
  const seen = new Set<unknown>();
  const queue: unknown[] = [error];
  while (queue.length > 0 && seen.size < 16) {
    const e = queue.shift();
    if (!e || typeof e !== 'object' || seen.has(e)) continue;
    seen.add(e);
    const s = e as SystemErrorShape;
    if (typeof s.code === 'string' && NETWORK_CODES.has(s.code)) {
      const where = typeof s.address === 'string' ? `${s.address}${typeof s.port === 'number' ? `:${s.port}` : ''}` : typeof s.hostname === 'string' ? s.hostname : '';
      return where ? `${s.code} ${where}` : s.code;
    }
    queue.push(s.cause);
    if (Array.isArray(s.errors)) queue.push(...(s.errors as unknown[]));
  }
  return undefined;
}

/** What to do about a network failure. */
export const NETWORK_HINT = 'check your network connection (and proxy or VPN), then try again';

/**
 * How the CLI's ssh and rsync reach a box (docs/tunnel.md): straight to its ports (`direct`), through the user's own
 * proxy (`proxy-command`, `proxy-jump`), or through a Cloudflare Tunnel behind Access (`cloudflare`). Chosen once per
 * lease and recorded with it, so a later config change never reroutes a live lease.
 */
export type Transport =
  | { kind: 'direct' }
  | { kind: 'proxy-command'; command: string }
  | { kind: 'proxy-jump'; jump: string }
  | { kind: 'cloudflare'; hostname: string };

export const DIRECT: Transport = Object.freeze({ kind: 'direct' });

/** ssh runs a ProxyCommand through the user's shell; one line only, and no NUL (ssh takes the rest of the line). */
const COMMAND = /^[^\r\n\0]{1,1000}$/;
/** `[user@]host[:port]`, comma-separated hops; never a leading `-` (it would read as an ssh option). */
const HOP = String.raw`(?:[A-Za-z0-9._][A-Za-z0-9._+-]{0,63}@)?(?:[A-Za-z0-9_][A-Za-z0-9._-]{0,252}|\[[0-9A-Fa-f:.]{2,45}\])(?::\d{1,5})?`;
const JUMP = new RegExp(`^${HOP}(?:,${HOP}){0,7}$`);
/** A DNS name (the tunnel's SSH hostname). */
const HOSTNAME = /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;

/** Why a transport value is refused, or undefined when it is fine. */
export function transportProblem(t: Transport): string | undefined {
  switch (t.kind) {
    case 'direct':
      return undefined;
    case 'proxy-command':
      return COMMAND.test(t.command) && t.command.trim() ? undefined : 'expected one line of at most 1000 characters (ssh runs it with %h and %p expanded)';
    case 'proxy-jump':
      return JUMP.test(t.jump) ? undefined : 'expected [user@]host[:port], comma-separated for several hops';
    case 'cloudflare':
      return HOSTNAME.test(t.hostname) ? undefined : 'expected a DNS host name such as cbx-1a2b.boxes.example.com';
  }
}

/** Reads a recorded transport (a JSON value from a file or the coordinator); undefined when it is not one. */
export function parseTransport(value: unknown): Transport | undefined {
  if (!value || typeof value !== 'object') return undefined;
  const v = value as Record<string, unknown>;
  const t: Transport | undefined =
    v.kind === 'direct' ? DIRECT
    : v.kind === 'proxy-command' && typeof v.command === 'string' ? { kind: 'proxy-command', command: v.command }
    : v.kind === 'proxy-jump' && typeof v.jump === 'string' ? { kind: 'proxy-jump', jump: v.jump }
    : v.kind === 'cloudflare' && typeof v.hostname === 'string' ? { kind: 'cloudflare', hostname: v.hostname }
    : undefined;
  return t && transportProblem(t) === undefined ? t : undefined;
}

/** A few words for messages: `direct`, `through the proxy command`, `through bastion.corp`, `through Cloudflare Access`. */
export function describeTransport(t: Transport): string {
  switch (t.kind) {
    case 'direct':
      return 'direct';
    case 'proxy-command':
      return 'through the proxy command';
    case 'proxy-jump':
      return `through ${t.jump}`;
    case 'cloudflare':
      return 'through Cloudflare Access';
  }
}

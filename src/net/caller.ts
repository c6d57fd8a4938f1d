import { DEFAULT_IP_ECHO_URLS, detectOutboundCidr, parseCidr } from './cidr.ts';

/** How long one echo service may take: creates must not wait on a slow or blocked service. */
export const IP_ECHO_TIMEOUT_MS = 3000;

export interface CallerCidrOptions {
  env: NodeJS.ProcessEnv;
  /** Injected in tests: detection never reaches the internet there. */
  fetch?: typeof globalThis.fetch | undefined;
  /** The one warning line when detection fails. */
  warn?: ((line: string) => void) | undefined;
}

/**
 * The caller's address as a /32 for a cloud create's SSH firewall: `CRABBOX_CALLER_CIDR=off` skips it,
 * `CRABBOX_CALLER_CIDR=<cidr>` names it (validated: no /0, no malformed value), otherwise it is detected by asking
 * `CRABBOX_IP_ECHO_URL` (or the default echo services) with a short timeout. Undefined when skipped or undetectable;
 * a failed detection is one warning line and the provider applies its documented behaviour.
 */
export async function resolveCallerCidr(options: CallerCidrOptions): Promise<string | undefined> {
  const explicit = options.env.CRABBOX_CALLER_CIDR?.trim();
  if (explicit === 'off') return undefined;
  if (explicit) return parseCidr(explicit, 'CRABBOX_CALLER_CIDR').cidr;
  const url = options.env.CRABBOX_IP_ECHO_URL?.trim();
  const detected = await detectOutboundCidr({ fetch: options.fetch ?? globalThis.fetch, urls: url ? [url] : DEFAULT_IP_ECHO_URLS, timeoutMs: IP_ECHO_TIMEOUT_MS });
  if (!detected) {
    options.warn?.(`warning: could not detect your public IPv4 address (${url ?? 'default echo services'}); the provider's own rule applies (set CRABBOX_CALLER_CIDR or CRABBOX_AWS_SSH_CIDRS)`);
  }
  return detected;
}

import { isIPv4, isIPv6 } from './ip.ts';
import { CrabboxError } from '../domain/errors.ts';

/** The narrowest prefixes we accept: anything wider is close enough to world-open to refuse. */
const MIN_PREFIX_V4 = 8;
const MIN_PREFIX_V6 = 16;

export interface ParsedCidr {
  cidr: string;
  family: 4 | 6;
}

/** Parses `a.b.c.d/n` or an IPv6 CIDR; a bare address becomes /32 or /128. Refuses world-open and very wide ranges. */
export function parseCidr(text: string, source = 'CIDR'): ParsedCidr {
  const trimmed = text.trim();
  const [addr = '', prefixText, extra] = trimmed.split('/');
  const family = isIPv4(addr) ? 4 : isIPv6(addr) ? 6 : 0;
  if (family === 0 || extra !== undefined || (prefixText !== undefined && !/^\d{1,3}$/.test(prefixText))) {
    throw new CrabboxError('invalid_config', `${source}: ${JSON.stringify(trimmed.slice(0, 60))} is not an IPv4 or IPv6 CIDR`);
  }
  const max = family === 4 ? 32 : 128;
  const prefix = prefixText === undefined ? max : Number(prefixText);
  if (prefix > max) throw new CrabboxError('invalid_config', `${source}: ${JSON.stringify(trimmed)} has a prefix longer than /${max}`);
  const min = family === 4 ? MIN_PREFIX_V4 : MIN_PREFIX_V6;
  if (prefix < min) {
    throw new CrabboxError('invalid_config', `${source}: ${trimmed} would open SSH to (nearly) the whole internet; use /${min} or narrower`, {
      hint: 'list the networks you connect from, e.g. 203.0.113.7/32',
    });
  }
  return { cidr: `${family === 6 ? addr.toLowerCase() : addr}/${prefix}`, family };
}

/** True for 0.0.0.0/0 and ::/0 (and any zero-length prefix). */
export function isWorldOpen(cidr: string): boolean {
  return /\/0$/.test(cidr.trim());
}

/** Parses a comma-separated list (CRABBOX_AWS_SSH_CIDRS); empty means "not set". */
export function parseCidrList(text: string | undefined, source: string): string[] | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  return text.split(',').map((s) => s.trim()).filter(Boolean).map((s) => parseCidr(s, source).cidr);
}

export interface SshCidrChoice {
  /** Operator override (CRABBOX_AWS_SSH_CIDRS or `aws.sshCidrs`): replaces everything else. */
  override?: string[] | undefined;
  /** What the CLI detected as its outbound address. */
  detected?: string | undefined;
  /** The coordinator's view of the request's source address. */
  source?: string | undefined;
}

/** Picks the CIDRs allowed to reach SSH: override > CLI-detected > request source. Empty when none is known. */
export function pickSshCidrs(choice: SshCidrChoice): string[] {
  if (choice.override && choice.override.length > 0) return choice.override.map((c) => parseCidr(c, 'ssh CIDR override').cidr);
  for (const candidate of [choice.detected, choice.source]) {
    if (!candidate) continue;
    const bare = candidate.replace(/^::ffff:/i, '');
    return [parseCidr(bare, 'caller address').cidr];
  }
  return [];
}

export interface DetectOptions {
  fetch: typeof globalThis.fetch;
  /** Services that answer with the caller's address as plain text. */
  urls?: string[];
  timeoutMs?: number;
}

export const DEFAULT_IP_ECHO_URLS = ['https://checkip.amazonaws.com/', 'https://api.ipify.org/'];

/** Detects the CLI's outbound IPv4 address and returns it as /32, or undefined when no service answers sensibly. */
export async function detectOutboundCidr(options: DetectOptions): Promise<string | undefined> {
  for (const url of options.urls ?? DEFAULT_IP_ECHO_URLS) {
    try {
      const response = await options.fetch(url, { signal: AbortSignal.timeout(options.timeoutMs ?? 3000) });
      if (!response.ok) continue;
      const text = (await response.text()).trim().slice(0, 64);
      if (isIPv4(text)) return `${text}/32`;
    } catch {
      // try the next service
    }
  }
  return undefined;
}

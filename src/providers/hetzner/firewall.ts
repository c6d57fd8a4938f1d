import { CrabboxError } from '../../domain/errors.ts';
import { LABEL } from '../../domain/labels.ts';
import type { HFirewall, HFirewallRule } from './api.ts';
import { classify, HetznerApiError, type HetznerClient } from './client.ts';

/** What SSH is opened to when no caller CIDR is known (documented in docs/providers/hetzner.md). */
export const WORLD = ['0.0.0.0/0', '::/0'] as const;

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/** Normalises one caller address or CIDR (`203.0.113.7` → `203.0.113.7/32`); refuses anything else. */
export function normalizeCidr(value: string): string {
  const text = value.trim();
  const [addr = '', bits, extra] = text.split('/');
  if (extra === undefined && IPV4.test(addr)) {
    const n = bits === undefined ? 32 : Number(bits);
    if (bits === undefined || (/^\d{1,2}$/.test(bits) && n <= 32)) return `${addr}/${n}`;
  }
  if (extra === undefined && addr.includes(':') && /^[0-9a-f:]+$/i.test(addr)) {
    const n = bits === undefined ? 128 : Number(bits);
    if (bits === undefined || (/^\d{1,3}$/.test(bits) && n <= 128)) return `${addr.toLowerCase()}/${n}`;
  }
  throw new CrabboxError('bad_request', `${JSON.stringify(value.slice(0, 60))} is not an IP address or CIDR`);
}

function isWorld(cidr: string): boolean {
  return cidr.endsWith('/0');
}

/**
 * The source ranges SSH is opened to. Known caller CIDRs win and a world range among them is dropped;
 * only when no caller range is known at all is SSH opened to everyone (sshd stays key-only).
 */
export function sshSources(cidrs: string[] | undefined): { sources: string[]; world: boolean } {
  const known = [...new Set((cidrs ?? []).map(normalizeCidr).filter((c) => !isWorld(c)))];
  return known.length > 0 ? { sources: known, world: false } : { sources: [...WORLD], world: true };
}

/** Inbound TCP rules for exactly the SSH ports; nothing else is opened. */
export function sshRules(ports: number[], cidrs: string[] | undefined): HFirewallRule[] {
  const { sources } = sshSources(cidrs);
  return [...new Set(ports)].map((port) => ({ direction: 'in', protocol: 'tcp', port: String(port), source_ips: sources, description: `crabbox ssh ${port}` }));
}

export function firewallName(leaseId: string): string {
  return `crabbox-${leaseId}`;
}

async function findFirewall(client: HetznerClient, name: string): Promise<HFirewall | undefined> {
  const found = await client.request<{ firewalls: HFirewall[] }>('GET', '/firewalls', { query: { name } });
  return found.firewalls.find((f) => f.name === name);
}

/**
 * Creates the lease's firewall, or adopts the one an earlier attempt of this lease made (a retry, or a create whose
 * answer was lost: Hetzner then says `uniqueness_error`), after putting exactly the wanted rules on it. A firewall of
 * that name that is not labelled with this lease is someone else's and is refused.
 */
export async function ensureLeaseFirewall(client: HetznerClient, options: { leaseId: string; ports: number[]; cidrs?: string[] | undefined; installation?: string | undefined }): Promise<HFirewall> {
  const name = firewallName(options.leaseId);
  const rules = sshRules(options.ports, options.cidrs);
  const adopt = async (existing: HFirewall): Promise<HFirewall> => {
    if (existing.labels[LABEL.lease] !== options.leaseId) {
      throw new CrabboxError('conflict', `hetzner firewall ${name} exists but does not belong to lease ${options.leaseId}`, { hint: `delete the firewall ${name} in the Hetzner console if it is stale` });
    }
    await client.request('POST', `/firewalls/${existing.id}/actions/set_rules`, { body: { rules } });
    return { ...existing, rules };
  };
  const existing = await findFirewall(client, name);
  if (existing) return adopt(existing);
  const labels: Record<string, string> = { [LABEL.marker]: 'true', [LABEL.lease]: options.leaseId };
  if (options.installation) labels[LABEL.installation] = options.installation;
  try {
    const body = await client.request<{ firewall: HFirewall }>('POST', '/firewalls', { body: { name, labels, rules } });
    return body.firewall;
  } catch (error) {
    // The create was retried after its answer got lost (or raced another attempt of this lease): the name is taken.
    if (!(error instanceof HetznerApiError) || error.code !== 'uniqueness_error') throw error;
    const raced = await findFirewall(client, name);
    if (!raced) throw error;
    return adopt(raced);
  }
}

/**
 * Deletes the lease's firewall. A firewall still detaching from a just-deleted server answers resource_in_use; that
 * is waited out (on the client's clock) for up to ~20 s.
 */
export async function deleteLeaseFirewall(client: HetznerClient, leaseId: string): Promise<'deleted' | 'already-gone'> {
  const firewall = await findFirewall(client, firewallName(leaseId));
  // Only this lease's firewall: one of the same name without the lease's label is someone else's.
  if (!firewall || firewall.labels[LABEL.lease] !== leaseId) return 'already-gone';
  for (let attempt = 1; ; attempt++) {
    try {
      await client.request('DELETE', `/firewalls/${firewall.id}`);
      return 'deleted';
    } catch (error) {
      if (classify(error) === 'not-found') return 'already-gone';
      if ((error as { code?: string }).code !== 'resource_in_use' || attempt >= 10) throw error;
      await client.clock.sleep(2_000);
    }
  }
}

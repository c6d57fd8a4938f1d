import { MACHINE_ID_PATTERN } from '../domain/ids.ts';
import { isMachineKnown, type MachineState } from '../domain/machine.ts';
import { CloudflareApiError, type CloudflareClient } from './client.ts';

/** Where tunnel mode makes its objects (coordinator config `tunnel`; docs/tunnel.md). */
export interface TunnelSettings {
  accountId: string;
  zoneId: string;
  /** The DNS name boxes get host names under (`<machine>.<domain>`); inside the zone. */
  domain: string;
}

/** Who the Access policy lets in: the lease owner's email, or everyone of an email domain (the org). */
export type AccessRule = { email: string } | { emailDomain: string };

/** What tunnel mode made for one machine. The token goes to the box's bootstrap and nowhere else. */
export interface MachineTunnel {
  tunnelId: string;
  hostname: string;
  dnsRecordId: string;
  accessAppId: string;
  /** The connector's token: a secret, only ever put into the box's user data (never stored, logged or returned by the API). */
  token: string;
}

/**
 * The label every object carries, the ownership proof the sweep reads: the tunnel's name, the DNS record's comment and
 * the Access application's name are all `crabbox.<installation>.<machine id>`.
 */
export function tunnelLabel(installation: string, machineId: string): string {
  return `crabbox.${installation}.${machineId}`;
}

/** Reads a label back; undefined for anything that is not one (never ours). */
export function parseTunnelLabel(text: string | null | undefined): { installation: string; machineId: string } | undefined {
  const m = /^crabbox\.(.+)\.(mch_[0-9a-f]{12})$/.exec(text ?? '');
  return m && m[1] && MACHINE_ID_PATTERN.test(m[2]!) ? { installation: m[1], machineId: m[2]! } : undefined;
}

/** The box's SSH host name: `mch-0123456789ab.<domain>` (DNS names have no underscore). */
export function tunnelHostname(settings: TunnelSettings, machineId: string): string {
  return `${machineId.replace('_', '-')}.${settings.domain}`;
}

interface TunnelView { id: string; name: string; created_at: string; deleted_at: string | null }
interface DnsView { id: string; name: string; comment: string | null; created_on: string }
interface AppView { id: string; name: string; domain: string; created_at: string }

const CONFLICT_CODES = new Set([1013, 81053, 81057]);
const isConflict = (e: unknown): boolean => e instanceof CloudflareApiError && (e.status === 409 || e.codes.some((c) => CONFLICT_CODES.has(c)));
const isGone = (e: unknown): boolean => e instanceof CloudflareApiError && e.notFound;

/**
 * Creates, or adopts when a retried create already made it (a lost answer, then "already exists"): the object is
 * found by its label, which only this installation writes.
 */
async function createOrAdopt<T>(create: () => Promise<T>, find: () => Promise<T | undefined>): Promise<T> {
  try {
    return await create();
  } catch (error) {
    if (!isConflict(error)) throw error;
    const found = await find();
    if (!found) throw error;
    return found;
  }
}

/** The API calls behind tunnel mode, one account and zone. */
export function tunnelApi(client: CloudflareClient, settings: TunnelSettings) {
  const acct = `/accounts/${encodeURIComponent(settings.accountId)}`;
  const zone = `/zones/${encodeURIComponent(settings.zoneId)}`;
  return {
    findTunnel: async (name: string) => (await client.listAll<TunnelView>(`${acct}/cfd_tunnel`, { name, is_deleted: false })).find((t) => t.name === name && !t.deleted_at),
    listTunnels: (prefix: string) => client.listAll<TunnelView>(`${acct}/cfd_tunnel`, { include_prefix: prefix, is_deleted: false }),
    createTunnel: (name: string) => client.request<TunnelView>('POST', `${acct}/cfd_tunnel`, { body: { name, config_src: 'cloudflare' } }),
    routeSsh: (tunnelId: string, hostname: string, sshPort: number) =>
      client.request('PUT', `${acct}/cfd_tunnel/${tunnelId}/configurations`, { body: { config: { ingress: [{ hostname, service: `ssh://localhost:${sshPort}` }, { service: 'http_status:404' }] } } }),
    tunnelToken: (tunnelId: string) => client.request<string>('GET', `${acct}/cfd_tunnel/${tunnelId}/token`),
    deleteTunnel: async (tunnelId: string) => {
      // A connected tunnel cannot be deleted: its connections go first.
      await client.request('DELETE', `${acct}/cfd_tunnel/${tunnelId}/connections`);
      await client.request('DELETE', `${acct}/cfd_tunnel/${tunnelId}`);
    },
    findDns: async (hostname: string) => (await client.listAll<DnsView>(`${zone}/dns_records`, { name: hostname })).find((r) => r.name === hostname),
    listDns: (commentPrefix: string) => client.listAll<DnsView>(`${zone}/dns_records`, { 'comment.startswith': commentPrefix }),
    createDns: (hostname: string, tunnelId: string, comment: string) =>
      client.request<DnsView>('POST', `${zone}/dns_records`, { body: { type: 'CNAME', name: hostname, content: `${tunnelId}.cfargotunnel.com`, proxied: true, ttl: 1, comment } }),
    deleteDns: (id: string) => client.request('DELETE', `${zone}/dns_records/${id}`),
    findApp: async (name: string) => (await client.listAll<AppView>(`${acct}/access/apps`, { name })).find((a) => a.name === name),
    listApps: () => client.listAll<AppView>(`${acct}/access/apps`),
    createApp: (name: string, hostname: string) =>
      client.request<AppView>('POST', `${acct}/access/apps`, { body: { name, domain: hostname, type: 'self_hosted', session_duration: '24h', app_launcher_visible: false } }),
    allow: (appId: string, rule: AccessRule) =>
      client.request('POST', `${acct}/access/apps/${appId}/policies`, {
        body: { name: 'crabbox lease owner', decision: 'allow', precedence: 1, include: ['email' in rule ? { email: { email: rule.email } } : { email_domain: { domain: rule.emailDomain } }] },
      }),
    deleteApp: (id: string) => client.request('DELETE', `${acct}/access/apps/${id}`),
  };
}

/** Runs a delete; an object already gone counts as deleted. Returns whether it was there. */
async function gone(del: () => Promise<unknown>): Promise<boolean> {
  try {
    await del();
    return true;
  } catch (error) {
    if (isGone(error)) return false;
    throw error;
  }
}

/**
 * Makes one machine's tunnel: the tunnel (remote-managed, routing its host name to the box's sshd on localhost), its
 * DNS route, and the Access application whose one policy allows `rule`; returns them with the connector token. If any
 * step fails, whatever was made is deleted before the error is thrown.
 */
export async function createMachineTunnel(options: { client: CloudflareClient; settings: TunnelSettings; installation: string; machineId: string; rule: AccessRule; sshPort: number }): Promise<MachineTunnel> {
  const api = tunnelApi(options.client, options.settings);
  const label = tunnelLabel(options.installation, options.machineId);
  const hostname = tunnelHostname(options.settings, options.machineId);
  try {
    const tunnel = await createOrAdopt(() => api.createTunnel(label), () => api.findTunnel(label));
    await api.routeSsh(tunnel.id, hostname, options.sshPort);
    const token = await api.tunnelToken(tunnel.id);
    const dns = await createOrAdopt(() => api.createDns(hostname, tunnel.id, label), async () => {
      const found = await api.findDns(hostname);
      return found?.comment === label ? found : undefined;
    });
    const app = await createOrAdopt(() => api.createApp(label, hostname), () => api.findApp(label));
    await api.allow(app.id, options.rule);
    return { tunnelId: tunnel.id, hostname, dnsRecordId: dns.id, accessAppId: app.id, token };
  } catch (error) {
    await deleteMachineTunnel(options).catch(() => undefined);
    throw error;
  }
}

/**
 * Deletes one machine's tunnel, DNS record and Access application, found by their label (so it also finishes what a
 * crashed create or delete left). Anything already gone counts as done. Returns what was deleted.
 */
export async function deleteMachineTunnel(options: { client: CloudflareClient; settings: TunnelSettings; installation: string; machineId: string }): Promise<string[]> {
  const api = tunnelApi(options.client, options.settings);
  const label = tunnelLabel(options.installation, options.machineId);
  const hostname = tunnelHostname(options.settings, options.machineId);
  const deleted: string[] = [];
  const app = await api.findApp(label);
  if (app && (await gone(() => api.deleteApp(app.id)))) deleted.push(`access app ${label}`);
  const dns = await api.findDns(hostname);
  if (dns && dns.comment === label && (await gone(() => api.deleteDns(dns.id)))) deleted.push(`dns ${hostname}`);
  const tunnel = await api.findTunnel(label);
  if (tunnel && (await gone(() => api.deleteTunnel(tunnel.id)))) deleted.push(`tunnel ${label}`);
  return deleted;
}

export interface TunnelSweepResult {
  deleted: string[];
  /** Objects of ours left alone, with why (the machine is known, or too young to judge). */
  kept: string[];
}

/**
 * The orphan sweep for tunnel mode: deletes tunnels, DNS records and Access applications labelled as this
 * installation's whose machine is gone (the store knows it as deleted or failed, or does not know it and the object is
 * older than the safety window, as for machines: a create may still be under way). Objects without our label, or with
 * another installation's, are never touched.
 */
export async function sweepTunnelOrphans(options: {
  client: CloudflareClient;
  settings: TunnelSettings;
  installation: string;
  /** The store's state for a machine id; undefined when it does not know it. */
  machineState: (machineId: string) => MachineState | undefined;
  /** Called once with every machine id our objects name, before any is judged (an async store reads them here). */
  prefetch?: ((machineIds: string[]) => Promise<void>) | undefined;
  now: number;
  safetyWindowMs: number;
}): Promise<TunnelSweepResult> {
  const api = tunnelApi(options.client, options.settings);
  const prefix = `crabbox.${options.installation}.`;
  const result: TunnelSweepResult = { deleted: [], kept: [] };
  const orphan = (label: string | null, createdAt: string): boolean => {
    const parsed = parseTunnelLabel(label);
    if (!parsed || parsed.installation !== options.installation) return false;
    const state = options.machineState(parsed.machineId);
    if (state !== undefined) return !isMachineKnown(state);
    return options.now - Date.parse(createdAt) > options.safetyWindowMs;
  };
  const visit = async (what: string, label: string | null, createdAt: string, del: () => Promise<unknown>): Promise<void> => {
    if (!parseTunnelLabel(label) || parseTunnelLabel(label)!.installation !== options.installation) return;
    if (!orphan(label, createdAt)) {
      result.kept.push(`${what} ${label}`);
      return;
    }
    if (await gone(del)) result.deleted.push(`${what} ${label}`);
  };
  const [apps, records, tunnels] = [await api.listApps(), await api.listDns(prefix), await api.listTunnels(prefix)];
  const ids = [...apps.map((a) => a.name), ...records.map((r) => r.comment), ...tunnels.map((t) => t.name)].map((l) => parseTunnelLabel(l)).filter((p) => p?.installation === options.installation).map((p) => p!.machineId);
  await options.prefetch?.([...new Set(ids)]);
  // Access first, the route next, the tunnel last: nothing stays reachable while the rest goes.
  for (const app of apps) await visit('access app', app.name, app.created_at, () => api.deleteApp(app.id));
  for (const r of records) await visit('dns', r.comment, r.created_on, () => api.deleteDns(r.id));
  for (const t of tunnels) await visit('tunnel', t.name, t.created_at, () => api.deleteTunnel(t.id));
  return result;
}

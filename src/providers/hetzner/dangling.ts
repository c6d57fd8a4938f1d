import { LABEL, labelValue } from '../../domain/labels.ts';
import type { DanglingSweepReport } from '../provider.ts';
import type { HFirewall, HServer, HSshKey } from './api.ts';
import type { HetznerClient } from './client.ts';
import { deleteLeaseKey, isLeaseKeyName, sshKeyName } from './ssh-keys.ts';
import { deleteLeaseFirewall, firewallName } from './firewall.ts';

export type DanglingResult = DanglingSweepReport;

/**
 * Deletes per-lease SSH keys and firewalls whose server is gone (a delete that was interrupted between the server
 * and its key). Only objects named exactly `crabbox-<lease id>`, labelled with that lease and this installation,
 * and older than `minAgeMs` (a create in progress makes the key before the server) are touched.
 */
export async function sweepDanglingLeaseResources(client: HetznerClient, options: { now: number; installation: string; minAgeMs: number }): Promise<DanglingResult> {
  const installation = labelValue(options.installation);
  const servers = await client.listAll<HServer>('/servers', 'servers', { label_selector: `${LABEL.marker}=true` });
  const leasesWithServer = new Set(servers.map((s) => s.labels[LABEL.lease]).filter(Boolean));
  /** The lease id when the object may go, or the reason it stays (undefined: not ours at all, not reported). */
  const judge = (o: { name: string; labels: Record<string, string>; created: string }, nameOf: (id: string) => string): { leaseId: string; keep?: string } | undefined => {
    const leaseId = o.labels[LABEL.lease];
    if (!leaseId || !isLeaseKeyName(`crabbox-${leaseId}`) || o.name !== nameOf(leaseId)) return undefined;
    if (o.labels[LABEL.installation] !== installation) return { leaseId, keep: 'other installation' };
    if (!(options.now - Date.parse(o.created) >= options.minAgeMs)) return { leaseId, keep: 'too young (a create may be in progress)' };
    return leasesWithServer.has(leaseId) ? { leaseId, keep: 'its server exists' } : { leaseId };
  };
  const result: DanglingResult = { deleted: [], skipped: [] };
  const visit = async (kind: 'ssh_key' | 'firewall', o: { name: string; labels: Record<string, string>; created: string }, nameOf: (id: string) => string, drop: (leaseId: string) => Promise<string>): Promise<void> => {
    const verdict = judge(o, nameOf);
    if (!verdict) return;
    if (verdict.keep) {
      result.skipped.push({ kind, name: o.name, leaseId: verdict.leaseId, reason: verdict.keep });
      return;
    }
    const outcome = await drop(verdict.leaseId);
    result.deleted.push({ kind, name: o.name, leaseId: verdict.leaseId, reason: outcome === 'deleted' ? 'server gone' : 'server gone (object already gone)' });
  };
  for (const key of await client.listAll<HSshKey>('/ssh_keys', 'ssh_keys', { label_selector: `${LABEL.marker}=true` })) {
    await visit('ssh_key', key, sshKeyName, (id) => deleteLeaseKey(client, id));
  }
  for (const fw of await client.listAll<HFirewall>('/firewalls', 'firewalls', { label_selector: `${LABEL.marker}=true` })) {
    await visit('firewall', fw, firewallName, (id) => deleteLeaseFirewall(client, id));
  }
  return result;
}

import { LABEL, labelValue } from '../../domain/labels.ts';
import type { HFirewall, HServer, HSshKey } from './api.ts';
import type { HetznerClient, Sleep } from './client.ts';
import { deleteLeaseKey, isLeaseKeyName, sshKeyName } from './ssh-keys.ts';
import { deleteLeaseFirewall, firewallName } from './firewall.ts';

export interface DanglingResult {
  deleted: { kind: 'ssh_key' | 'firewall'; name: string; leaseId: string }[];
}

/**
 * Deletes per-lease SSH keys and firewalls whose server is gone (a delete that was interrupted between the server
 * and its key). Only objects named exactly `crabbox-<lease id>`, labelled with that lease and this installation,
 * and older than `minAgeMs` (a create in progress makes the key before the server) are touched.
 */
export async function sweepDanglingLeaseResources(client: HetznerClient, options: { now: number; installation: string; minAgeMs: number; sleep: Sleep }): Promise<DanglingResult> {
  const installation = labelValue(options.installation);
  const servers = await client.listAll<HServer>('/servers', 'servers', { label_selector: `${LABEL.marker}=true` });
  const leasesWithServer = new Set(servers.map((s) => s.labels[LABEL.lease]).filter(Boolean));
  const eligible = (o: { name: string; labels: Record<string, string>; created: string }, nameOf: (id: string) => string): string | undefined => {
    const leaseId = o.labels[LABEL.lease];
    if (!leaseId || !isLeaseKeyName(`crabbox-${leaseId}`) || o.name !== nameOf(leaseId)) return undefined;
    if (o.labels[LABEL.installation] !== installation) return undefined;
    if (!(options.now - Date.parse(o.created) >= options.minAgeMs)) return undefined;
    return leasesWithServer.has(leaseId) ? undefined : leaseId;
  };
  const result: DanglingResult = { deleted: [] };
  for (const key of await client.listAll<HSshKey>('/ssh_keys', 'ssh_keys', { label_selector: `${LABEL.marker}=true` })) {
    const leaseId = eligible(key, sshKeyName);
    if (leaseId && (await deleteLeaseKey(client, leaseId)) === 'deleted') result.deleted.push({ kind: 'ssh_key', name: key.name, leaseId });
  }
  for (const fw of await client.listAll<HFirewall>('/firewalls', 'firewalls', { label_selector: `${LABEL.marker}=true` })) {
    const leaseId = eligible(fw, firewallName);
    if (leaseId && (await deleteLeaseFirewall(client, leaseId, options.sleep)) === 'deleted') result.deleted.push({ kind: 'firewall', name: fw.name, leaseId });
  }
  return result;
}

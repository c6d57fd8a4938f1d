import type { MachineSpec, ProviderCapabilities } from './provider.ts';
import { leaseUser } from '../machine-access/access.ts';

/** The check the runner bootstrap installs on every cloud box (src/bootstrap/files/scripts/crabbox-ready.sh). */
export const READY_COMMAND = 'crabbox-ready';

/**
 * What every bootstrapped cloud provider offers: labels, an injected host key, billing, per-lease objects, a ready
 * check, the coordinator's user CA, and tunnel mode (a box with a Cloudflare Tunnel connector and no inbound SSH rule).
 */
export const CLOUD_CAPABILITIES: ProviderCapabilities = Object.freeze({
  labels: true,
  injectsHostKey: true,
  billable: true,
  local: false,
  danglingObjects: true,
  readyCommand: READY_COMMAND,
  // A single-lease box's bootstrap trusts the coordinator's user CA (src/bootstrap/user-data.ts: cloudUserCa).
  userCa: true,
  tunnel: true,
  // A single-lease box's bootstrap can grant its lease user sudo (pool-box.sh grant ... sudo; decision 0060).
  leaseSudo: true,
});

/**
 * The user CA a cloud box's bootstrap installs (docs/ssh-ca.md): a single-lease box's with the lease's principal for
 * its login user; a warm pool machine's without one (each grant of pool-box.sh names its lease user's principal).
 */
export function cloudUserCa(spec: Pick<MachineSpec, 'shared' | 'userCa'>): { publicKeys: string[]; principal?: string | undefined } | undefined {
  if (!spec.userCa) return undefined;
  if (spec.shared) return { publicKeys: spec.userCa.publicKeys };
  return spec.userCa.principal ? { publicKeys: spec.userCa.publicKeys, principal: spec.userCa.principal } : undefined;
}

/** Whether the box trusts the CA for its login user alone (a single-lease box): then it needs no key at all. */
export const certificatesOnly = (spec: Pick<MachineSpec, 'shared' | 'userCa'>): boolean => !spec.shared && cloudUserCa(spec) !== undefined;

/** A cloud box's admin user and its work root: Crabbox's own management (sudo), and a warm pool machine's login. */
export const CLOUD_ADMIN = Object.freeze({ user: 'crabbox', workRoot: '/work/crabbox' });

/**
 * Who a lease logs in as on a cloud box (docs/bootstrap.md). A single-lease (cold) box gets the lease's own user
 * `cbx-<lease hex>`, made by the bootstrap, with its workdir under /var/lib/crabbox/leases (as a warm pool grant
 * makes it); a warm pool machine answers with its admin user here (each claim's grant names the lease user).
 */
export function cloudLogin(spec: Pick<MachineSpec, 'shared' | 'leaseId'>): { sshUser: string; workRoot: string; adminUser?: string } {
  const user = cloudLeaseUser(spec);
  if (user === undefined) return { sshUser: CLOUD_ADMIN.user, workRoot: CLOUD_ADMIN.workRoot };
  return { sshUser: user, workRoot: `/var/lib/crabbox/leases/${user}/work`, adminUser: CLOUD_ADMIN.user };
}

/** The lease user the bootstrap makes on a single-lease cloud box; none on a warm pool machine. */
export function cloudLeaseUser(spec: Pick<MachineSpec, 'shared' | 'leaseId'>): string | undefined {
  return spec.shared ? undefined : leaseUser(spec.leaseId);
}

/** Whether a single-lease box's lease user may sudo (the coordinator granted it; a pool machine gets it per claim). */
export function cloudLeaseSudo(spec: Pick<MachineSpec, 'shared' | 'leaseSudo'>): boolean {
  return !spec.shared && spec.leaseSudo === true;
}

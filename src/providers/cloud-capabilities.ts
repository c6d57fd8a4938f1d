import type { MachineSpec, ProviderCapabilities } from './provider.ts';

/** The check the runner bootstrap installs on every cloud box (src/bootstrap/files/scripts/crabbox-ready.sh). */
export const READY_COMMAND = 'crabbox-ready';

/** What every bootstrapped cloud provider offers: labels, an injected host key, billing, per-lease objects, a ready check, the user CA. */
export const CLOUD_CAPABILITIES: ProviderCapabilities = Object.freeze({
  labels: true,
  injectsHostKey: true,
  billable: true,
  local: false,
  danglingObjects: true,
  readyCommand: READY_COMMAND,
  // A single-lease box's bootstrap trusts the coordinator's user CA (src/bootstrap/user-data.ts: cloudUserCa).
  userCa: true,
});

/**
 * The user CA a cloud box's bootstrap installs (docs/ssh-ca.md): a single-lease box's, from the spec, with the lease's
 * principal. A warm pool machine keeps per-lease keys for now (its grants go through pool-box.sh), so it gets none.
 */
export function cloudUserCa(spec: Pick<MachineSpec, 'shared' | 'userCa'>): { publicKeys: string[]; principal: string } | undefined {
  if (spec.shared || !spec.userCa?.principal) return undefined;
  return { publicKeys: spec.userCa.publicKeys, principal: spec.userCa.principal };
}

import type { Provider } from '../providers/provider.ts';
import type { DeleteResult } from '../providers/provider.ts';
import { closeMaster, leaseKeyDir, leaseTarget, removeLeaseKeys } from '../ssh/index.ts';
import type { DirectLease } from './record.ts';
import { writeTombstone } from './tombstone.ts';

/**
 * Everything a lease owns on this side and the provider's: ControlMaster, machine, key directory. Safe to repeat.
 * Leaves a tombstone saying how it ended (tombstone.ts), so later commands can say "expired at T".
 */
export async function discardLease(deps: { provider: Provider; stateDir: string; now: number }, lease: DirectLease): Promise<DeleteResult> {
  const keyDir = leaseKeyDir(deps.stateDir, lease.id);
  const machine = lease.machine;
  if (machine?.host && machine.ports.length > 0) {
    await closeMaster(leaseTarget({ keyDir, leaseId: lease.id, host: machine.host, ports: machine.ports, user: machine.sshUser, connectTimeoutSeconds: 5 }));
  }
  const result = await deps.provider.delete(machine?.providerId ?? lease.id);
  await writeTombstone(deps.stateDir, lease, deps.now);
  await removeLeaseKeys(keyDir);
  return result;
}

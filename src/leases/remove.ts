import type { Provider } from '../providers/provider.ts';
import type { DeleteResult } from '../providers/provider.ts';
import { closeMaster, leaseKeyDir, leaseTarget, removeLeaseKeys } from '../ssh/index.ts';
import type { DirectLease } from './record.ts';

/** Everything a lease owns on this side and the provider's: ControlMaster, machine, key directory. Safe to repeat. */
export async function discardLease(deps: { provider: Provider; stateDir: string }, lease: DirectLease): Promise<DeleteResult> {
  const keyDir = leaseKeyDir(deps.stateDir, lease.id);
  const machine = lease.machine;
  if (machine?.host && machine.ports.length > 0) {
    await closeMaster(leaseTarget({ keyDir, leaseId: lease.id, host: machine.host, ports: machine.ports, user: machine.sshUser, connectTimeoutSeconds: 5 }));
  }
  const result = await deps.provider.delete(machine?.providerId ?? lease.id);
  await removeLeaseKeys(keyDir);
  return result;
}

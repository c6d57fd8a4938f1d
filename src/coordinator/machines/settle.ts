import { afterLeaseEnds } from '../../domain/machine.ts';
import type { EventStore, LeaseRecord, MachineRecord, MachineStore } from '../../storage/store.ts';
import { audit } from '../audit.ts';

/**
 * Inside the transaction that ended `lease`: moves the machine it was on as src/domain/machine.ts says (a per-lease
 * machine the provider knows goes to `deleting`; one whose create never reported an id is `failed` once the create is
 * over). `claimUntil` makes the caller the deleter (it deletes right after the commit). Returns the machine as it is now.
 */
export async function settleMachineOf(
  tx: MachineStore & EventStore,
  lease: LeaseRecord,
  options: { now: number; actor: string; reason: string; createRunning: boolean; claimUntil?: number | undefined },
): Promise<MachineRecord | undefined> {
  if (!lease.machineId) return undefined;
  const machine = await tx.getMachine(lease.machineId);
  if (!machine || machine.leaseId !== lease.id) return machine;
  const move = afterLeaseEnds(machine, { createRunning: options.createRunning });
  if (!move.to) return machine;
  const moved = await tx.transitionMachine(machine.id, [machine.state], move.to, {
    now: options.now, reason: options.reason, ...(move.to === 'deleting' && options.claimUntil !== undefined ? { deleteAt: options.claimUntil } : {}),
  });
  if (moved?.state === 'failed') await audit(tx, { type: 'machine.failed', at: options.now, actor: options.actor, lease, machine: moved, data: { reason: options.reason } });
  return moved ?? (await tx.getMachine(machine.id));
}

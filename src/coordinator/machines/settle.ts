import { afterLeaseEnds } from '../../domain/machine.ts';
import type { EventStore, LeaseRecord, MachineRecord, MachineStore } from '../../storage/store.ts';
import { audit } from '../audit.ts';
import type { PoolConfig } from '../pool/config.ts';
import { reuseVerdict } from '../pool/reuse.ts';

/**
 * Inside the transaction that ended `lease`: moves the machine it was on as src/domain/machine.ts says (a per-lease
 * machine the provider knows goes to `deleting`; one whose create never reported an id is `failed` once the create is
 * over; a warm pool machine the pool may reuse goes to `scrubbing`). `claimUntil` makes the caller the deleter (it
 * deletes right after the commit). Without `pools` a pool machine is deleted too (admin delete). Returns the machine
 * as it is now.
 */
export async function settleMachineOf(
  tx: MachineStore & EventStore,
  lease: LeaseRecord,
  options: { now: number; actor: string; reason: string; createRunning: boolean; claimUntil?: number | undefined; pools?: readonly PoolConfig[] | undefined },
): Promise<MachineRecord | undefined> {
  if (!lease.machineId) return undefined;
  const machine = await tx.getMachine(lease.machineId);
  if (!machine || machine.leaseId !== lease.id) return machine;
  const verdict = machine.pool ? reuseVerdict({ machine, lease, pools: options.pools ?? [], now: options.now }) : undefined;
  const move = afterLeaseEnds(machine, { createRunning: options.createRunning, reuse: verdict?.reuse === true });
  if (!move.to) return machine;
  const reason = verdict && !verdict.reuse && move.to === 'deleting' && options.pools ? `${options.reason}:${verdict.reason}` : options.reason;
  const moved = await tx.transitionMachine(machine.id, [machine.state], move.to, {
    now: options.now, reason, ...(move.to === 'deleting' && options.claimUntil !== undefined ? { deleteAt: options.claimUntil } : {}),
  });
  if (moved?.state === 'failed') await audit(tx, { type: 'machine.failed', at: options.now, actor: options.actor, lease, machine: moved, data: { reason: options.reason } });
  return moved ?? (await tx.getMachine(machine.id));
}

import { CrabboxError } from '../../domain/errors.ts';
import { drainMove, undrainMove } from '../../domain/machine.ts';
import type { MachineRecord } from '../../storage/store.ts';
import { audit } from '../audit.ts';
import type { CoordinatorDeps } from '../deps.ts';
import { CLAIM_MS, deleteMachine } from './delete.ts';

export interface DrainResult {
  machine: MachineRecord;
  /** False when the machine was already draining, being deleted or gone (drain is idempotent). */
  changed: boolean;
}

const notFound = (id: string) => new CrabboxError('not_found', `no machine ${id}`, { hint: 'run `crabbox admin machines` to see the machines' });

/**
 * Admin: no new assignment for this machine, deleted once free (src/domain/machine.ts drainMove). A machine serving a
 * lease is marked `draining` and deleted when the lease ends; a free one is deleted now. The move and its
 * `machine.drained` event are one commit.
 */
export async function drainMachine(deps: CoordinatorDeps, id: string, actor: string): Promise<DrainResult> {
  const { store, clock } = deps;
  const now = clock.now();
  const claimUntil = now + CLAIM_MS;
  const result = await store.withTransaction(async (tx): Promise<DrainResult> => {
    const machine = await tx.getMachine(id);
    if (!machine) throw notFound(id);
    const move = drainMove(machine);
    if (!move.to) return { machine, changed: false };
    const moved = await tx.transitionMachine(id, [machine.state], move.to, { now, reason: 'drained', ...(move.to === 'deleting' ? { deleteAt: claimUntil } : {}) });
    if (!moved) return { machine: (await tx.getMachine(id)) ?? machine, changed: false };
    const lease = moved.leaseId ? await tx.getLease(moved.leaseId) : undefined;
    await audit(tx, { type: 'machine.drained', at: now, actor, lease, machine: moved, data: { from: machine.state, to: moved.state } });
    return { machine: moved, changed: true };
  });
  if (result.changed && result.machine.state === 'deleting') await deleteMachine(deps, result.machine, actor, { claimedUntil: claimUntil });
  return { ...result, machine: (await store.getMachine(id)) ?? result.machine };
}

/**
 * Admin: takes a draining machine back to what it was doing; one that is not draining is left as it is. A machine
 * already being deleted (or gone) cannot come back (409).
 */
export async function undrainMachine(deps: CoordinatorDeps, id: string, actor: string): Promise<DrainResult> {
  const { store, clock } = deps;
  const now = clock.now();
  return store.withTransaction(async (tx): Promise<DrainResult> => {
    const machine = await tx.getMachine(id);
    if (!machine) throw notFound(id);
    const move = undrainMove(machine);
    if (!move.to) {
      if (machine.state === 'deleting' || machine.state === 'deleted' || machine.state === 'failed') {
        throw new CrabboxError('conflict', `machine ${id} is ${machine.state}; it cannot be undrained`, { hint: 'a machine being deleted stays deleted; new leases get new machines' });
      }
      return { machine, changed: false };
    }
    const moved = await tx.transitionMachine(id, ['draining'], move.to, { now, reason: 'undrained' });
    if (!moved) return { machine: (await tx.getMachine(id)) ?? machine, changed: false };
    const lease = moved.leaseId ? await tx.getLease(moved.leaseId) : undefined;
    await audit(tx, { type: 'machine.undrained', at: now, actor, lease, machine: moved, data: { to: moved.state } });
    return { machine: moved, changed: true };
  });
}

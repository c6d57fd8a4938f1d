import { redact } from '../../redact/redact.ts';
import { leaseUser, type ScrubReport } from '../../machine-access/access.ts';
import type { LeaseRecord, MachineRecord } from '../../storage/store.ts';
import { audit } from '../audit.ts';
import type { CoordinatorDeps } from '../deps.ts';
import { CLAIM_MS, deleteMachine } from '../machines/delete.ts';
import { reuseVerdict } from './reuse.ts';

/** How long a scrub may take on the box before it counts as failed (the machine is then deleted). */
export const SCRUB_TIMEOUT_MS = 3 * 60_000;
/** A machine still `scrubbing` this long after it got there was left by a crash mid-scrub: the sweep deletes it. */
export const SCRUB_STALE_MS = 10 * 60_000;

/**
 * Scrubs a pool machine after its lease: the lease's user, processes, key, home, workdir, crontab, at jobs and temp
 * files go, and the machine is checked. Clean, and the pool may still reuse it (src/coordinator/pool/reuse.ts: not
 * past its limits, the lease forwarded no env values): back to `idle`. Anything left, a scrub that failed, or a pool
 * that will not reuse it: deleted. A machine drained meanwhile is deleted too. Idempotent; safe to repeat after a crash.
 */
export async function scrubMachine(deps: CoordinatorDeps, machine: MachineRecord, lease: LeaseRecord, actor: string): Promise<MachineRecord | undefined> {
  const { store, clock } = deps;
  const access = deps.access?.[machine.provider];
  let report: ScrubReport;
  if (!access) report = { clean: false, left: [`no machine access for provider ${machine.provider}`] };
  else {
    const signal = AbortSignal.timeout(SCRUB_TIMEOUT_MS);
    try {
      report = await access.scrub(machine, leaseUser(lease.id), { signal });
    } catch (error) {
      report = { clean: false, left: [`the scrub failed: ${redact(error instanceof Error ? error.message : String(error)).slice(0, 200)}`] };
    }
  }
  const now = clock.now();
  const claimUntil = now + CLAIM_MS;
  const current = (await store.getLease(lease.id)) ?? lease;
  const fresh = (await store.getMachine(machine.id)) ?? machine;
  const verdict = reuseVerdict({ machine: fresh, lease: current, pools: deps.config.pools, now });
  const reuse = report.clean && verdict.reuse;
  const reason = reuse ? 'scrubbed' : !report.clean ? 'scrub-failed' : `scrubbed:${verdict.reuse ? 'reuse' : verdict.reason}`;
  const moved = await store.withTransaction(async (tx) => {
    let after = await tx.transitionMachine(machine.id, ['scrubbing'], reuse ? 'idle' : 'deleting', { now, reason, ...(reuse ? { leaseId: null } : { deleteAt: claimUntil }) });
    // Drained while it was being scrubbed: deleted once free, as the drain promised.
    if (!after) after = await tx.transitionMachine(machine.id, ['draining'], 'deleting', { now, reason: 'drained', deleteAt: claimUntil });
    if (!after) return undefined;
    await audit(tx, {
      type: 'machine.scrubbed', at: now, actor, lease: current, machine: { ...after, leaseId: lease.id },
      data: { pool: after.pool, clean: report.clean, to: after.state, reason: after.stateReason, ...(report.left.length ? { left: report.left.slice(0, 10) } : {}) },
    });
    return after;
  });
  if (moved?.state === 'deleting') await deleteMachine(deps, moved, actor, { claimedUntil: claimUntil, lease: current });
  if (!report.clean) deps.logger?.warn('pool machine scrub left something behind; the machine is deleted', { machineId: machine.id, leaseId: lease.id, left: report.left.slice(0, 3) });
  return moved;
}

/** Ends the lease's access on its machine at once (key gone, processes killed); a failure is logged, the scrub follows. */
export async function revokeAccess(deps: CoordinatorDeps, machine: MachineRecord, lease: LeaseRecord): Promise<void> {
  const access = deps.access?.[machine.provider];
  if (!access) return;
  try {
    await access.revoke(machine, leaseUser(lease.id), { signal: AbortSignal.timeout(60_000) });
  } catch (error) {
    deps.logger?.warn('revoking a pool lease failed; the scrub follows', { machineId: machine.id, leaseId: lease.id, error: redact(String(error)).slice(0, 200) });
  }
}

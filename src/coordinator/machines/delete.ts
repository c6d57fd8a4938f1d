import { scrub } from '../redaction.ts';
import type { DeletionOutcome, LeaseRecord, MachineRecord } from '../../storage/store.ts';
import { audit, type AuditInput } from '../audit.ts';
import type { CoordinatorDeps } from '../deps.ts';
import { closeTunnel } from '../tunnel.ts';

/** How long one worker holds a deletion claim before another may retry it (a crash mid-delete is retried after this). */
export const CLAIM_MS = 5 * 60_000;
const BASE_BACKOFF_MS = 30_000;
const MAX_BACKOFF_MS = 60 * 60_000;

/** Retry delay after the n-th failed delete: 30s, 60s, 120s, ... capped at an hour. */
export function backoffMs(attempts: number): number {
  return Math.min(BASE_BACKOFF_MS * 2 ** Math.max(0, attempts - 1), MAX_BACKOFF_MS);
}

export type DeleteResult = 'deleted' | 'already-gone' | 'failed' | 'not-claimed';

export interface DeleteOptions {
  /** The caller moved the machine to `deleting` holding the claim until then (in the same write): no second claim. */
  claimedUntil?: number | undefined;
  /** The lease the machine served, for the event's owner (read from the store when not given). */
  lease?: Pick<LeaseRecord, 'id' | 'owner' | 'org' | 'providerId'> | undefined;
}

/**
 * Deletes a machine in `deleting` (and, through the provider, its per-lease key and firewall) exactly once: the store
 * claim makes concurrent callers (releases, sweeper, replicas) race for it, and only the winner calls the provider.
 * "Already gone" counts as deleted; a failure is recorded with a backoff and retried by the sweeper. The attempt and its
 * event are one write.
 */
export async function deleteMachine(deps: CoordinatorDeps, machine: MachineRecord, actor: string, options: DeleteOptions = {}): Promise<DeleteResult> {
  const { store, clock } = deps;
  const now = clock.now();
  if (machine.state !== 'deleting' || !machine.providerId) return 'not-claimed';
  const claimed = options.claimedUntil !== undefined && machine.deletion.nextAt === options.claimedUntil;
  if (!claimed && !(await store.claimDeletion(machine.id, now, now + CLAIM_MS))) return 'not-claimed';
  const lease = options.lease ?? (machine.leaseId ? await store.getLease(machine.leaseId) : undefined);
  const provider = deps.providers[machine.provider];
  const record = (outcome: DeletionOutcome, at: number, input: Omit<AuditInput, 'lease' | 'machine' | 'actor' | 'at'>): Promise<void> =>
    store.withTransaction(async (tx) => {
      await tx.recordDeletionAttempt(machine.id, outcome);
      await audit(tx, { ...input, at, actor, lease, machine });
    });
  try {
    if (!provider) throw new Error(`provider ${machine.provider} is not configured on this coordinator`);
    const result = await provider.delete(machine.providerId);
    // Tunnel mode: the tunnel, its DNS route and Access app go with the machine (a failure retries the whole delete).
    await closeTunnel(deps, machine);
    const at = clock.now();
    await record({ ok: true, at }, at, { type: 'machine.deleted', data: { result, reason: machine.stateReason, attempts: machine.deletion.attempts + 1 } });
    return result;
  } catch (error) {
    const message = scrub(deps.config, error instanceof Error ? error.message : String(error)).slice(0, 300);
    const attempts = machine.deletion.attempts + 1;
    const at = clock.now();
    const nextAt = at + backoffMs(attempts);
    await record({ ok: false, error: message, nextAt }, at, { type: 'provider.error', data: { op: 'delete', error: message, attempts, retryAt: new Date(nextAt).toISOString() } });
    deps.logger?.warn('machine delete failed; will retry', { machineId: machine.id, leaseId: machine.leaseId, attempts, error: message });
    return 'failed';
  }
}

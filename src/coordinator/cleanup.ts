import { redact } from '../redact/redact.ts';
import type { CleanupOutcome, LeaseRecord } from '../storage/store.ts';
import { audit, type AuditInput } from './audit.ts';
import type { CoordinatorDeps } from './deps.ts';

/** How long one worker holds a cleanup claim before another may retry it (a crash mid-delete is retried after this). */
export const CLAIM_MS = 5 * 60_000;
const BASE_BACKOFF_MS = 30_000;
const MAX_BACKOFF_MS = 60 * 60_000;

/** Retry delay after the n-th failed delete: 30s, 60s, 120s, ... capped at an hour. */
export function backoffMs(attempts: number): number {
  return Math.min(BASE_BACKOFF_MS * 2 ** Math.max(0, attempts - 1), MAX_BACKOFF_MS);
}

export type CleanupResult = 'deleted' | 'already-gone' | 'failed' | 'not-claimed';

/**
 * Deletes a queued lease's machine (and, through the provider, its per-lease key) exactly once: the store claim
 * makes concurrent callers (releases, sweeper, replicas) race for it, and only the winner calls the provider.
 * "Already gone" counts as deleted; a failure is recorded with a backoff and retried by the sweeper. A caller that
 * took the claim in the same write that queued the cleanup (a release) passes `claimedUntil`; the attempt and its
 * audit event are one write. `onRecorded` gets the lease as that write left it.
 */
export async function cleanupMachine(
  deps: CoordinatorDeps,
  lease: LeaseRecord,
  actor: string,
  options: { claimedUntil?: number | undefined; onRecorded?: ((lease: LeaseRecord) => void) | undefined } = {},
): Promise<CleanupResult> {
  const { store, clock } = deps;
  const now = clock.now();
  if (!lease.providerId) return 'not-claimed';
  const claimed = options.claimedUntil !== undefined && lease.cleanup.state === 'pending' && lease.cleanup.nextAt === options.claimedUntil;
  if (!claimed && !(await store.claimCleanup(lease.id, now, now + CLAIM_MS))) return 'not-claimed';
  const provider = deps.providers[lease.provider];
  const record = async (outcome: CleanupOutcome, at: number, input: Omit<AuditInput, 'lease' | 'actor' | 'at'>): Promise<void> => {
    const after = await store.withTransaction(async (tx) => {
      const updated = await tx.recordCleanupAttempt(lease.id, outcome);
      await audit(tx, { ...input, at, actor, lease });
      return updated;
    });
    if (after) options.onRecorded?.(after);
  };
  try {
    if (!provider) throw new Error(`provider ${lease.provider} is not configured on this coordinator`);
    const result = await provider.delete(lease.providerId);
    const at = clock.now();
    await record({ ok: true, at }, at, { type: 'machine.deleted', data: { result, attempts: lease.cleanup.attempts + 1 } });
    return result;
  } catch (error) {
    const message = redact(error instanceof Error ? error.message : String(error)).slice(0, 300);
    const attempts = lease.cleanup.attempts + 1;
    const at = clock.now();
    const nextAt = at + backoffMs(attempts);
    await record({ ok: false, error: message, nextAt }, at, { type: 'provider.error', data: { op: 'delete', error: message, attempts, retryAt: new Date(nextAt).toISOString() } });
    deps.logger?.warn('machine delete failed; will retry', { leaseId: lease.id, attempts, error: message });
    return 'failed';
  }
}

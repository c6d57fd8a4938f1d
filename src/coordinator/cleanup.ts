import { redact } from '../redact/redact.ts';
import type { LeaseRecord } from '../storage/store.ts';
import { audit } from './audit.ts';
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
 * "Already gone" counts as deleted; a failure is recorded with a backoff and retried by the sweeper.
 */
export async function cleanupMachine(deps: CoordinatorDeps, lease: LeaseRecord, actor: string): Promise<CleanupResult> {
  const { store, clock } = deps;
  const now = clock.now();
  if (!lease.providerId || !(await store.claimCleanup(lease.id, now, now + CLAIM_MS))) return 'not-claimed';
  const provider = deps.providers[lease.provider];
  try {
    if (!provider) throw new Error(`provider ${lease.provider} is not configured on this coordinator`);
    const result = await provider.delete(lease.providerId);
    const at = clock.now();
    await store.recordCleanupAttempt(lease.id, { ok: true, at });
    await audit(store, { type: 'machine.deleted', at, actor, lease, data: { result, attempts: lease.cleanup.attempts + 1 } });
    return result;
  } catch (error) {
    const message = redact(error instanceof Error ? error.message : String(error)).slice(0, 300);
    const at = clock.now();
    const attempts = lease.cleanup.attempts + 1;
    const nextAt = at + backoffMs(attempts);
    await store.recordCleanupAttempt(lease.id, { ok: false, error: message, nextAt });
    await audit(store, { type: 'provider.error', at, actor, lease, data: { op: 'delete', error: message, attempts, retryAt: new Date(nextAt).toISOString() } });
    deps.logger?.warn('machine delete failed; will retry', { leaseId: lease.id, attempts, error: message });
    return 'failed';
  }
}

import type { CoordinatorDeps } from './deps.ts';
import { sweep, type SweepStats } from './sweeper.ts';

/** Never wake sooner than this after a pass (a due time already past wakes at once, then this). */
export const MIN_DELAY_MS = 1_000;
export const PRUNE_EVERY_MS = 60 * 60_000;

/** When the slower passes last ran; kept in the store (meta) on Workers, where the object may be evicted between alarms. */
export interface PassTimes {
  orphans: number;
  prune: number;
}

/**
 * When the next sweep is due: the earliest lease expiry or delete retry in the store, at most the sweep interval away
 * (orphan sweeps and pruning ride on it), never sooner than MIN_DELAY_MS. The table is the truth; the timer or alarm only
 * wakes. A store that does not answer leaves the normal interval.
 */
export async function nextWakeAt(deps: CoordinatorDeps): Promise<number> {
  const now = deps.clock.now();
  let at = now + deps.config.sweepIntervalSeconds * 1000;
  try {
    const due = await deps.store.nextDueAt();
    if (due !== undefined) at = Math.min(at, due);
  } catch {
    // The store is down; try again at the normal interval.
  }
  return Math.max(now + MIN_DELAY_MS, at);
}

/**
 * One scheduled pass, the same on Node (scheduler.ts, a timer) and Workers (the Durable Object alarm): the sweep, with
 * the orphan sweep and pruning when their intervals have passed. Errors are logged, never thrown: a machine whose delete
 * fails is already bookkept by the sweep (backoff, retry), and anything else waits for the next pass, so a bad item
 * cannot make the platform retry the alarm into the ground.
 */
export async function scheduledPass(deps: CoordinatorDeps, last: PassTimes): Promise<{ stats: SweepStats | undefined; last: PassTimes }> {
  const { clock, config, logger } = deps;
  const now = clock.now();
  const orphans = now - last.orphans >= config.orphanSweepIntervalSeconds * 1000;
  const prune = now - last.prune >= PRUNE_EVERY_MS;
  try {
    const stats = await sweep(deps, { orphans, prune });
    if (stats.expired || stats.deleted || stats.deleteFailures || stats.orphansDeleted) logger?.info('sweep', { ...stats });
    return { stats, last: { orphans: orphans ? now : last.orphans, prune: prune ? now : last.prune } };
  } catch (error) {
    logger?.error('sweep failed', { error: String(error instanceof Error ? error.message : error).slice(0, 300) });
    return { stats: undefined, last };
  }
}

import type { TimerHandle } from '../domain/clock.ts';
import type { CoordinatorDeps } from './deps.ts';
import { sweep, type SweepStats } from './sweeper.ts';
import { reconcilePool, type PoolStats } from './pool/reconcile.ts';

export interface SweepScheduler {
  /** Runs a sweep now (and reschedules); resolves with its stats. */
  runNow(): Promise<SweepStats | undefined>;
  /** Runs a warm pool pass now unless one is running (then: that one); resolves with its stats. */
  poolNow(): Promise<PoolStats | undefined>;
  stop(): Promise<void>;
}

const MIN_DELAY_MS = 1_000;
const PRUNE_EVERY_MS = 60 * 60_000;

/**
 * Sweeps on a timer and at the next known deadline (a lease expiry or a cleanup retry), whichever is sooner.
 * Orphan sweeps and pruning run on their own slower cadence. Timers are unref'd; stop() waits for a running sweep.
 */
export function startSweepScheduler(deps: CoordinatorDeps): SweepScheduler {
  const { clock, config, store, logger } = deps;
  let timer: TimerHandle | undefined;
  let running: Promise<SweepStats | undefined> | undefined;
  let stopped = false;
  let lastOrphans = 0;
  let lastPrune = 0;
  let pooling: Promise<PoolStats | undefined> | undefined;
  const stopPool = new AbortController();

  // The warm pool pass rides on the sweeps (and on claims, through deps.pokePool): never a timer of its own, never two
  // at once in this process, and never holding up a sweep (a cloud refill takes as long as a box takes to boot).
  const poolNow = (): Promise<PoolStats | undefined> => {
    if (stopped || config.pools.length === 0) return Promise.resolve(undefined);
    pooling ??= reconcilePool(deps, { signal: stopPool.signal })
      .then((stats) => {
        const busy = Object.values(stats.pools).some((p) => p.created || p.deleted || p.failed || p.error);
        if (busy) logger?.info('pool', { ...stats.pools });
        return stats;
      })
      .catch((error: unknown) => {
        logger?.error('pool pass failed', { error: String(error instanceof Error ? error.message : error).slice(0, 300) });
        return undefined;
      })
      .finally(() => {
        pooling = undefined;
      });
    return pooling;
  };
  deps.pokePool ??= () => void poolNow();

  const schedule = async (): Promise<void> => {
    if (stopped) return;
    let delay = config.sweepIntervalSeconds * 1000;
    try {
      const due = await store.nextDueAt();
      if (due !== undefined) delay = Math.min(delay, due - clock.now());
    } catch {
      // The store is down; try again at the normal interval.
    }
    if (stopped) return;
    timer?.cancel();
    timer = clock.setTimeout(() => void runNow(), Math.max(MIN_DELAY_MS, delay), { unref: true });
  };

  const runNow = (): Promise<SweepStats | undefined> => {
    if (running) return running;
    running = (async () => {
      const now = clock.now();
      const orphans = now - lastOrphans >= config.orphanSweepIntervalSeconds * 1000;
      const prune = now - lastPrune >= PRUNE_EVERY_MS;
      try {
        const stats = await sweep(deps, { orphans, prune });
        if (orphans) lastOrphans = now;
        if (prune) lastPrune = now;
        if (stats.expired || stats.deleted || stats.deleteFailures || stats.orphansDeleted) logger?.info('sweep', { ...stats });
        void poolNow();
        return stats;
      } catch (error) {
        logger?.error('sweep failed', { error: String(error instanceof Error ? error.message : error).slice(0, 300) });
        return undefined;
      } finally {
        running = undefined;
        await schedule();
      }
    })();
    return running;
  };

  void runNow();
  return {
    runNow,
    poolNow,
    async stop() {
      stopped = true;
      timer?.cancel();
      stopPool.abort();
      await running;
      await pooling;
    },
  };
}

import type { TimerHandle } from '../domain/clock.ts';
import type { CoordinatorDeps } from './deps.ts';
import { nextWakeAt, scheduledPass, type PassTimes } from './alarm.ts';
import type { SweepStats } from './sweeper.ts';
import { reconcilePool, type PoolStats } from './pool/reconcile.ts';

export interface SweepScheduler {
  /** Runs a sweep now (and reschedules); resolves with its stats. */
  runNow(): Promise<SweepStats | undefined>;
  /** Runs a warm pool pass now unless one is running (then: that one); resolves with its stats. */
  poolNow(): Promise<PoolStats | undefined>;
  stop(): Promise<void>;
}

/**
 * The Node entry's timer over the scheduled pass of alarm.ts (the Worker's Durable Object alarm runs the same), woken
 * at the next known deadline (a lease expiry or a cleanup retry) or the sweep interval, whichever is sooner. Orphan
 * sweeps and pruning run on their own slower cadence. Timers are unref'd; stop() waits for a running sweep.
 */
export function startSweepScheduler(deps: CoordinatorDeps): SweepScheduler {
  const { clock, config, logger } = deps;
  let timer: TimerHandle | undefined;
  let running: Promise<SweepStats | undefined> | undefined;
  let stopped = false;
  let last: PassTimes = { orphans: 0, prune: 0 };
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
    const at = await nextWakeAt(deps);
    if (stopped) return;
    timer?.cancel();
    timer = clock.setTimeout(() => void runNow(), at - clock.now(), { unref: true });
  };

  const runNow = (): Promise<SweepStats | undefined> => {
    if (running) return running;
    running = (async () => {
      try {
        const pass = await scheduledPass(deps, last);
        last = pass.last;
        void poolNow();
        return pass.stats;
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

import type { TimerHandle } from '../domain/clock.ts';
import { nextWakeAt, scheduledPass, type PassTimes } from './alarm.ts';
import type { CoordinatorDeps } from './deps.ts';
import type { SweepStats } from './sweeper.ts';

export interface SweepScheduler {
  /** Runs a sweep now (and reschedules); resolves with its stats. */
  runNow(): Promise<SweepStats | undefined>;
  stop(): Promise<void>;
}

/**
 * The Node entry's timer: the scheduled pass of alarm.ts (the Worker's Durable Object alarm runs the same), woken at the
 * next known deadline or the sweep interval, whichever is sooner. Timers are unref'd; stop() waits for a running sweep.
 */
export function startSweepScheduler(deps: CoordinatorDeps): SweepScheduler {
  const { clock } = deps;
  let timer: TimerHandle | undefined;
  let running: Promise<SweepStats | undefined> | undefined;
  let stopped = false;
  let last: PassTimes = { orphans: 0, prune: 0 };

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
    async stop() {
      stopped = true;
      timer?.cancel();
      await running;
    },
  };
}

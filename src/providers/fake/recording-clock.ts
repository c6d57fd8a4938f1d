import { ManualClock } from '../../domain/clock.ts';

/** A ManualClock that also records how long each sleep asked for (backoff and poll assertions read it). */
export class RecordingClock extends ManualClock {
  readonly sleeps: number[] = [];

  override sleep(ms: number, signal?: AbortSignal): Promise<void> {
    this.sleeps.push(ms);
    return super.sleep(ms, signal);
  }
}

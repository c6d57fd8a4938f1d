import { systemClock } from '../../domain/clock.ts';
import { classifyEc2Error } from './errors.ts';

export type Sleep = (ms: number) => Promise<void>;

/** Real waiting; tests inject a sleep that only records. */
export const realSleep: Sleep = (ms) => systemClock.sleep(ms);

export interface RetryPolicy {
  /** Total attempts, including the first. */
  attempts: number;
  /** Delay before the second attempt; doubled each time, capped at 8 s. */
  baseDelayMs: number;
  sleep: Sleep;
}

export const DEFAULT_RETRY: Omit<RetryPolicy, 'sleep'> = { attempts: 3, baseDelayMs: 500 };

/**
 * Runs an EC2 call, retrying only transient failures (5xx, throttling, dropped connections) a bounded number of
 * times. Capacity, quota and client errors surface at once so the caller can move on within seconds.
 * The SDK's own retries are turned off (maxAttempts 1), so this is the only retry loop.
 */
export async function withRetry<T>(policy: RetryPolicy, fn: () => Promise<T>, onRetry?: (error: unknown, attempt: number) => void): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (error) {
      const kind = classifyEc2Error(error);
      if ((kind !== 'transient' && kind !== 'throttled') || attempt >= policy.attempts) throw error;
      onRetry?.(error, attempt);
      await policy.sleep(Math.min(policy.baseDelayMs * 2 ** (attempt - 1), 8000));
    }
  }
}

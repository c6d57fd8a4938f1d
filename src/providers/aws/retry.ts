import type { Clock } from '../../domain/clock.ts';
import { classifyEc2Error, ec2ErrorCode } from './errors.ts';

export interface RetryPolicy {
  /** Total attempts for transient failures (5xx, dropped connections), including the first. */
  attempts: number;
  /** Delay before the second transient attempt; doubled each time, capped at 8 s. */
  baseDelayMs: number;
  /** Total attempts while EC2 throttles (`RequestLimitExceeded`); the waits grow exponentially with full jitter. */
  throttleAttempts: number;
  throttleBaseMs: number;
  throttleCapMs: number;
  /**
   * How long a resource this provider just created may stay invisible to other calls (EC2 is eventually
   * consistent): `*.NotFound` for it is retried with backoff until this much time has passed.
   */
  propagationMs: number;
  clock: Clock;
  /** [0, 1); jitter source (tests pass a seeded one). */
  random: () => number;
}

export const DEFAULT_RETRY: Omit<RetryPolicy, 'clock' | 'random'> = {
  attempts: 3,
  baseDelayMs: 500,
  throttleAttempts: 8,
  throttleBaseMs: 1000,
  throttleCapMs: 20_000,
  propagationMs: 2 * 60_000,
};

/** Full jitter (AWS's recommendation for throttling): uniform in [0, min(cap, base * 2^n)], never below 100 ms. */
export function throttleDelay(policy: Pick<RetryPolicy, 'throttleBaseMs' | 'throttleCapMs' | 'random'>, retry: number): number {
  const ceiling = Math.min(policy.throttleCapMs, policy.throttleBaseMs * 2 ** retry);
  return Math.max(100, Math.floor(policy.random() * ceiling));
}

/**
 * Runs an EC2 call, retrying only transient failures (5xx, dropped connections) and throttling a bounded number of
 * times. Capacity, quota and client errors surface at once so the caller can move on within seconds.
 * The SDK's own retries are turned off (maxAttempts 1), so this is the only retry loop.
 */
export async function withRetry<T>(policy: RetryPolicy, fn: () => Promise<T>, onRetry?: (error: unknown, attempt: number) => void): Promise<T> {
  let transient = 0;
  let throttled = 0;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (error) {
      const kind = classifyEc2Error(error);
      let delay: number;
      if (kind === 'throttled' && throttled + 1 < policy.throttleAttempts) delay = throttleDelay(policy, throttled++);
      else if (kind === 'transient' && transient + 1 < policy.attempts) delay = Math.min(policy.baseDelayMs * 2 ** transient++, 8000);
      else throw error;
      onRetry?.(error, attempt);
      await policy.clock.sleep(delay);
    }
  }
}

/**
 * Like `withRetry`, but also waits out EC2's eventual consistency: while `withinWindow()` holds, an error whose code
 * is in `notYet` (the resource was just created and is not visible to this call yet) is retried with capped
 * exponential backoff. Outside the window the error is final.
 */
export async function withPropagation<T>(policy: RetryPolicy, notYet: readonly string[], fn: () => Promise<T>, options: { startedAt?: number } = {}): Promise<T> {
  const started = options.startedAt ?? policy.clock.now();
  for (let wait = 0; ; wait++) {
    try {
      return await withRetry(policy, fn);
    } catch (error) {
      if (!notYet.includes(ec2ErrorCode(error))) throw error;
      const delay = Math.min(500 * 2 ** wait, 10_000);
      if (policy.clock.now() + delay - started > policy.propagationMs) throw error;
      await policy.clock.sleep(delay);
    }
  }
}

import { formatHours } from './duration.ts';


/**
 * The one TTL / idle-timeout rule, for direct mode, the coordinator and the CLI alike. An explicit value outside the
 * allowed range is refused, never clamped; only defaults adapt (a default idle timeout longer than the TTL becomes
 * the TTL). Callers render a refusal in their own terms: the CLI in flag or config-key names, the API in body fields.
 */

export const DEFAULT_TTL_SECONDS = 90 * 60;
export const DEFAULT_IDLE_SECONDS = 30 * 60;
export const MAX_TTL_SECONDS = 24 * 60 * 60;
/** Shorter leases cannot be heartbeated reliably (the heartbeat runs every idle/3, at most once a minute). */
export const MIN_LEASE_SECONDS = 60;

export type TimingField = 'ttl' | 'idleTimeout';

/** Why a value was refused: it is outside `min`..`max` (`max` is the TTL when `overTtl`). */
export interface TimingProblem {
  field: TimingField;
  seconds: number;
  min: number;
  max: number;
  /** The idle timeout is longer than the lease's TTL. */
  overTtl: boolean;
}

export interface TimingLimits {
  /** The operator's cap (coordinator config); never above MAX_TTL_SECONDS. */
  maxTtlSeconds?: number | undefined;
  defaultTtlSeconds?: number | undefined;
  defaultIdleSeconds?: number | undefined;
}

export type TimingResult = { ok: true; ttlSeconds: number; idleTimeoutSeconds: number } | { ok: false; problem: TimingProblem };

/** Checks an explicit TTL against the cap. */
export function checkTtl(seconds: number, maxTtlSeconds = MAX_TTL_SECONDS): TimingProblem | undefined {
  const max = Math.min(maxTtlSeconds, MAX_TTL_SECONDS);
  if (!Number.isInteger(seconds) || seconds < MIN_LEASE_SECONDS || seconds > max) return { field: 'ttl', seconds, min: MIN_LEASE_SECONDS, max, overTtl: false };
  return undefined;
}

/** Checks an explicit idle timeout: at least a minute, at most the lease's TTL (or the cap when the TTL is not known yet). */
export function checkIdleTimeout(seconds: number, ttlSeconds?: number): TimingProblem | undefined {
  const max = ttlSeconds ?? MAX_TTL_SECONDS;
  if (!Number.isInteger(seconds) || seconds < MIN_LEASE_SECONDS || seconds > max) {
    return { field: 'idleTimeout', seconds, min: MIN_LEASE_SECONDS, max, overTtl: ttlSeconds !== undefined && seconds > ttlSeconds && seconds <= MAX_TTL_SECONDS };
  }
  return undefined;
}

/** A new lease's TTL and idle timeout from what was asked (explicit) and the defaults. */
export function leaseTimings(input: { ttlSeconds?: number | undefined; idleTimeoutSeconds?: number | undefined }, limits: TimingLimits = {}): TimingResult {
  const max = Math.min(limits.maxTtlSeconds ?? MAX_TTL_SECONDS, MAX_TTL_SECONDS);
  let ttlSeconds: number;
  if (input.ttlSeconds !== undefined) {
    const problem = checkTtl(input.ttlSeconds, max);
    if (problem) return { ok: false, problem };
    ttlSeconds = input.ttlSeconds;
  } else {
    ttlSeconds = Math.min(limits.defaultTtlSeconds ?? DEFAULT_TTL_SECONDS, max);
  }
  let idleTimeoutSeconds: number;
  if (input.idleTimeoutSeconds !== undefined) {
    const problem = checkIdleTimeout(input.idleTimeoutSeconds, ttlSeconds);
    if (problem) return { ok: false, problem };
    idleTimeoutSeconds = input.idleTimeoutSeconds;
  } else {
    idleTimeoutSeconds = Math.min(limits.defaultIdleSeconds ?? DEFAULT_IDLE_SECONDS, ttlSeconds);
  }
  return { ok: true, ttlSeconds, idleTimeoutSeconds };
}

/** How a caller names the two settings, and whether its values are durations (`90m`) or plain seconds (`5400`). */
export interface TimingNames {
  ttl: string;
  idleTimeout: string;
  style: 'duration' | 'seconds';
}

export const FLAG_NAMES: TimingNames = { ttl: '--ttl', idleTimeout: '--idle-timeout', style: 'duration' };
export const API_NAMES: TimingNames = { ttl: 'ttlSeconds', idleTimeout: 'idleTimeoutSeconds', style: 'seconds' };

/** One line: what was refused and the allowed range, in the caller's terms. */
export function describeTimingProblem(problem: TimingProblem, names: TimingNames): string {
  const name = names[problem.field];
  const d = formatHours;
  if (names.style === 'seconds') {
    const range = `allowed ${problem.min} to ${problem.max} seconds (${d(problem.min)} to ${d(problem.max)})`;
    return problem.overTtl ? `${name}: ${problem.seconds} is longer than the lease's ${names.ttl} (${problem.max}); ${range}` : `${name}: ${problem.seconds} is out of range; ${range}`;
  }
  const range = `allowed ${d(problem.min)} to ${d(problem.max)}`;
  return problem.overTtl ? `${name} ${d(problem.seconds)} is longer than the lease's TTL (${d(problem.max)}); ${range}` : `${name} ${d(problem.seconds)} is out of range; ${range}`;
}

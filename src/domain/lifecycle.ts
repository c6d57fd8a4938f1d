import { checkIdleTimeout, leaseTimings, type TimingLimits, type TimingProblem } from './lease-timing.ts';
import { isLive, isTerminal, type Lease, type LeaseState } from './lease.ts';

/**
 * The lease lifecycle, once, for both modes: direct mode (state in provider labels, src/leases/direct.ts) and the
 * coordinator (state in its store, src/coordinator/leases.ts) call these and nothing else decides when a lease
 * starts, expires, may be touched, or how it ended. The TTL and idle-timeout ranges are lease-timing.ts's.
 */

/** Machines still marked running/provisioning get this much extra time before cleanup may touch them. */
export const STALE_WINDOW_SECONDS = 10 * 60;

/** The TTL cap: the lease can never live past this, touched or not. */
export function hardDeadline(lease: Pick<Lease, 'createdAt' | 'ttlSeconds'>): number {
  return lease.createdAt + lease.ttlSeconds * 1000;
}

/**
 * The one expiry rule: a lease ends at min(created + ttl, last touched + idle); a kept lease does not idle out and
 * ends at its TTL cap.
 */
export function computeExpiry(lease: Pick<Lease, 'keep' | 'createdAt' | 'ttlSeconds' | 'lastTouchedAt' | 'idleTimeoutSeconds'>): number {
  if (lease.keep) return hardDeadline(lease);
  return Math.min(hardDeadline(lease), lease.lastTouchedAt + lease.idleTimeoutSeconds * 1000);
}

/**
 * When a live lease is over. Normally its expiry; for a kept lease its TTL cap, even when its record (labels written
 * before the keep rule) says otherwise.
 */
export function deadline(lease: Pick<Lease, 'keep' | 'createdAt' | 'ttlSeconds' | 'expiresAt'>): number {
  return lease.keep ? hardDeadline(lease) : lease.expiresAt;
}

export function isExpired(lease: Pick<Lease, 'expiresAt' | 'state'>, now: number): boolean {
  return isLive(lease.state) && now >= lease.expiresAt;
}

/** A new lease's times: what was asked, the defaults and limits (lease-timing.ts), and the expiry that follows. */
export interface LeaseStart {
  keep: boolean;
  ttlSeconds: number;
  idleTimeoutSeconds: number;
  createdAt: number;
  lastTouchedAt: number;
  expiresAt: number;
}

export type StartResult = { ok: true; start: LeaseStart } | { ok: false; problem: TimingProblem };

export function startLease(input: { ttlSeconds?: number | undefined; idleTimeoutSeconds?: number | undefined; keep?: boolean | undefined }, limits: TimingLimits, now: number): StartResult {
  const timed = leaseTimings(input, limits);
  if (!timed.ok) return timed;
  const base = { keep: input.keep ?? false, ttlSeconds: timed.ttlSeconds, idleTimeoutSeconds: timed.idleTimeoutSeconds, createdAt: now, lastTouchedAt: now };
  return { ok: true, start: { ...base, expiresAt: computeExpiry(base) } };
}

export type TouchResult<L extends Lease> =
  | { ok: true; lease: L; /** The idle timeout grew: the lease may now cost more (the coordinator re-checks its caps). */ extended: boolean }
  | { ok: false; reason: 'expired' | 'not_live' }
  | { ok: false; reason: 'bad_idle'; problem: TimingProblem };

/**
 * Touches a lease (ssh, heartbeat): moves the idle deadline forward from `now`, optionally with a new idle timeout
 * (1m up to the lease's TTL; anything else is refused, never clamped). Never past the TTL cap. Refused once the lease
 * has expired or ended.
 */
export function touch<L extends Lease>(lease: L, now: number, idleTimeoutSeconds?: number): TouchResult<L> {
  const problem = idleTimeoutSeconds === undefined ? undefined : checkIdleTimeout(idleTimeoutSeconds, lease.ttlSeconds);
  if (problem) return { ok: false, reason: 'bad_idle', problem };
  if (!isLive(lease.state)) return { ok: false, reason: 'not_live' };
  if (now >= lease.expiresAt) return { ok: false, reason: 'expired' };
  const idle = idleTimeoutSeconds ?? lease.idleTimeoutSeconds;
  const next = { ...lease, lastTouchedAt: now, idleTimeoutSeconds: idle };
  next.expiresAt = computeExpiry(next);
  return { ok: true, lease: next, extended: idle > lease.idleTimeoutSeconds };
}

/** Why a lease is being ended. */
export type EndCause = 'release' | 'expire' | 'fail';

export interface LeaseEnd {
  state: Exclude<LeaseState, 'provisioning' | 'active'>;
  endedAt: number;
  /** The deadline as the ended record shows it (a kept lease's TTL cap when it expired there). */
  expiresAt: number;
}

/**
 * How a live lease ends; undefined for one that already ended (release is idempotent). A release or expiry at or past
 * the deadline is an expiry at that deadline (whoever notices first, the owner's `stop` or a sweep, records the same
 * thing); a release before it is a release now; a failed create fails now.
 */
export function endLease(lease: Pick<Lease, 'state' | 'keep' | 'createdAt' | 'ttlSeconds' | 'expiresAt'>, cause: EndCause, now: number): LeaseEnd | undefined {
  if (isTerminal(lease.state)) return undefined;
  if (cause === 'fail') return { state: 'failed', endedAt: now, expiresAt: lease.expiresAt };
  const due = deadline(lease);
  if (now >= due) return { state: 'expired', endedAt: due, expiresAt: due };
  if (cause === 'expire') return undefined; // not due yet: a sweep that read an older deadline
  return { state: 'released', endedAt: now, expiresAt: lease.expiresAt };
}

export type CleanupVerdict =
  | { action: 'delete'; reason: 'expired' | 'past-ttl-cap' | 'terminal' | 'stale' }
  | { action: 'skip'; reason: 'live' | 'kept' | 'within-stale-window' };

/**
 * Decides whether cleanup may delete a lease's machine, from the lease alone (direct mode: its labels; the coordinator's
 * orphan sweep: its record). Kept machines are skipped until their TTL cap; machines still provisioning get an extra
 * stale window.
 */
export function cleanupVerdict(
  lease: Pick<Lease, 'state' | 'keep' | 'createdAt' | 'ttlSeconds' | 'expiresAt' | 'lastTouchedAt'>,
  now: number,
  staleWindowSeconds = STALE_WINDOW_SECONDS,
): CleanupVerdict {
  const pastCap = now >= hardDeadline(lease);
  if (isTerminal(lease.state)) return { action: 'delete', reason: 'terminal' };
  if (pastCap) {
    if (lease.state === 'provisioning' && now < hardDeadline(lease) + staleWindowSeconds * 1000) return { action: 'skip', reason: 'within-stale-window' };
    return { action: 'delete', reason: 'past-ttl-cap' };
  }
  // A kept lease lives until its TTL cap (computeExpiry); labels written before that rule may say otherwise.
  if (lease.keep) return { action: 'skip', reason: 'kept' };
  if (now < lease.expiresAt) return { action: 'skip', reason: 'live' };
  if (lease.state === 'provisioning' && now < lease.expiresAt + staleWindowSeconds * 1000) return { action: 'skip', reason: 'within-stale-window' };
  return { action: 'delete', reason: 'expired' };
}

/** The heartbeat cadence for a lease: about idle/3, clamped to 5-60 seconds. */
export function heartbeatIntervalMs(idleTimeoutSeconds: number): number {
  return Math.min(Math.max(Math.floor((idleTimeoutSeconds * 1000) / 3), 5_000), 60_000);
}

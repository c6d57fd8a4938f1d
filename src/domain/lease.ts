/** Lease lifecycle rules as pure functions of a lease and the time. */

export const LEASE_STATES = ['provisioning', 'active', 'released', 'expired', 'failed'] as const;
export type LeaseState = (typeof LEASE_STATES)[number];

import { checkIdleTimeout, type TimingProblem } from './lease-timing.ts';

export { DEFAULT_IDLE_SECONDS, DEFAULT_TTL_SECONDS, MAX_TTL_SECONDS } from './lease-timing.ts';
/** Machines still marked running/provisioning get this much extra time before cleanup may touch them. */
export const STALE_WINDOW_SECONDS = 10 * 60;

export interface MachineRef {
  provider: string;
  /** The provider's own id for the machine (server id, instance id, local directory name). */
  providerId: string;
  host: string;
  /** SSH ports in the order to try them: primary first, then fallbacks. */
  ports: number[];
  sshUser: string;
  workRoot: string;
  /** The box's public host key (`ssh-ed25519 AAAA...`), pinned before the first connection. */
  hostKey: string;
  type?: string | undefined;
  region?: string | undefined;
}

export interface Lease {
  id: string;
  slug: string;
  owner: string;
  org: string;
  provider: string;
  profile?: string | undefined;
  class?: string | undefined;
  state: LeaseState;
  keep: boolean;
  ttlSeconds: number;
  idleTimeoutSeconds: number;
  /** All times are epoch milliseconds. */
  createdAt: number;
  lastTouchedAt: number;
  expiresAt: number;
  endedAt?: number | undefined;
  machine?: MachineRef | undefined;
}

/** The TTL cap: the lease can never live past this, touched or not. */
export function hardDeadline(lease: Pick<Lease, 'createdAt' | 'ttlSeconds'>): number {
  return lease.createdAt + lease.ttlSeconds * 1000;
}

/**
 * The one expiry rule, in both modes (direct labels and the coordinator's store): a lease ends at
 * min(created + ttl, last touched + idle); a kept lease does not idle out and ends at its TTL cap.
 */
export function computeExpiry(lease: Pick<Lease, 'keep' | 'createdAt' | 'ttlSeconds' | 'lastTouchedAt' | 'idleTimeoutSeconds'>): number {
  if (lease.keep) return hardDeadline(lease);
  return Math.min(hardDeadline(lease), lease.lastTouchedAt + lease.idleTimeoutSeconds * 1000);
}

export function isLive(state: LeaseState): boolean {
  return state === 'provisioning' || state === 'active';
}

export function isTerminal(state: LeaseState): boolean {
  return !isLive(state);
}

export function isExpired(lease: Pick<Lease, 'expiresAt' | 'state'>, now: number): boolean {
  return isLive(lease.state) && now >= lease.expiresAt;
}

export type TouchResult<L extends Lease> = { ok: true; lease: L } | { ok: false; reason: 'expired' | 'not_live' } | { ok: false; reason: 'bad_idle'; problem: TimingProblem };

/**
 * Touches a lease: moves the idle deadline forward from `now`, optionally with a new idle timeout (1m up to the
 * lease's TTL; anything else is refused, never clamped). Never extends past the TTL cap. Refused once the lease has
 * expired or ended.
 */
export function touch<L extends Lease>(lease: L, now: number, idleTimeoutSeconds?: number): TouchResult<L> {
  const problem = idleTimeoutSeconds === undefined ? undefined : checkIdleTimeout(idleTimeoutSeconds, lease.ttlSeconds);
  if (problem) return { ok: false, reason: 'bad_idle', problem };
  if (!isLive(lease.state)) return { ok: false, reason: 'not_live' };
  if (now >= lease.expiresAt) return { ok: false, reason: 'expired' };
  const idle = idleTimeoutSeconds ?? lease.idleTimeoutSeconds;
  const next = { ...lease, lastTouchedAt: now, idleTimeoutSeconds: idle };
  next.expiresAt = computeExpiry(next);
  return { ok: true, lease: next };
}

export type CleanupVerdict =
  | { action: 'delete'; reason: 'expired' | 'past-ttl-cap' | 'terminal' | 'stale' }
  | { action: 'skip'; reason: 'live' | 'kept' | 'within-stale-window' };

/**
 * Decides whether cleanup may delete a machine, from its lease labels alone.
 * Kept machines are skipped until their TTL cap; machines still provisioning get an extra stale window.
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

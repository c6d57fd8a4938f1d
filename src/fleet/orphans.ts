import { LABEL, labelValue, parseLeaseLabels, type Labels } from '../domain/labels.ts';
import { cleanupVerdict, hardDeadline, STALE_WINDOW_SECONDS, type Lease } from '../domain/lease.ts';

/** A machine as the provider lists it. */
export interface OrphanCandidate {
  providerId: string;
  name?: string | undefined;
  labels: Labels;
  /** Epoch ms, as the provider reports it. */
  createdAt?: number | undefined;
}

/** What the lease store knows about a lease (coordinator sweeps). */
export type KnownLease = Pick<Lease, 'id' | 'state' | 'keep' | 'createdAt' | 'ttlSeconds' | 'expiresAt' | 'lastTouchedAt'>;

export interface OrphanPolicy {
  /** This installation's id; machines labelled with another are never touched. */
  installation: string;
  now: number;
  /** A lease the store does not know may still be mid-create; leave it alone this long (seconds). */
  unknownSafetyWindowSeconds?: number | undefined;
  /** Extra time for machines still provisioning (seconds). */
  staleWindowSeconds?: number | undefined;
}

export const UNKNOWN_SAFETY_WINDOW_SECONDS = 30 * 60;

export type OrphanReason =
  | 'not-crabbox'
  | 'other-installation'
  | 'terminal'
  | 'expired'
  | 'past-ttl-cap'
  | 'stale'
  | 'unknown-lease'
  | 'unknown-within-safety-window'
  | 'live'
  | 'kept'
  | 'within-stale-window';

export interface OrphanDecision {
  providerId: string;
  action: 'delete' | 'skip';
  reason: OrphanReason;
  leaseId?: string | undefined;
}

/**
 * Decides whether a sweep may delete one machine. Shared by direct-mode `cleanup` (labels are the only record:
 * pass no `leases`) and the coordinator's sweeper (pass the store's view). Deletes only what the labels prove this
 * installation created, and only when its lease is terminal, expired, or unknown and older than the safety window.
 */
export function decideOrphan(machine: OrphanCandidate, policy: OrphanPolicy, leases?: ReadonlyMap<string, KnownLease>): OrphanDecision {
  const base = { providerId: machine.providerId };
  const labelled = parseLeaseLabels(machine.labels);
  if (!labelled) return { ...base, action: 'skip', reason: 'not-crabbox' };
  const leaseId = labelled.id;
  if (!labelled.installation || labelled.installation !== labelValue(policy.installation) || machine.labels[LABEL.installation] !== labelled.installation) {
    return { ...base, leaseId, action: 'skip', reason: 'other-installation' };
  }
  const stale = policy.staleWindowSeconds ?? STALE_WINDOW_SECONDS;
  const fromLabels = { ...labelled };

  if (leases) {
    const known = leases.get(leaseId);
    if (known) return { ...base, leaseId, ...cleanupVerdict(known, policy.now, stale) };
    // Unknown to the store: a crash between create and record, or a record already pruned.
    // The later of the two creation times counts, so a wrong label can only make us wait longer.
    const born = Math.max(labelled.createdAt, machine.createdAt ?? 0);
    if (policy.now < born + (policy.unknownSafetyWindowSeconds ?? UNKNOWN_SAFETY_WINDOW_SECONDS) * 1000) {
      return { ...base, leaseId, action: 'skip', reason: 'unknown-within-safety-window' };
    }
    if (fromLabels.keep && policy.now < hardDeadline(fromLabels)) return { ...base, leaseId, action: 'skip', reason: 'kept' };
    return { ...base, leaseId, action: 'delete', reason: 'unknown-lease' };
  }
  return { ...base, leaseId, ...cleanupVerdict(fromLabels, policy.now, stale) };
}

/** Decisions for a whole listing, in listing order. */
export function decideOrphans(machines: OrphanCandidate[], policy: OrphanPolicy, leases?: ReadonlyMap<string, KnownLease>): OrphanDecision[] {
  return machines.map((m) => decideOrphan(m, policy, leases));
}

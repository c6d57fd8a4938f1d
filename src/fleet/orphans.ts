import { LABEL, labelValue, machineIdLabel, parseLeaseLabels, type Labels } from '../domain/labels.ts';
import { isMachineKnown, type MachineState } from '../domain/machine.ts';
import type { Lease } from '../domain/lease.ts';
import { cleanupVerdict, hardDeadline, STALE_WINDOW_SECONDS } from '../domain/lifecycle.ts';

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

/** What the machine store knows about a machine (coordinator sweeps), by its `crabbox-machine` label. */
export interface KnownMachine {
  id: string;
  state: MachineState;
}

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
  | 'unknown-machine'
  | 'unknown-within-safety-window'
  | 'known-machine'
  | 'machine-gone'
  | 'not-a-lease'
  | 'live'
  | 'kept'
  | 'within-stale-window';

export interface OrphanDecision {
  providerId: string;
  action: 'delete' | 'skip';
  reason: OrphanReason;
  leaseId?: string | undefined;
  machineId?: string | undefined;
}

/** The store's view of the fleet (coordinator sweeps); direct mode has none and passes nothing. */
export interface KnownFleet {
  leases: ReadonlyMap<string, KnownLease>;
  /** By machine id (its `crabbox-machine` label). A machine here in any state but deleted or failed is never an orphan. */
  machines?: ReadonlyMap<string, KnownMachine> | undefined;
  /** By provider id: machines made before they had a machine label (leases migrated by 0006). */
  machinesByProviderId?: ReadonlyMap<string, KnownMachine> | undefined;
}

/**
 * Decides whether a sweep may delete one machine. Shared by direct-mode `cleanup` (labels are the only record:
 * pass nothing) and the coordinator's sweeper (pass the store's view). Deletes only what the labels prove this
 * installation created. With the store's view, a machine it knows is never an orphan until the store says it is gone;
 * otherwise the machine goes when its lease is terminal, expired, or unknown and older than the safety window.
 */
export function decideOrphan(machine: OrphanCandidate, policy: OrphanPolicy, known?: ReadonlyMap<string, KnownLease> | KnownFleet): OrphanDecision {
  const fleet: KnownFleet | undefined = known instanceof Map ? { leases: known } : (known as KnownFleet | undefined);
  const machineId = machineIdLabel(machine.labels);
  const base = { providerId: machine.providerId, ...(machineId ? { machineId } : {}) };
  const labelled = parseLeaseLabels(machine.labels);
  const installation = machine.labels[LABEL.installation];
  if (!labelled && !(machineId && machine.labels[LABEL.marker] === 'true')) return { ...base, action: 'skip', reason: 'not-crabbox' };
  const leaseId = labelled?.id;
  if (!installation || installation !== labelValue(policy.installation)) {
    return { ...base, leaseId, action: 'skip', reason: 'other-installation' };
  }
  const stale = policy.staleWindowSeconds ?? STALE_WINDOW_SECONDS;
  const safety = (policy.unknownSafetyWindowSeconds ?? UNKNOWN_SAFETY_WINDOW_SECONDS) * 1000;
  // The later of the two creation times counts, so a wrong label can only make us wait longer.
  const createdLabel = Number(machine.labels[LABEL.created]);
  const born = Math.max(labelled?.createdAt ?? (Number.isFinite(createdLabel) ? createdLabel * 1000 : 0), machine.createdAt ?? 0);

  if (fleet) {
    const knownMachine = (machineId ? fleet.machines?.get(machineId) : undefined) ?? fleet.machinesByProviderId?.get(machine.providerId);
    if (knownMachine) {
      // The store answers for every machine it knows until it is gone; one it recorded as gone that still exists is debris.
      if (isMachineKnown(knownMachine.state)) return { ...base, leaseId, action: 'skip', reason: 'known-machine' };
      return { ...base, leaseId, action: 'delete', reason: 'machine-gone' };
    }
  }
  if (!labelled) {
    // A machine with no lease labels (a pool machine between leases): only the store can vouch for it.
    if (!fleet) return { ...base, action: 'skip', reason: 'not-a-lease' };
    if (policy.now < born + safety) return { ...base, action: 'skip', reason: 'unknown-within-safety-window' };
    return { ...base, action: 'delete', reason: 'unknown-machine' };
  }
  const fromLabels = { ...labelled };
  if (fleet) {
    const knownLease = fleet.leases.get(labelled.id);
    if (knownLease) return { ...base, leaseId, ...cleanupVerdict(knownLease, policy.now, stale) };
    // Unknown to the store: a crash between create and record, or a record already pruned.
    if (policy.now < born + safety) return { ...base, leaseId, action: 'skip', reason: 'unknown-within-safety-window' };
    if (fromLabels.keep && policy.now < hardDeadline(fromLabels)) return { ...base, leaseId, action: 'skip', reason: 'kept' };
    return { ...base, leaseId, action: 'delete', reason: 'unknown-lease' };
  }
  return { ...base, leaseId, ...cleanupVerdict(fromLabels, policy.now, stale) };
}

/** Decisions for a whole listing, in listing order. */
export function decideOrphans(machines: OrphanCandidate[], policy: OrphanPolicy, known?: ReadonlyMap<string, KnownLease> | KnownFleet): OrphanDecision[] {
  return machines.map((m) => decideOrphan(m, policy, known));
}

import type { Lease, LeaseState } from './lease.ts';
import { LEASE_STATES } from './lease.ts';
import { isLeaseId, isMachineId } from './ids.ts';

/**
 * Lease state as provider labels. Labels are how cleanup proves a machine is ours and decides whether it may go,
 * so they carry everything cleanup needs and nothing secret. Values obey the strictest provider rules
 * (Hetzner: lowercase alphanumerics, `-`, `_`, `.`, at most 63 characters).
 */
export const LABEL = {
  marker: 'crabbox',
  lease: 'crabbox-lease',
  /** The machine's own id (`mch_...`): the coordinator's store knows the machine by it, whatever lease it serves. */
  machine: 'crabbox-machine',
  slug: 'crabbox-slug',
  owner: 'crabbox-owner',
  org: 'crabbox-org',
  state: 'crabbox-state',
  keep: 'crabbox-keep',
  created: 'crabbox-created',
  touched: 'crabbox-touched',
  ttl: 'crabbox-ttl',
  idle: 'crabbox-idle',
  expires: 'crabbox-expires',
  installation: 'crabbox-installation',
} as const;

export type Labels = Record<string, string>;

/** Makes any text a valid label value: lowercase, `[a-z0-9._-]`, at most 63 characters, alphanumeric at both ends. */
export function labelValue(text: string): string {
  const cleaned = text
    .toLowerCase()
    .replace(/@/g, '.at.')
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, '')
    .slice(0, 63)
    .replace(/[^a-z0-9]+$/g, '');
  return cleaned || 'none';
}

export interface LeaseLabelInput {
  lease: Pick<Lease, 'id' | 'slug' | 'owner' | 'org' | 'state' | 'keep' | 'createdAt' | 'lastTouchedAt' | 'ttlSeconds' | 'idleTimeoutSeconds' | 'expiresAt'>;
  /** Which coordinator or CLI installation made the machine; cleanup only touches its own. */
  installation: string;
  /** The machine the lease is on (`mch_...`). */
  machineId?: string | undefined;
}

const seconds = (ms: number): string => String(Math.floor(ms / 1000));

export function leaseLabels({ lease, installation, machineId }: LeaseLabelInput): Labels {
  return {
    [LABEL.marker]: 'true',
    ...(machineId ? { [LABEL.machine]: machineId } : {}),
    [LABEL.lease]: lease.id,
    [LABEL.slug]: lease.slug,
    [LABEL.owner]: labelValue(lease.owner),
    [LABEL.org]: labelValue(lease.org),
    [LABEL.state]: lease.state,
    [LABEL.keep]: lease.keep ? 'true' : 'false',
    [LABEL.created]: seconds(lease.createdAt),
    [LABEL.touched]: seconds(lease.lastTouchedAt),
    [LABEL.ttl]: String(lease.ttlSeconds),
    [LABEL.idle]: String(lease.idleTimeoutSeconds),
    [LABEL.expires]: seconds(lease.expiresAt),
    [LABEL.installation]: labelValue(installation),
  };
}

export interface LabelledLease {
  id: string;
  slug: string;
  owner: string;
  org: string;
  state: LeaseState;
  keep: boolean;
  createdAt: number;
  lastTouchedAt: number;
  ttlSeconds: number;
  idleTimeoutSeconds: number;
  expiresAt: number;
  installation: string;
  /** The machine id label, when present and well formed. */
  machineId?: string | undefined;
}

const int = (value: string | undefined): number | undefined => (value !== undefined && /^\d{1,12}$/.test(value) ? Number(value) : undefined);

/**
 * Reads lease state back from labels. Returns undefined unless every label is present and well formed:
 * a machine whose labels do not fully prove it is a Crabbox lease is never treated as one.
 */
export function parseLeaseLabels(labels: Labels): LabelledLease | undefined {
  if (labels[LABEL.marker] !== 'true') return undefined;
  const id = labels[LABEL.lease];
  const state = labels[LABEL.state] as LeaseState | undefined;
  const created = int(labels[LABEL.created]);
  const touched = int(labels[LABEL.touched]);
  const ttl = int(labels[LABEL.ttl]);
  const idle = int(labels[LABEL.idle]);
  const expires = int(labels[LABEL.expires]);
  const keep = labels[LABEL.keep];
  if (!id || !isLeaseId(id) || !state || !LEASE_STATES.includes(state)) return undefined;
  if (created === undefined || touched === undefined || ttl === undefined || idle === undefined || expires === undefined) return undefined;
  if (keep !== 'true' && keep !== 'false') return undefined;
  return {
    id,
    slug: labels[LABEL.slug] ?? '',
    owner: labels[LABEL.owner] ?? '',
    org: labels[LABEL.org] ?? '',
    state,
    keep: keep === 'true',
    createdAt: created * 1000,
    lastTouchedAt: touched * 1000,
    ttlSeconds: ttl,
    idleTimeoutSeconds: idle,
    expiresAt: expires * 1000,
    installation: labels[LABEL.installation] ?? '',
    ...(machineIdLabel(labels) ? { machineId: machineIdLabel(labels) } : {}),
  };
}

/** The machine id a machine's labels name, if well formed (any label set: lease labels or a pool machine's own). */
export function machineIdLabel(labels: Labels): string | undefined {
  const id = labels[LABEL.machine];
  return id && isMachineId(id) ? id : undefined;
}

/**
 * The labels of a machine that serves no lease (a pool machine between leases): enough for the orphan sweep to prove
 * it is this installation's and how old it is.
 */
export function machineLabels(input: { machineId: string; installation: string; createdAt: number }): Labels {
  return {
    [LABEL.marker]: 'true',
    [LABEL.machine]: input.machineId,
    [LABEL.created]: seconds(input.createdAt),
    [LABEL.installation]: labelValue(input.installation),
  };
}

import type { Lease } from '../domain/lease.ts';
import type { Machine } from '../providers/provider.ts';
import { parseLeaseLabels } from '../domain/labels.ts';
import type { LeaseEntry } from '../api/shapes.ts';

/** A lease as direct mode sees it: read back from its machine's labels, with the machine it lives on. */
export interface DirectLease extends Lease {
  installation: string;
  /** The machine's id from its `crabbox-machine` label (leases made before machines had ids have none). */
  machineId?: string | undefined;
  machineStatus: Machine['status'];
  /** Brokered mode: the box's bootstrap-ready command as the coordinator named it (direct mode asks the provider). */
  readyCommand?: string | undefined;
  /** Brokered mode: the coordinator's host CA that certified the box's host key (docs/ssh-ca.md); trusted instead of pinning it. */
  hostCa?: string | undefined;
}

/** Reads a lease from a machine's labels; undefined unless the labels fully prove it is a Crabbox lease. */
export function leaseFromMachine(machine: Machine): DirectLease | undefined {
  const labelled = parseLeaseLabels(machine.labels);
  if (!labelled) return undefined;
  return {
    ...labelled,
    provider: machine.provider,
    machine: {
      provider: machine.provider,
      providerId: machine.providerId,
      host: machine.host,
      ports: machine.ports,
      sshUser: machine.sshUser,
      workRoot: machine.workRoot,
      hostKey: machine.hostKey,
      type: machine.type,
      region: machine.region,
    },
    machineStatus: machine.status,
  };
}

const iso = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

/** A lease in its `--json` shape (`leaseEntry` in src/api/shapes.ts; documented in docs/cli.md). */
export function leaseJson(lease: DirectLease, now: number): LeaseEntry {
  return {
    id: lease.id,
    slug: lease.slug,
    provider: lease.provider,
    owner: lease.owner,
    state: lease.state,
    keep: lease.keep,
    ttlSeconds: lease.ttlSeconds,
    idleTimeoutSeconds: lease.idleTimeoutSeconds,
    createdAt: iso(lease.createdAt),
    lastTouchedAt: iso(lease.lastTouchedAt),
    expiresAt: iso(lease.expiresAt),
    expiresInSeconds: Math.max(0, Math.floor((lease.expiresAt - now) / 1000)),
    class: lease.class ?? null,
    /** The type that actually launched (a class's fallback may have chosen a later one). */
    type: lease.machine?.type ?? null,
    machine: lease.machine
      ? {
          providerId: lease.machine.providerId,
          status: lease.machineStatus,
          host: lease.machine.host,
          ports: lease.machine.ports,
          sshUser: lease.machine.sshUser,
          workRoot: lease.machine.workRoot,
        }
      : null,
  };
}

import type { Transport } from '../../domain/transport.ts';
import type { Labels } from '../../domain/labels.ts';
import type { MachineState } from '../../domain/machine.ts';
import type { Page, PageRequest } from './page.ts';

/** A machine as the coordinator keeps it, apart from any lease (states: src/domain/machine.ts). */
export interface MachineRecord {
  /** `mch_` + 12 hex. */
  id: string;
  provider: string;
  /** The provider's own id, stored the moment the provider reports it. */
  providerId?: string | undefined;
  class?: string | undefined;
  type?: string | undefined;
  region?: string | undefined;
  host?: string | undefined;
  ports: number[];
  /** The user Crabbox manages the box as. */
  adminUser?: string | undefined;
  workRoot?: string | undefined;
  /** The box's public host key. */
  hostKey?: string | undefined;
  /** The labels it was created with. */
  labels: Labels;
  /** How it is reached when not directly (tunnel mode: a Cloudflare Tunnel host name). */
  transport?: Transport | undefined;
  state: MachineState;
  /** Why it is in its state (`lease-released`, `drained`, `create-failed`, ...). */
  stateReason?: string | undefined;
  /** The warm pool it belongs to; undefined for a machine made for one lease. */
  pool?: string | undefined;
  /** The lease it serves (or served, once deleting). */
  leaseId?: string | undefined;
  createdAt: number;
  stateChangedAt: number;
  lastAssignedAt?: number | undefined;
  assignments: number;
  /** USD per hour, and what it reserves against the spend caps (a pool machine: hourly price x the pool's maxAgeHours). */
  hourlyPrice: number;
  reservedCost: number;
  /** The token its provider create is idempotent by (a pool machine's: `cbx_` + the machine id's hex). */
  token?: string | undefined;
  /** Deleting it: attempts so far, when the next is due (or a worker's claim ends), the last error, when it went. */
  deletion: { attempts: number; nextAt?: number | undefined; lastError?: string | undefined; deletedAt?: number | undefined };
}

export interface NewMachine {
  id: string;
  provider: string;
  class?: string | undefined;
  type?: string | undefined;
  labels?: Labels | undefined;
  pool?: string | undefined;
  /** The lease it is made for (the cold path: one machine per lease). */
  leaseId?: string | undefined;
  createdAt: number;
  hourlyPrice?: number | undefined;
  reservedCost?: number | undefined;
  token?: string | undefined;
}

/** Where the provider made it. */
export interface MachineDetails {
  providerId: string;
  host: string;
  ports: number[];
  adminUser: string;
  workRoot: string;
  hostKey: string;
  type?: string | undefined;
  region?: string | undefined;
  /** How it is reached when not directly (tunnel mode); the host is then the transport's host name. */
  transport?: Transport | undefined;
}

export interface MachineQuery extends PageRequest {
  states?: MachineState[] | undefined;
  pool?: string | undefined;
  provider?: string | undefined;
  leaseId?: string | undefined;
}

export interface MachineTransitionOptions {
  now: number;
  reason?: string | undefined;
  /** Sets the lease it serves (null frees it); moving to `assigned` with a lease counts an assignment. */
  leaseId?: string | null | undefined;
  /** Moving to `deleting`: when the first delete is due (default now), or until when the caller holds the claim. */
  deleteAt?: number | undefined;
}

export type DeletionOutcome = { ok: true; at: number } | { ok: false; error: string; nextAt: number };

/**
 * Machines: their life apart from leases. Every state change is a conditional update that returns undefined (or false)
 * when the machine was no longer where the caller expected: someone else won.
 */
export interface MachineStore {
  /** Inserts a `provisioning` machine; written before the provider is asked for it. */
  createMachine(machine: NewMachine): Promise<MachineRecord>;
  /**
   * Records the provider's id the moment it is known, while the machine is being made (`provisioning`, or `draining`
   * before it is ready). A later id (a provider's replacement for a machine that failed to start) replaces it then; a
   * machine already being deleted keeps the id its deletion is for.
   */
  setMachineProviderId(id: string, providerId: string): Promise<void>;
  /**
   * Records where the provider made it and moves it out of `provisioning`: to `assigned` when made for a lease (counting
   * the assignment), else `idle`. A machine drained meanwhile keeps `draining`, with its details. Undefined if it was
   * neither provisioning nor draining (its lease ended and it is being deleted).
   */
  machineReady(id: string, details: MachineDetails, now: number): Promise<MachineRecord | undefined>;
  /** Moves a machine from one of `from` to `to` (each move must be allowed by src/domain/machine.ts); undefined if it was in none. */
  transitionMachine(id: string, from: readonly MachineState[], to: MachineState, options: MachineTransitionOptions): Promise<MachineRecord | undefined>;
  getMachine(id: string): Promise<MachineRecord | undefined>;
  getMachineByProviderId(provider: string, providerId: string): Promise<MachineRecord | undefined>;
  /** Newest first. */
  listMachines(query: MachineQuery): Promise<Page<MachineRecord>>;
  /** Machines in `state` since before `before`, oldest first (a create that never returned). */
  machinesStuckIn(state: MachineState, before: number, limit: number): Promise<MachineRecord[]>;
  /** Machines being deleted whose next attempt is due. */
  deletionQueue(now: number, limit: number): Promise<MachineRecord[]>;
  /** Claims a due deletion until `until`, so only one worker calls the provider; false if someone else holds it. */
  claimDeletion(id: string, now: number, until: number): Promise<boolean>;
  /** Success: `deleted`. Failure: the error and when to try again. Undefined if the machine is not being deleted. */
  recordDeletionAttempt(id: string, outcome: DeletionOutcome): Promise<MachineRecord | undefined>;
  /**
   * Takes the oldest idle machine of `pool` for `leaseId` in one conditional update (`idle -> assigned`, counting the
   * assignment; on PostgreSQL the candidate row is picked `FOR UPDATE SKIP LOCKED`). Undefined when none is idle.
   */
  claimIdleMachine(pool: string, leaseId: string, now: number): Promise<MachineRecord | undefined>;
  /** A pool's machines in every state but deleted and failed, oldest first (bounded). */
  poolMachines(pool: string): Promise<MachineRecord[]>;
  /** Reservations of pool machines made in [from, to) plus pool machines still alive that were made earlier; failed ones (never made) count nothing. */
  machineReservedSpend(scope: { from: number; to: number; pool?: string | undefined }): Promise<number>;
}

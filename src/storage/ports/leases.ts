import type { Lease, LeaseState } from '../../domain/lease.ts';
import type { OwnerScope, Page, PageRequest } from './page.ts';

/** A lease as the coordinator keeps it: the domain lease plus idempotency, pricing and the machine it is on. */
export interface LeaseRecord extends Lease {
  idempotencyKey: string;
  /** The machine this lease is an assignment of (`mch_...`); every lease made since migration 0006 has one. */
  machineId?: string | undefined;
  /** The machine's provider id, once the provider accepted the create (read from the machine). */
  providerId?: string | undefined;
  type?: string | undefined;
  hourlyPrice: number;
  /** hourly price x TTL: what this lease may cost at most. */
  reservedCost: number;
  endReason?: string | undefined;
  heartbeatLoggedAt?: number | undefined;
  /** The warm pool its machine came from (src/coordinator/pool/); undefined for a machine made for it. */
  pool?: string | undefined;
  /** A run on it forwarded env values: its machine is deleted, never reused. */
  envForwarded: boolean;
  /** Its user was granted sudo by the coordinator's config (decision 0060): its machine is deleted, never reused. */
  sudo: boolean;
}

export interface NewLease extends Pick<Lease, 'id' | 'slug' | 'owner' | 'org' | 'provider' | 'profile' | 'class' | 'keep' | 'ttlSeconds' | 'idleTimeoutSeconds' | 'createdAt' | 'expiresAt'> {
  machineId?: string | undefined;
  type?: string | undefined;
  idempotencyKey: string;
  hourlyPrice: number;
  reservedCost: number;
  pool?: string | undefined;
  /** The lease's user gets sudo (the coordinator's own config decided; decision 0060). */
  sudo?: boolean | undefined;
}

/** How the lease logs in to its machine (today the machine's own user and work root; per-lease users come later). */
export interface LeaseAccess {
  sshUser: string;
  workRoot: string;
  /** The type that actually launched. */
  type?: string | undefined;
}

export interface LeaseQuery extends PageRequest {
  owner?: string | undefined;
  states?: LeaseState[] | undefined;
}

export interface TouchUpdate {
  lastTouchedAt: number;
  idleTimeoutSeconds: number;
  expiresAt: number;
  heartbeatLoggedAt?: number | undefined;
}

export interface TransitionOptions {
  now: number;
  /** When the lease ended (default `now`): an expiry ends at the deadline (src/domain/lifecycle.ts endLease). */
  endedAt?: number | undefined;
  /** The deadline the ended record shows (default: unchanged). */
  expiresAt?: number | undefined;
  reason?: string | undefined;
}

export interface UsageRow {
  owner: string;
  org: string;
  provider: string;
  type: string;
  leases: number;
  reservedCost: number;
  /** Sum of (ended or now) - created, in seconds, clipped to the window. */
  seconds: number;
  estimatedCost: number;
}

/** Leases: create (idempotent), activate, touch, end; lookups, caps, usage and the sweeper's due lists. */
export interface LeaseStore {
  /** Inserts a provisioning lease; an existing lease with the same owner and idempotency key is returned instead. */
  createLease(lease: NewLease): Promise<{ lease: LeaseRecord; created: boolean }>;
  /** provisioning -> active with how it reaches its machine; undefined if the lease is no longer provisioning. */
  activateLease(id: string, access: LeaseAccess): Promise<LeaseRecord | undefined>;
  /** Moves the idle deadline of a live lease; undefined if it is no longer live. */
  touchLease(id: string, update: TouchUpdate): Promise<LeaseRecord | undefined>;
  /** Moves a lease from one of `from` to `to`; undefined if it was in none of them (someone else won). */
  transitionLease(id: string, from: readonly LeaseState[], to: LeaseState, options: TransitionOptions): Promise<LeaseRecord | undefined>;
  getLease(id: string): Promise<LeaseRecord | undefined>;
  /** The owner's lease with this slug: the live one, else the most recent. */
  getLeaseBySlug(slug: string, owner?: string): Promise<LeaseRecord | undefined>;
  /** Newest first. */
  listLeases(query: LeaseQuery): Promise<Page<LeaseRecord>>;
  liveSlugs(owner: string): Promise<string[]>;
  countLiveLeases(scope: OwnerScope): Promise<number>;
  /** Reserved cost of leases created in [from, to) plus leases still live that were created earlier. */
  reservedSpend(scope: OwnerScope & { from: number; to: number }): Promise<number>;
  usage(scope: OwnerScope & { from: number; to: number; now: number }): Promise<UsageRow[]>;
  leasesDueForExpiry(now: number, limit: number): Promise<LeaseRecord[]>;
  /** Leases still provisioning that were created before `before` (their create was interrupted or hangs). */
  staleProvisioning(before: number, limit: number): Promise<LeaseRecord[]>;
  /** Records that a run on the lease forwarded env values (sticky). */
  markEnvForwarded(id: string): Promise<void>;
}

import type { Lease, LeaseState, MachineRef } from '../domain/lease.ts';

/** The fleet store port: everything the coordinator persists, as intention-revealing operations. */

export type CleanupState = 'none' | 'pending' | 'done';

/** A lease as the coordinator keeps it: the domain lease plus idempotency, pricing and cleanup bookkeeping. */
export interface LeaseRecord extends Lease {
  idempotencyKey: string;
  /** Known from the moment the provider accepted the create, before the machine is ready. */
  providerId?: string | undefined;
  type?: string | undefined;
  hourlyPrice: number;
  /** hourly price x TTL: what this lease may cost at most. */
  reservedCost: number;
  endReason?: string | undefined;
  heartbeatLoggedAt?: number | undefined;
  cleanup: { state: CleanupState; attempts: number; nextAt?: number | undefined; lastError?: string | undefined };
  machineDeletedAt?: number | undefined;
}

export interface NewLease extends Pick<Lease, 'id' | 'slug' | 'owner' | 'org' | 'provider' | 'profile' | 'class' | 'keep' | 'ttlSeconds' | 'idleTimeoutSeconds' | 'createdAt' | 'expiresAt'> {
  type?: string | undefined;
  idempotencyKey: string;
  hourlyPrice: number;
  reservedCost: number;
}

export interface Page<T> {
  items: T[];
  /** Opaque; pass back to get the next page. Absent on the last page. */
  nextCursor?: string | undefined;
}

export interface PageRequest {
  cursor?: string | undefined;
  /** 1..500; defaults to 50. */
  limit?: number | undefined;
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
  reason?: string | undefined;
  /** Queue the machine for deletion (when there is a provider id). */
  queueCleanup?: boolean | undefined;
}

export type CleanupOutcome = { ok: true; at: number } | { ok: false; error: string; nextAt: number };

export interface OwnerScope {
  owner?: string | undefined;
  org?: string | undefined;
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

/** Run states the coordinator stores (`abandoned` exists only as a reading of local records). */
export const STORED_RUN_STATES = ['running', 'succeeded', 'failed', 'interrupted', 'error'] as const;
export type StoredRunState = (typeof STORED_RUN_STATES)[number];

export interface RunRecord {
  id: string;
  leaseId: string;
  /** The lease's slug and provider when the run started (undefined for rows recorded before migration 0004 whose lease was gone). */
  slug?: string | undefined;
  provider?: string | undefined;
  owner: string;
  org: string;
  command?: string | undefined;
  state: StoredRunState;
  /** What `crabbox run` exited with. */
  exitCode?: number | undefined;
  /** Whose exit code it is: `remote` (the command's) or `crabbox` (a crabbox failure or an interrupt). */
  source?: 'remote' | 'crabbox' | undefined;
  /** The signal of an interrupted run. */
  interrupted?: 'SIGINT' | 'SIGTERM' | undefined;
  /** The command's own exit code when it reported one. */
  remoteExitCode?: number | undefined;
  syncSkipped?: boolean | undefined;
  createdAt: number;
  endedAt?: number | undefined;
  timings?: Record<string, number> | undefined;
  logTail?: string | undefined;
  logTruncated: boolean;
  junit?: JunitSummary | undefined;
}

/**
 * A JUnit summary as JSON: the full summary of src/api/shapes.ts (`junitSummary`, failed cases as objects); rows
 * written before migration 0004 hold a compact form whose `failed` are names.
 */
export interface JunitSummary {
  tests: number;
  failures: number;
  errors: number;
  skipped: number;
  [field: string]: unknown;
}

export interface NewRun {
  id: string;
  leaseId: string;
  slug?: string | undefined;
  provider?: string | undefined;
  owner: string;
  org: string;
  command?: string | undefined;
  createdAt: number;
}

export interface RunFinish {
  exitCode: number;
  /** Default: `succeeded` for exit 0, else `failed`. */
  state?: Exclude<StoredRunState, 'running'> | undefined;
  source?: 'remote' | 'crabbox' | undefined;
  interrupted?: 'SIGINT' | 'SIGTERM' | undefined;
  remoteExitCode?: number | undefined;
  syncSkipped?: boolean | undefined;
  endedAt: number;
  timings?: Record<string, number> | undefined;
  logTail?: string | undefined;
  logTruncated?: boolean | undefined;
  junit?: JunitSummary | undefined;
}

export interface RunQuery extends PageRequest, OwnerScope {
  leaseId?: string | undefined;
  state?: StoredRunState | undefined;
}

export interface FleetEvent {
  seq: number;
  at: number;
  type: string;
  /** Who did it: an owner, `admin:<login>`, `sweeper`, `anonymous`. Never a credential. */
  actor: string;
  owner?: string | undefined;
  org?: string | undefined;
  leaseId?: string | undefined;
  runId?: string | undefined;
  providerId?: string | undefined;
  data?: Record<string, unknown> | undefined;
}

export type NewEvent = Omit<FleetEvent, 'seq'>;

export interface EventQuery extends PageRequest {
  owner?: string | undefined;
  leaseId?: string | undefined;
  type?: string | undefined;
}

export interface PruneResult {
  runs: number;
  events: number;
  leases: number;
}

/** A browser login's lifecycle: pending -> checking (callback running) -> approved|denied; approved -> delivered once. */
/** `failed`: GitHub had a temporary failure (not a denial); the CLI says to try again. */
export type LoginStatus = 'pending' | 'checking' | 'approved' | 'denied' | 'failed' | 'delivered';

export interface LoginRecord {
  id: string;
  /** SHA-256 (hex) of the OAuth `state` and of the CLI's secret; the plain values are never stored. */
  stateHash: string;
  secretHash: string;
  /** The rate-limit bucket of the start request's address: the IPv4 address, or the IPv6 /64. */
  source: string;
  /** The client address the start request came from (shown on the confirmation page). */
  address?: string | undefined;
  /** Three words the CLI printed; the confirmation page shows them. */
  phrase?: string | undefined;
  /** When a browser confirmed the login (before it was sent to GitHub). */
  confirmedAt?: number | undefined;
  /** SHA-256 of the cookie given to the browser that confirmed; only that browser's callback counts. */
  browserHash?: string | undefined;
  /** The CLI's loopback listener port, when it has one. */
  port?: number | undefined;
  status: LoginStatus;
  createdAt: number;
  expiresAt: number;
  owner?: string | undefined;
  org?: string | undefined;
  login?: string | undefined;
  /** Why a login was denied, shown to the CLI. */
  message?: string | undefined;
  /** SHA-256 of the one-time code the browser hands to the CLI after an approved callback. */
  codeHash?: string | undefined;
}

export type NewLogin = Omit<LoginRecord, 'status' | 'owner' | 'org' | 'login' | 'message' | 'codeHash' | 'confirmedAt' | 'browserHash'>;
export type LoginPatch = Pick<LoginRecord, 'status'> & Partial<Pick<LoginRecord, 'owner' | 'org' | 'login' | 'message' | 'codeHash'>>;
export interface LoginLimits {
  maxPending: number;
  maxPendingPerSource: number;
  now: number;
}

/**
 * Everything the coordinator stores. One SQL implementation serves SQLite and PostgreSQL; every backend passes
 * `runStoreContract`. Conditional updates return undefined/false when their precondition no longer holds, so
 * callers racing each other learn who won.
 */
export interface FleetStore {
  /** Runs `fn` in one transaction; the store handed to `fn` sees and writes inside it. Serializes writers. */
  withTransaction<T>(fn: (tx: FleetStore) => Promise<T>): Promise<T>;

  /** Inserts a provisioning lease; an existing lease with the same owner and idempotency key is returned instead. */
  createLease(lease: NewLease): Promise<{ lease: LeaseRecord; created: boolean }>;
  setProviderId(id: string, providerId: string): Promise<void>;
  /** provisioning -> active with the machine; undefined if the lease is no longer provisioning. */
  activateLease(id: string, machine: MachineRef): Promise<LeaseRecord | undefined>;
  /** Moves the idle deadline of a live lease; undefined if it is no longer live. */
  touchLease(id: string, update: TouchUpdate): Promise<LeaseRecord | undefined>;
  /** Moves a lease from one of `from` to `to`; undefined if it was in none of them (someone else won). */
  transitionLease(id: string, from: LeaseState[], to: LeaseState, options: TransitionOptions): Promise<LeaseRecord | undefined>;
  /** Queues a machine for deletion even though its lease already ended (orphans, admin delete). */
  queueCleanup(id: string, now: number): Promise<void>;
  setKeep(id: string, keep: boolean, expiresAt: number): Promise<LeaseRecord | undefined>;
  getLease(id: string): Promise<LeaseRecord | undefined>;
  getLeaseByProviderId(provider: string, providerId: string): Promise<LeaseRecord | undefined>;
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
  /** Leases whose machine still has to be deleted and whose next attempt is due. */
  cleanupQueue(now: number, limit: number): Promise<LeaseRecord[]>;
  /** Claims a due cleanup until `until`, so only one worker deletes the machine; false if someone else holds it. */
  claimCleanup(id: string, now: number, until: number): Promise<boolean>;
  recordCleanupAttempt(id: string, outcome: CleanupOutcome): Promise<LeaseRecord | undefined>;
  /** The earliest time anything is due: a live lease's expiry or a queued cleanup. */
  nextDueAt(): Promise<number | undefined>;

  createRun(run: NewRun): Promise<RunRecord>;
  finishRun(id: string, finish: RunFinish): Promise<RunRecord | undefined>;
  getRun(id: string): Promise<RunRecord | undefined>;
  listRuns(query: RunQuery): Promise<Page<RunRecord>>;

  appendEvent(event: NewEvent): Promise<FleetEvent>;
  listEvents(query: EventQuery): Promise<Page<FleetEvent>>;

  /** Deletes runs and events older than `olderThan`, and ended leases whose machine is gone. */
  prune(olderThan: number): Promise<PruneResult>;

  /** Stores a pending login unless the bounds on unexpired logins (total, per source) are reached; prunes long-expired rows. */
  createLogin(login: NewLogin, limits: LoginLimits): Promise<'created' | 'too-many' | 'too-many-from-source'>;
  getLogin(id: string): Promise<LoginRecord | undefined>;
  getLoginByState(stateHash: string): Promise<LoginRecord | undefined>;
  /** Marks a pending, unconfirmed login confirmed by one browser (compare-and-set: a second confirmation gets undefined). */
  confirmLogin(id: string, input: { browserHash: string; now: number }): Promise<LoginRecord | undefined>;
  /** Moves a login on only from one of `from` (compare-and-set): a second callback or delivery gets undefined. */
  updateLogin(id: string, from: LoginStatus[], patch: LoginPatch): Promise<LoginRecord | undefined>;

  getMeta(name: string): Promise<string | undefined>;
  setMeta(name: string, value: string): Promise<void>;
  /** A cheap round trip (readiness). */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export const DEFAULT_PAGE = 50;
export const MAX_PAGE = 500;

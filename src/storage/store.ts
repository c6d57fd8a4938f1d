import type { EventStore } from './ports/events.ts';
import type { LeaseStore } from './ports/leases.ts';
import type { LoginStore } from './ports/logins.ts';
import type { MachineStore } from './ports/machines.ts';
import type { MetaStore } from './ports/meta.ts';
import type { RunStore } from './ports/runs.ts';
import type { WebSessionStore } from './ports/web-sessions.ts';

/**
 * The fleet store: everything the coordinator persists, split by concern into ports (src/storage/ports/): leases,
 * machines, runs, events, logins, web sessions, meta. Code that needs one concern takes that port; code that changes several at
 * once (a lease and its machine and their audit event) takes the whole store and uses `withTransaction`.
 *
 * One SQL implementation serves SQLite and PostgreSQL; every backend passes `runStoreContract`. Conditional updates
 * return undefined/false when their precondition no longer holds, so callers racing each other learn who won.
 */

export type * from './ports/events.ts';
export type * from './ports/leases.ts';
export type * from './ports/logins.ts';
export type * from './ports/machines.ts';
export type * from './ports/meta.ts';
export type * from './ports/page.ts';
export type * from './ports/runs.ts';
export type * from './ports/web-sessions.ts';
export { DEFAULT_PAGE, MAX_PAGE } from './ports/page.ts';
export { STORED_RUN_STATES } from './ports/runs.ts';

export interface PruneResult {
  runs: number;
  events: number;
  leases: number;
  machines: number;
}

/** Runs several changes as one: all or nothing, serialized against every other writer (SQLite BEGIN IMMEDIATE, PostgreSQL advisory lock). */
export interface Transactional<S> {
  /** Runs `fn` in one transaction; the store handed to `fn` sees and writes inside it. Nested calls join the outer one. */
  withTransaction<T>(fn: (tx: S) => Promise<T>): Promise<T>;
}

export interface FleetStore extends LeaseStore, MachineStore, RunStore, EventStore, LoginStore, WebSessionStore, MetaStore, Transactional<FleetStore> {
  /**
   * Deletes runs and events older than `olderThan`, ended leases no machine is still being deleted for, and machines
   * gone (deleted or failed) before it that no remaining lease points at.
   */
  prune(olderThan: number): Promise<PruneResult>;
  /** The earliest time anything is due: a live lease's expiry or a machine's next delete attempt. */
  nextDueAt(): Promise<number | undefined>;
  /** A cheap round trip (readiness). */
  ping(): Promise<void>;
  /** How commits reach the disk (SQLite: journal mode and synchronous; PostgreSQL: synchronous_commit). */
  durability(): Promise<string>;
  close(): Promise<void>;
}

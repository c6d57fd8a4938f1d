import type { LeaseState } from '../../domain/lease.ts';
import type { MachineState } from '../../domain/machine.ts';
import type { FleetStore, PruneResult } from '../store.ts';
import type { EventQuery, NewEvent } from '../ports/events.ts';
import type { LeaseAccess, LeaseQuery, NewLease, TouchUpdate, TransitionOptions } from '../ports/leases.ts';
import type { LoginLimits, LoginPatch, LoginStatus, NewLogin } from '../ports/logins.ts';
import type { DeletionOutcome, MachineDetails, MachineQuery, MachineTransitionOptions, NewMachine } from '../ports/machines.ts';
import type { OwnerScope } from '../ports/page.ts';
import type { NewRun, RunFinish, RunQuery } from '../ports/runs.ts';
import type { WebSessionRecord } from '../ports/web-sessions.ts';
import type { SqlDriver } from './driver.ts';
import { SqlEventStore } from './events.ts';
import { LIVE, SqlLeaseStore } from './leases.ts';
import { SqlLoginStore } from './logins.ts';
import { SqlMachineStore } from './machines.ts';
import { SqlMetaStore } from './meta.ts';
import { migrate, type Migration } from './migrate.ts';
import { SqlRunStore } from './runs.ts';
import { SqlWebSessionStore } from './web-sessions.ts';

/**
 * The one SQL implementation of FleetStore: one class per port (leases.ts, machines.ts, runs.ts, events.ts,
 * logins.ts, web-sessions.ts, meta.ts) over a shared driver, which supplies the dialect and the transactions. This class only
 * delegates, and adds what spans the ports (transactions, prune, the next due time).
 */
export class SqlFleetStore implements FleetStore {
  readonly #db: SqlDriver;
  readonly leases: SqlLeaseStore;
  readonly machines: SqlMachineStore;
  readonly runs: SqlRunStore;
  readonly events: SqlEventStore;
  readonly logins: SqlLoginStore;
  readonly webSessions: SqlWebSessionStore;
  readonly meta: SqlMetaStore;

  constructor(options: { driver: SqlDriver }) {
    this.#db = options.driver;
    this.leases = new SqlLeaseStore(this.#db);
    this.machines = new SqlMachineStore(this.#db);
    this.runs = new SqlRunStore(this.#db);
    this.events = new SqlEventStore(this.#db);
    this.logins = new SqlLoginStore(this.#db);
    this.webSessions = new SqlWebSessionStore(this.#db);
    this.meta = new SqlMetaStore(this.#db);
  }

  /** Opens a store and brings its schema up to date. */
  static async open(options: { driver: SqlDriver; now: number; migrations: Migration[] }): Promise<SqlFleetStore> {
    await migrate(options.driver, options.migrations, options.now);
    return new SqlFleetStore({ driver: options.driver });
  }

  withTransaction<T>(fn: (tx: FleetStore) => Promise<T>): Promise<T> {
    return this.#db.transaction((tx) => fn(tx === this.#db ? this : new SqlFleetStore({ driver: tx })));
  }

  // Leases.
  createLease = (lease: NewLease) => this.leases.createLease(lease);
  activateLease = (id: string, access: LeaseAccess) => this.leases.activateLease(id, access);
  touchLease = (id: string, update: TouchUpdate) => this.leases.touchLease(id, update);
  transitionLease = (id: string, from: readonly LeaseState[], to: LeaseState, options: TransitionOptions) => this.leases.transitionLease(id, from, to, options);
  getLease = (id: string) => this.leases.getLease(id);
  getLeaseBySlug = (slug: string, owner?: string) => this.leases.getLeaseBySlug(slug, owner);
  listLeases = (query: LeaseQuery) => this.leases.listLeases(query);
  liveSlugs = (owner: string) => this.leases.liveSlugs(owner);
  countLiveLeases = (scope: OwnerScope) => this.leases.countLiveLeases(scope);
  reservedSpend = (scope: OwnerScope & { from: number; to: number }) => this.leases.reservedSpend(scope);
  usage = (scope: OwnerScope & { from: number; to: number; now: number }) => this.leases.usage(scope);
  leasesDueForExpiry = (now: number, limit: number) => this.leases.leasesDueForExpiry(now, limit);
  staleProvisioning = (before: number, limit: number) => this.leases.staleProvisioning(before, limit);
  markEnvForwarded = (id: string) => this.leases.markEnvForwarded(id);

  // Machines.
  createMachine = (machine: NewMachine) => this.machines.createMachine(machine);
  setMachineProviderId = (id: string, providerId: string) => this.machines.setMachineProviderId(id, providerId);
  machineReady = (id: string, details: MachineDetails, now: number) => this.machines.machineReady(id, details, now);
  transitionMachine = (id: string, from: readonly MachineState[], to: MachineState, options: MachineTransitionOptions) => this.machines.transitionMachine(id, from, to, options);
  getMachine = (id: string) => this.machines.getMachine(id);
  getMachineByProviderId = (provider: string, providerId: string) => this.machines.getMachineByProviderId(provider, providerId);
  listMachines = (query: MachineQuery) => this.machines.listMachines(query);
  machinesStuckIn = (state: MachineState, before: number, limit: number) => this.machines.machinesStuckIn(state, before, limit);
  deletionQueue = (now: number, limit: number) => this.machines.deletionQueue(now, limit);
  claimDeletion = (id: string, now: number, until: number) => this.machines.claimDeletion(id, now, until);
  recordDeletionAttempt = (id: string, outcome: DeletionOutcome) => this.machines.recordDeletionAttempt(id, outcome);
  claimIdleMachine = (pool: string, leaseId: string, now: number) => this.machines.claimIdleMachine(pool, leaseId, now);
  poolMachines = (pool: string) => this.machines.poolMachines(pool);
  machineReservedSpend = (scope: { from: number; to: number; pool?: string | undefined }) => this.machines.machineReservedSpend(scope);

  // Runs.
  createRun = (run: NewRun) => this.runs.createRun(run);
  finishRun = (id: string, finish: RunFinish) => this.runs.finishRun(id, finish);
  getRun = (id: string) => this.runs.getRun(id);
  listRuns = (query: RunQuery) => this.runs.listRuns(query);

  // Events.
  appendEvent = (event: NewEvent) => this.events.appendEvent(event);
  listEvents = (query: EventQuery) => this.events.listEvents(query);

  // Logins.
  createLogin = (login: NewLogin, limits: LoginLimits) => this.logins.createLogin(login, limits);
  getLogin = (id: string) => this.logins.getLogin(id);
  getLoginByState = (stateHash: string) => this.logins.getLoginByState(stateHash);
  confirmLogin = (id: string, input: { browserHash: string; now: number }) => this.logins.confirmLogin(id, input);
  updateLogin = (id: string, from: LoginStatus[], patch: LoginPatch) => this.logins.updateLogin(id, from, patch);

  // Web sessions.
  createWebSession = (session: WebSessionRecord, now: number) => this.webSessions.createWebSession(session, now);
  getWebSession = (id: string) => this.webSessions.getWebSession(id);
  touchWebSession = (id: string, update: { lastSeenAt: number; expiresAt: number }) => this.webSessions.touchWebSession(id, update);
  deleteWebSession = (id: string, owner?: string) => this.webSessions.deleteWebSession(id, owner);
  listWebSessions = (owner: string, now: number) => this.webSessions.listWebSessions(owner, now);

  // Meta.
  getMeta = (name: string) => this.meta.getMeta(name);
  setMeta = (name: string, value: string) => this.meta.setMeta(name, value);

  prune(olderThan: number): Promise<PruneResult> {
    return this.withTransaction(async (tx) => {
      const s = tx as SqlFleetStore;
      const runs = await s.runs.prune(olderThan);
      const events = await s.events.prune(olderThan);
      const leases = await s.leases.prune(olderThan);
      const machines = await s.machines.prune(olderThan);
      return { runs, events, leases, machines };
    });
  }

  async nextDueAt(): Promise<number | undefined> {
    const [row] = await this.#db.query(
      `SELECT MIN(t) AS t FROM (SELECT MIN(expires_at) AS t FROM leases WHERE state IN ${LIVE}
         UNION ALL SELECT MIN(delete_next_at) AS t FROM machines WHERE state = 'deleting') due`,
    );
    return row?.t === null || row?.t === undefined ? undefined : Number(row.t);
  }

  async ping(): Promise<void> {
    await this.#db.query('SELECT 1 AS ok');
  }

  durability(): Promise<string> {
    return this.#db.durability();
  }

  close(): Promise<void> {
    return this.#db.close();
  }
}

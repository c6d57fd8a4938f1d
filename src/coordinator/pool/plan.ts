import type { MachineState } from '../../domain/machine.ts';
import type { PoolConfig } from './config.ts';

/**
 * The pool reconciler's decision, pure: from a snapshot of one pool (its machines, recent refill failures, what it may
 * still spend) and the time, what to do now. Provisioning machines count as supply, so two passes that overlap never
 * both create for the same gap; worn-out idle machines (age, assignments) are replaced, oldest first; idle machines
 * beyond `min` go, oldest first; creates stop at `max`, the pool budget and the global spend cap, and wait out a
 * backoff after failed refills. Deletes never wait: they only ever touch idle machines (the executor re-checks that in
 * the same write).
 */

export interface PoolMachineFacts {
  id: string;
  state: MachineState;
  createdAt: number;
  assignments: number;
}

export interface PoolBudgetFacts {
  /** What one more machine reserves (hourly price x maxAgeHours); 0 when free. */
  perMachine: number;
  /** This month's reservations of this pool's machines. */
  poolSpent: number;
  /** This month's reservations everywhere (leases and every pool), for the global spend cap. */
  globalSpent: number;
  globalLimit?: number | undefined;
}

export interface PoolSnapshot {
  pool: Pick<PoolConfig, 'name' | 'min' | 'max' | 'maxAgeHours' | 'maxAssignments' | 'budget'>;
  /** The pool's machines in every state but deleted and failed. */
  machines: PoolMachineFacts[];
  /** Times of failed refills since the pool's last successful one (within the lookback window), any order. */
  failures: number[];
  budget: PoolBudgetFacts;
  /** An admin drained the pool: nothing is created until it is undrained. */
  draining?: boolean | undefined;
}

export type DeleteReason = 'max-age' | 'max-assignments' | 'extraneous';

export type PoolAction =
  | { kind: 'create'; count: number }
  | { kind: 'delete'; machineIds: string[]; reason: DeleteReason }
  | { kind: 'backoff'; until: number; failures: number }
  | { kind: 'blocked'; reason: 'max' | 'budget' | 'spend-cap' | 'draining'; wanted: number };

/** States that count against `max`: everything that serves, can serve, or is being made. */
export const COUNTED_STATES: readonly MachineState[] = ['provisioning', 'idle', 'assigned', 'scrubbing', 'draining'];

const BACKOFF_BASE_MS = 30_000;
const BACKOFF_MAX_MS = 15 * 60_000;
/** Failures older than this no longer slow refills down. */
export const FAILURE_LOOKBACK_MS = 60 * 60_000;

/** Delay after the n-th failed refill in a row: 30 s, 1 min, 2 min, ... capped at 15 min. */
export function refillBackoffMs(failures: number): number {
  return failures <= 0 ? 0 : Math.min(BACKOFF_BASE_MS * 2 ** (failures - 1), BACKOFF_MAX_MS);
}

/** Why an idle machine should be replaced, if it should. */
export function wornOut(m: PoolMachineFacts, pool: Pick<PoolConfig, 'maxAgeHours' | 'maxAssignments'>, now: number): 'max-age' | 'max-assignments' | undefined {
  if (now - m.createdAt >= pool.maxAgeHours * 3_600_000) return 'max-age';
  if (m.assignments >= pool.maxAssignments) return 'max-assignments';
  return undefined;
}

export function planPool(snapshot: PoolSnapshot, now: number): PoolAction[] {
  const { pool, budget } = snapshot;
  const actions: PoolAction[] = [];
  const oldestFirst = (a: PoolMachineFacts, b: PoolMachineFacts): number => a.createdAt - b.createdAt || a.id.localeCompare(b.id);
  const idle = snapshot.machines.filter((m) => m.state === 'idle').sort(oldestFirst);

  const worn: Record<'max-age' | 'max-assignments', string[]> = { 'max-age': [], 'max-assignments': [] };
  const fresh: PoolMachineFacts[] = [];
  for (const m of idle) {
    const why = wornOut(m, pool, now);
    if (why) worn[why].push(m.id);
    else fresh.push(m);
  }
  for (const reason of ['max-age', 'max-assignments'] as const) if (worn[reason].length) actions.push({ kind: 'delete', machineIds: worn[reason], reason });

  const extraneous = fresh.slice(0, Math.max(0, fresh.length - pool.min)).map((m) => m.id);
  if (extraneous.length) actions.push({ kind: 'delete', machineIds: extraneous, reason: 'extraneous' });

  const provisioning = snapshot.machines.filter((m) => m.state === 'provisioning').length;
  const wanted = pool.min - (fresh.length - extraneous.length) - provisioning;
  if (wanted <= 0) return actions;
  if (snapshot.draining) return [...actions, { kind: 'blocked', reason: 'draining', wanted }];

  const failures = snapshot.failures.filter((t) => now - t < FAILURE_LOOKBACK_MS);
  if (failures.length > 0) {
    const until = Math.max(...failures) + refillBackoffMs(failures.length);
    if (now < until) return [...actions, { kind: 'backoff', until, failures: failures.length }];
  }

  const deleting = worn['max-age'].length + worn['max-assignments'].length + extraneous.length;
  const counted = snapshot.machines.filter((m) => COUNTED_STATES.includes(m.state)).length - deleting;
  let count = Math.min(wanted, Math.max(0, pool.max - counted));
  let blocked: PoolAction | undefined = count < wanted ? { kind: 'blocked', reason: 'max', wanted } : undefined;
  if (budget.perMachine > 0) {
    const affordable = (limit: number | undefined, spent: number): number => (limit === undefined ? Infinity : Math.max(0, Math.floor((limit - spent + 1e-9) / budget.perMachine)));
    const byPool = affordable(pool.budget, budget.poolSpent);
    const byCap = affordable(budget.globalLimit, budget.globalSpent);
    if (byPool < count) {
      count = byPool;
      blocked = { kind: 'blocked', reason: 'budget', wanted };
    }
    if (byCap < count) {
      count = byCap;
      blocked = { kind: 'blocked', reason: 'spend-cap', wanted };
    }
  }
  if (count > 0) actions.push({ kind: 'create', count });
  if (blocked) actions.push(blocked);
  return actions;
}

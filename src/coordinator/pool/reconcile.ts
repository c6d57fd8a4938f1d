import { LABEL, machineLabels } from '../../domain/labels.ts';
import { hostCertificateSigner, hostKeySigner } from '../host-ca.ts';
import { boxUserCa } from '../ssh-ca.ts';
import { afterLeaseEnds } from '../../domain/machine.ts';
import type { Machine } from '../../providers/provider.ts';
import { redact } from '../../redact/redact.ts';
import type { FleetEvent, MachineDetails, MachineRecord } from '../../storage/store.ts';
import { audit } from '../audit.ts';
import type { CoordinatorDeps } from '../deps.ts';
import { generateHostKey } from '../host-key.ts';
import { CLAIM_MS, deleteMachine } from '../machines/delete.ts';
import { hourlyPrice, monthWindow } from '../pricing.ts';
import type { PoolConfig } from './config.ts';
import { COUNTED_STATES, FAILURE_LOOKBACK_MS, planPool, type PoolAction, type PoolSnapshot } from './plan.ts';
import { newMachineId } from '../../domain/ids.ts';
import { isPoolDraining } from './drain.ts';

/** What one pass did for one pool, and where the pool stands. */
export interface PoolPassStats {
  idle: number;
  assigned: number;
  provisioning: number;
  scrubbing: number;
  draining: number;
  created: number;
  deleted: number;
  failed: number;
  backoffUntil?: number | undefined;
  blocked?: string | undefined;
  error?: string | undefined;
}

export interface PoolStats {
  pools: Record<string, PoolPassStats>;
}

/** How long a pool machine may take from create to ready for grants (cloud boot and bootstrap included). */
export const PREPARE_TIMEOUT_MS = 15 * 60_000;

/** The pool's provisioning token for a machine: the provider's idempotency key, in the lease-id shape providers take. */
export const machineToken = (machineId: string): string => `cbx_${machineId.slice(4)}`;

/**
 * One reconcile pass over every configured pool: snapshot, plan (planPool, pure), execute. Runs from the sweep
 * scheduler (on Workers: the alarm), never on a timer of its own. Per-pool errors are collected, not thrown, so one
 * pool's provider outage never stops another's refill. Every action is safe to repeat after a crash: a machine row
 * (`provisioning`, with its token) is written before the provider is asked, deletes re-check "idle" in the same
 * write, and the next pass fixes whatever a crash left half done (the sweep settles stuck machines).
 */
export async function reconcilePool(deps: CoordinatorDeps, options: { signal?: AbortSignal | undefined } = {}): Promise<PoolStats> {
  const stats: PoolStats = { pools: {} };
  for (const pool of deps.config.pools) {
    if (options.signal?.aborted) break;
    try {
      stats.pools[pool.name] = await reconcileOne(deps, pool, options.signal);
    } catch (error) {
      const message = redact(error instanceof Error ? error.message : String(error)).slice(0, 300);
      deps.logger?.warn('pool pass failed', { pool: pool.name, error: message });
      stats.pools[pool.name] = { idle: 0, assigned: 0, provisioning: 0, scrubbing: 0, draining: 0, created: 0, deleted: 0, failed: 0, error: message };
    }
  }
  return stats;
}

async function reconcileOne(deps: CoordinatorDeps, pool: PoolConfig, signal: AbortSignal | undefined): Promise<PoolPassStats> {
  const { clock } = deps;
  const snapshot = await poolSnapshot(deps, pool);
  const now = clock.now();
  const actions = planPool(snapshot, now);
  const count = (state: string): number => snapshot.machines.filter((m) => m.state === state).length;
  const stats: PoolPassStats = { idle: count('idle'), assigned: count('assigned'), provisioning: count('provisioning'), scrubbing: count('scrubbing'), draining: count('draining'), created: 0, deleted: 0, failed: 0 };
  const creates: Promise<'created' | 'clamped' | 'failed'>[] = [];
  for (const action of actions) {
    if (action.kind === 'delete') stats.deleted += await retire(deps, pool, action);
    else if (action.kind === 'backoff') stats.backoffUntil = action.until;
    else if (action.kind === 'blocked') stats.blocked = action.reason;
    else for (let i = 0; i < action.count; i++) creates.push(provisionPoolMachine(deps, pool, signal));
  }
  for (const result of await Promise.all(creates)) {
    if (result === 'created') stats.created++;
    else if (result === 'failed') stats.failed++;
  }
  return stats;
}

/** The pool as planPool sees it: its machines, the refills that failed since the last success, and its budget. */
export async function poolSnapshot(deps: CoordinatorDeps, pool: PoolConfig): Promise<PoolSnapshot> {
  const { store, clock, config } = deps;
  const now = clock.now();
  const machines = await store.poolMachines(pool.name);
  const ofPool = (e: FleetEvent): boolean => e.data?.pool === pool.name && now - e.at < FAILURE_LOOKBACK_MS;
  const failed = (await store.listEvents({ type: 'pool.refill.failed', limit: 100 })).items.filter(ofPool);
  const lastSuccess = (await store.listEvents({ type: 'machine.provisioned', limit: 100 })).items.find(ofPool)?.at ?? 0;
  const provider = deps.providers[pool.provider];
  const price = provider ? await hourlyPrice(config, provider, pool.type) : 0;
  const month = monthWindow(now);
  const [draining, poolSpent, machineSpent, leaseSpent] = await Promise.all([
    isPoolDraining(store, pool.name),
    store.machineReservedSpend({ ...month, pool: pool.name }),
    store.machineReservedSpend(month),
    store.reservedSpend(month),
  ]);
  return {
    pool,
    machines: machines.map((m) => ({ id: m.id, state: m.state, createdAt: m.createdAt, assignments: m.assignments })),
    failures: failed.filter((e) => e.at > lastSuccess).map((e) => e.at),
    budget: { perMachine: reservation(price, pool), poolSpent, globalSpent: machineSpent + leaseSpent, globalLimit: config.caps.monthlySpend.global },
    draining,
  };
}

/** What a pool machine reserves against the spend caps when it is made: its hourly price for its whole allowed life. */
export function reservation(hourly: number, pool: Pick<PoolConfig, 'maxAgeHours'>): number {
  return Math.round(hourly * pool.maxAgeHours * 10_000) / 10_000;
}

/** Deletes idle machines the plan retires; each move re-checks `idle` in the same write (a claim may have won). */
async function retire(deps: CoordinatorDeps, pool: PoolConfig, action: Extract<PoolAction, { kind: 'delete' }>): Promise<number> {
  const { store, clock } = deps;
  let deleted = 0;
  for (const id of action.machineIds) {
    const now = clock.now();
    const claimUntil = now + CLAIM_MS;
    const moved = await store.transitionMachine(id, ['idle'], 'deleting', { now, reason: `pool-${action.reason}`, deleteAt: claimUntil });
    if (!moved) continue;
    const result = await deleteMachine(deps, moved, 'pool', { claimedUntil: claimUntil });
    if (result === 'deleted' || result === 'already-gone') deleted++;
  }
  deps.logger?.info('pool retired machines', { pool: pool.name, reason: action.reason, count: deleted });
  return deleted;
}

/** Whether the machine presents the host key the coordinator made for it (not a static host's own key). */
const sameKey = (a: string, b: string): boolean => a.trim().split(/\s+/).slice(0, 2).join(' ') === b.trim().split(/\s+/).slice(0, 2).join(' ');

const machineDetails = (machine: Machine, hostKey: string): MachineDetails => ({
  providerId: machine.providerId, host: machine.host, ports: machine.ports, adminUser: machine.sshUser, workRoot: machine.workRoot,
  hostKey: machine.hostKey || hostKey, type: machine.type, region: machine.region,
});

/**
 * Makes one pool machine. Clamped again just before the provider is asked, inside the transaction that writes the
 * machine's row: `max` and the budgets are checked against the store as it is then (another replica may have refilled
 * meanwhile). Ready means the provider made it and machine access prepared it (reachable, bootstrap done): only then
 * does it become idle. A failure is audited as `pool.refill.failed` (the plan backs off on those) and whatever the
 * provider made is deleted.
 */
export async function provisionPoolMachine(deps: CoordinatorDeps, pool: PoolConfig, signal?: AbortSignal): Promise<'created' | 'clamped' | 'failed'> {
  const { store, clock, config } = deps;
  const provider = deps.providers[pool.provider];
  if (!provider) return 'failed';
  const price = await hourlyPrice(config, provider, pool.type);
  const reserved = reservation(price, pool);
  const id = newMachineId();
  const token = machineToken(id);
  const created = clock.now();
  const labels = { ...machineLabels({ machineId: id, installation: config.installation, createdAt: created }), [LABEL.lease]: token };
  const record = await store.withTransaction(async (tx) => {
    // Drained after this pass took its snapshot: nothing more is made.
    if (await isPoolDraining(tx, pool.name)) return undefined;
    const machines = await tx.poolMachines(pool.name);
    if (machines.filter((m) => COUNTED_STATES.includes(m.state)).length >= pool.max) return undefined;
    if (reserved > 0) {
      const month = monthWindow(created);
      if (pool.budget !== undefined && (await tx.machineReservedSpend({ ...month, pool: pool.name })) + reserved > pool.budget + 1e-9) return undefined;
      const cap = config.caps.monthlySpend.global;
      if (cap !== undefined && (await tx.machineReservedSpend(month)) + (await tx.reservedSpend(month)) + reserved > cap + 1e-9) return undefined;
    }
    return tx.createMachine({ id, provider: provider.name, class: pool.class, type: pool.type, labels, pool: pool.name, createdAt: created, hourlyPrice: price, reservedCost: reserved, token });
  });
  if (!record) return 'clamped';
  try {
    const hostKey = await (deps.hostKeys ?? generateHostKey)(token);
    // A pool machine is drained at its maximum age; a lease that claimed it just before may run up to the TTL cap.
    const signHostKey = hostKeySigner(deps, provider.name, id, hostKey.publicKey, pool.maxAgeHours * 3600 + config.lease.maxTtlSeconds);
    const made = await provider.create(
      {
        leaseId: token, slug: `pool-${pool.name}`.slice(0, 40), labels, sshPublicKey: deps.adminPublicKey ?? '', hostKey, class: pool.class, type: pool.type, shared: true,
        ...(boxUserCa(deps, pool.provider) ? { userCa: boxUserCa(deps, pool.provider) } : {}),
        ...(pool.sshCidrs?.length ? { allowedCidrs: pool.sshCidrs } : {}), ...(signHostKey ? { signHostKey } : {}),
      },
      { onProviderId: (providerId) => store.setMachineProviderId(id, providerId), signal },
    );
    let details = machineDetails(made, hostKey.publicKey);
    const access = deps.access?.[provider.name];
    if (!access) throw new Error(`no machine access for provider ${provider.name} on this coordinator`);
    const prepareSignal = signal ? AbortSignal.any([signal, AbortSignal.timeout(PREPARE_TIMEOUT_MS)]) : AbortSignal.timeout(PREPARE_TIMEOUT_MS);
    await access.prepare({ id, provider: provider.name, ...details }, { deadline: clock.now() + PREPARE_TIMEOUT_MS, signal: prepareSignal });
    // A machine whose provider could not install a host certificate at creation (a cloud box learns its address after
    // its user data) gets it now, over the admin access, for the address it has (docs/ssh-ca.md).
    const certifyLater = !signHostKey && access.certifyHost && made.host && sameKey(made.hostKey, hostKey.publicKey)
      ? hostCertificateSigner(deps, id, hostKey.publicKey, pool.maxAgeHours * 3600 + config.lease.maxTtlSeconds)
      : undefined;
    if (certifyLater) {
      const certificate = await certifyLater([made.host]);
      await access.certifyHost!({ id, provider: provider.name, ...details }, certificate, { deadline: clock.now() + PREPARE_TIMEOUT_MS, signal: prepareSignal });
      details = { ...details, hostKey: certificate };
    }
    const now = clock.now();
    const claimUntil = now + CLAIM_MS;
    const ready = await store.withTransaction(async (tx) => {
      const after = await tx.machineReady(id, details, now);
      if (!after) return undefined;
      await audit(tx, { type: 'machine.provisioned', at: now, actor: 'pool', machine: after, data: { pool: pool.name, host: after.host, type: after.type } });
      // Drained while it was made: deleted now that it is free.
      if (after.state === 'draining') return tx.transitionMachine(id, ['draining'], 'deleting', { now, reason: 'drained', deleteAt: claimUntil });
      return after;
    });
    if (ready?.state === 'deleting') await deleteMachine(deps, ready, 'pool', { claimedUntil: claimUntil });
    return ready?.state === 'idle' ? 'created' : 'clamped';
  } catch (error) {
    await refillFailed(deps, pool, record, error);
    return 'failed';
  }
}

/** The status a provider error carried (429, 5xx), when it says. */
function statusOf(error: unknown): number | undefined {
  const e = error as { status?: unknown; $metadata?: { httpStatusCode?: unknown } };
  const status = typeof e?.status === 'number' ? e.status : e?.$metadata?.httpStatusCode;
  return typeof status === 'number' ? status : undefined;
}

async function refillFailed(deps: CoordinatorDeps, pool: PoolConfig, record: MachineRecord, error: unknown): Promise<void> {
  const { store, clock } = deps;
  const message = redact(error instanceof Error ? error.message : String(error)).slice(0, 300);
  const now = clock.now();
  const claimUntil = now + CLAIM_MS;
  const status = statusOf(error);
  const moved = await store.withTransaction(async (tx) => {
    await audit(tx, { type: 'pool.refill.failed', at: now, actor: 'pool', machine: record, data: { pool: pool.name, provider: pool.provider, error: message, ...(status ? { status } : {}) } });
    const machine = await tx.getMachine(record.id);
    if (!machine || (machine.state !== 'provisioning' && machine.state !== 'draining')) return machine;
    const move = afterLeaseEnds(machine, { createRunning: false });
    if (!move.to) return machine;
    const after = await tx.transitionMachine(machine.id, [machine.state], move.to, { now, reason: 'refill-failed', ...(move.to === 'deleting' ? { deleteAt: claimUntil } : {}) });
    if (after?.state === 'failed') await audit(tx, { type: 'machine.failed', at: now, actor: 'pool', machine: after, data: { reason: 'refill-failed', pool: pool.name } });
    return after;
  });
  if (moved?.state === 'deleting') await deleteMachine(deps, moved, 'pool', { claimedUntil: claimUntil });
  deps.logger?.warn('pool refill failed', { pool: pool.name, machineId: record.id, error: message });
}

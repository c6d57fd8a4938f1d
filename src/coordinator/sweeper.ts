import { LABEL, labelValue, machineIdLabel, parseLeaseLabels } from '../domain/labels.ts';
import { isLive } from '../domain/lease.ts';
import { afterLeaseEnds } from '../domain/machine.ts';
import { decideOrphan, type KnownFleet } from '../fleet/orphans.ts';
import { sweepTunnels } from './tunnel.ts';
import type { Provider } from '../providers/provider.ts';
import type { LeaseRecord, MachineRecord } from '../storage/store.ts';
import { audit } from './audit.ts';
import type { CoordinatorDeps } from './deps.ts';
import { scrub } from './redaction.ts';
import { expireLease } from './leases.ts';
import { CLAIM_MS, deleteMachine } from './machines/delete.ts';
import { SCRUB_STALE_MS } from './pool/scrub.ts';

export interface SweepStats {
  expired: number;
  failedProvisioning: number;
  /** Machines whose create never returned (no lease was waiting for them): deleted, or failed when nothing was made. */
  stuckMachines: number;
  /** Pool machines whose scrub never finished (a crash mid-scrub, or a claim that died): deleted, never reused. */
  staleScrubs: number;
  deleted: number;
  deleteFailures: number;
  orphansDeleted: number;
  orphansSkipped: number;
  /** Per-lease provider objects (keys, firewalls, key pairs) whose machine is gone. */
  danglingDeleted: number;
  pruned: { runs: number; events: number; leases: number; machines: number };
}

export interface SweepOptions {
  /** Also list providers by label for machines no record points at (costs provider API calls). */
  orphans?: boolean | undefined;
  /** Also delete runs/events older than the retention. */
  prune?: boolean | undefined;
  /** Work per step per sweep; the rest waits for the next sweep. */
  batch?: number | undefined;
  /** A create still provisioning after this long was interrupted (a crash) or hangs. */
  provisioningTimeoutSeconds?: number | undefined;
}

/**
 * One sweep: expire leases past their deadline, fail creates that never finished (and settle their machines), delete
 * machines in `deleting` (with backoff on failure), optionally sweep provider labels for orphans and prune old history.
 * All state lives in the store, so a restarted coordinator simply sweeps again.
 */
export async function sweep(deps: CoordinatorDeps, options: SweepOptions = {}): Promise<SweepStats> {
  const { store, clock, config } = deps;
  const batch = options.batch ?? 100;
  const stats: SweepStats = {
    expired: 0, failedProvisioning: 0, stuckMachines: 0, staleScrubs: 0, deleted: 0, deleteFailures: 0, orphansDeleted: 0, orphansSkipped: 0, danglingDeleted: 0,
    pruned: { runs: 0, events: 0, leases: 0, machines: 0 },
  };

  for (const lease of await store.leasesDueForExpiry(clock.now(), batch)) {
    if (await expireLease(deps, lease)) stats.expired++;
  }
  const provisioningCutoff = clock.now() - (options.provisioningTimeoutSeconds ?? 15 * 60) * 1000;
  for (const lease of await store.staleProvisioning(provisioningCutoff, batch)) {
    if (await expireLease(deps, lease, 'provisioning-timeout')) stats.failedProvisioning++;
  }
  // A pool claim answers in well under a second (its grant gives up after a minute): one still provisioning after
  // two minutes lost its coordinator between claim and assignment.
  for (const lease of await store.staleProvisioning(clock.now() - POOL_CLAIM_TIMEOUT_MS, batch)) {
    if (lease.pool && (await expireLease(deps, lease, 'provisioning-timeout'))) stats.failedProvisioning++;
  }
  for (const machine of await store.machinesStuckIn('provisioning', provisioningCutoff, batch)) {
    if (await settleStuckMachine(deps, machine)) stats.stuckMachines++;
  }
  for (const machine of await store.machinesStuckIn('scrubbing', clock.now() - SCRUB_STALE_MS, batch)) {
    if (await deleteStaleScrub(deps, machine)) stats.staleScrubs++;
  }
  for (const machine of await store.deletionQueue(clock.now(), batch)) {
    const result = await deleteMachine(deps, machine, 'sweeper');
    if (result === 'deleted' || result === 'already-gone') stats.deleted++;
    else if (result === 'failed') stats.deleteFailures++;
  }
  if (options.orphans) await sweepOrphans(deps, stats);
  if (options.prune) stats.pruned = await store.prune(clock.now() - config.retentionSeconds * 1000);
  return stats;
}

/**
 * A machine still `provisioning` long after its create began, whose lease (if any) is over or gone: the create died
 * with its process. The provider may have made it (a provider id): it is deleted; else nothing was made: `failed`.
 * A machine still serving a live lease waits for that lease's own provisioning timeout.
 */
async function settleStuckMachine(deps: CoordinatorDeps, stuck: MachineRecord): Promise<boolean> {
  const { store, clock } = deps;
  const now = clock.now();
  const moved = await store.withTransaction(async (tx) => {
    const machine = await tx.getMachine(stuck.id);
    if (machine?.state !== 'provisioning') return undefined;
    const lease = machine.leaseId ? await tx.getLease(machine.leaseId) : undefined;
    if (lease && isLive(lease.state)) return undefined;
    const move = afterLeaseEnds(machine, { createRunning: false });
    if (!move.to) return undefined;
    const after = await tx.transitionMachine(machine.id, ['provisioning'], move.to, { now, reason: 'provisioning-timeout' });
    if (after?.state === 'failed') await audit(tx, { type: 'machine.failed', at: now, actor: 'sweeper', lease, machine: after, data: { reason: 'provisioning-timeout' } });
    return after;
  });
  if (moved?.state === 'deleting') await deleteMachine(deps, moved, 'sweeper');
  return moved !== undefined;
}

/** A claim on a pool machine that has not become active after this long was cut off by a crash. */
export const POOL_CLAIM_TIMEOUT_MS = 2 * 60_000;

/**
 * A pool machine still `scrubbing` long after its lease ended: whoever scrubbed it died. Nothing proves it clean, so it
 * is deleted (the move re-checks `scrubbing` in the same write, so a scrub that finishes meanwhile wins).
 */
async function deleteStaleScrub(deps: CoordinatorDeps, stale: MachineRecord): Promise<boolean> {
  const { store, clock } = deps;
  const now = clock.now();
  const claimUntil = now + CLAIM_MS;
  const moved = await store.withTransaction(async (tx) => {
    const after = await tx.transitionMachine(stale.id, ['scrubbing'], 'deleting', { now, reason: 'scrub-stale', deleteAt: claimUntil });
    if (after) {
      const lease = after.leaseId ? await tx.getLease(after.leaseId) : undefined;
      await audit(tx, { type: 'machine.scrubbed', at: now, actor: 'sweeper', lease, machine: after, data: { pool: after.pool, clean: false, to: 'deleting', reason: 'scrub-stale', left: ['the scrub never finished'] } });
    }
    return after;
  });
  if (moved) await deleteMachine(deps, moved, 'sweeper', { claimedUntil: claimUntil });
  return moved !== undefined;
}

/**
 * Lists every labelled provider for this installation's machines and deletes those the store does not answer for, by
 * the shared rule `decideOrphan` (src/fleet/orphans.ts) fed with the store's records: a machine the store knows (by its
 * `crabbox-machine` label, or its provider id for machines made before machines had ids) is never an orphan until the
 * store says it is gone; otherwise its lease decides (terminal, or unknown and older than the safety window; kept
 * machines wait, but never past their TTL cap).
 */
async function sweepOrphans(deps: CoordinatorDeps, stats: SweepStats): Promise<void> {
  const { store, clock, config } = deps;
  for (const provider of Object.values(deps.providers)) {
    if (!provider.capabilities.labels) continue;
    let machines;
    try {
      machines = await provider.list({ [LABEL.marker]: 'true', [LABEL.installation]: labelValue(config.installation) });
    } catch (error) {
      await audit(store, { type: 'provider.error', at: clock.now(), actor: 'sweeper', data: { op: 'list', provider: provider.name, error: scrub(deps.config, String(error)).slice(0, 300) } });
      continue;
    }
    for (const candidate of machines) {
      const leaseId = parseLeaseLabels(candidate.labels)?.id;
      const labelledId = machineIdLabel(candidate.labels);
      const record = (labelledId ? await store.getMachine(labelledId) : undefined) ?? (await store.getMachineByProviderId(provider.name, candidate.providerId));
      const lease = leaseId ? await store.getLease(leaseId) : record?.leaseId ? await store.getLease(record.leaseId) : undefined;
      const fleet: KnownFleet = {
        leases: new Map(lease && leaseId ? [[leaseId, lease]] : []),
        machines: new Map(record && labelledId === record.id ? [[record.id, record]] : []),
        machinesByProviderId: new Map(record && record.providerId === candidate.providerId ? [[candidate.providerId, record]] : []),
      };
      const decision = decideOrphan(candidate, { installation: config.installation, now: clock.now(), unknownSafetyWindowSeconds: config.orphanSafetyWindowSeconds }, fleet);
      const ids = { lease, machine: record && { ...record, providerId: candidate.providerId }, providerId: candidate.providerId };
      if (decision.action === 'skip') {
        stats.orphansSkipped++;
        const reason = decision.reason === 'known-machine' && record ? knownReason(record, lease) : decision.reason;
        await audit(store, { type: 'machine.sweep_skipped', at: clock.now(), actor: 'sweeper', ...ids, data: { provider: provider.name, reason, leaseId } });
        continue;
      }
      try {
        const result = await provider.delete(candidate.providerId);
        stats.orphansDeleted++;
        await audit(store, { type: 'machine.deleted', at: clock.now(), actor: 'sweeper', ...ids, data: { reason: `orphan:${decision.reason}`, result, leaseId } });
      } catch (error) {
        await audit(store, { type: 'provider.error', at: clock.now(), actor: 'sweeper', ...ids, data: { op: 'delete-orphan', error: scrub(deps.config, String(error)).slice(0, 300) } });
      }
    }
    await sweepDangling(deps, provider, stats);
  }
  await sweepTunnelObjects(deps, stats);
}

/** Tunnel mode: tunnels, DNS records and Access apps labelled as ours whose machine is gone (docs/tunnel.md). */
async function sweepTunnelObjects(deps: CoordinatorDeps, stats: SweepStats): Promise<void> {
  const { store, clock } = deps;
  if (!deps.config.tunnel) return;
  try {
    const deleted = await sweepTunnels(deps);
    for (const name of deleted) await audit(store, { type: 'machine.deleted', at: clock.now(), actor: 'sweeper', data: { provider: 'cloudflare', object: name.split(' crabbox.')[0], name, reason: 'dangling:tunnel-orphan' } });
    stats.danglingDeleted += deleted.length;
  } catch (error) {
    await audit(store, { type: 'provider.error', at: clock.now(), actor: 'sweeper', data: { op: 'sweep-tunnels', provider: 'cloudflare', error: scrub(deps.config, String(error)).slice(0, 300) } });
  }
}

/** Why a machine the store knows was skipped: its lease is live, its deletion is queued, or its own state. */
function knownReason(machine: MachineRecord, lease: LeaseRecord | undefined): string {
  if (machine.state === 'deleting') return 'cleanup-queued';
  if (lease && isLive(lease.state) && machine.leaseId === lease.id) return 'live';
  return `known-machine:${machine.state}`;
}

/** Per-lease objects (keys, firewalls) a crash stranded without their machine; every deletion and skip is audited. */
async function sweepDangling(deps: CoordinatorDeps, provider: Provider, stats: SweepStats): Promise<void> {
  const { store, clock, config } = deps;
  if (!provider.capabilities.danglingObjects || !provider.sweepDangling) return;
  let report;
  try {
    report = await provider.sweepDangling({ installation: config.installation, minAgeMs: config.orphanSafetyWindowSeconds * 1000 });
  } catch (error) {
    await audit(store, { type: 'provider.error', at: clock.now(), actor: 'sweeper', data: { op: 'sweep-dangling', provider: provider.name, error: scrub(deps.config, String(error)).slice(0, 300) } });
    return;
  }
  for (const [type, items] of [['machine.deleted', report.deleted], ['machine.sweep_skipped', report.skipped]] as const) {
    for (const item of items) {
      await audit(store, { type, at: clock.now(), actor: 'sweeper', data: { provider: provider.name, object: item.kind, name: item.name, leaseId: item.leaseId, reason: `dangling:${item.reason}` } });
    }
  }
  stats.danglingDeleted += report.deleted.length;
}

import { LABEL, labelValue, parseLeaseLabels } from '../domain/labels.ts';
import { isLive } from '../domain/lease.ts';
import { decideOrphan } from '../fleet/orphans.ts';
import type { Provider } from '../providers/provider.ts';
import { redact } from '../redact/redact.ts';
import { audit } from './audit.ts';
import { cleanupMachine } from './cleanup.ts';
import type { CoordinatorDeps } from './deps.ts';
import { expireLease } from './leases.ts';

export interface SweepStats {
  expired: number;
  failedProvisioning: number;
  deleted: number;
  deleteFailures: number;
  orphansDeleted: number;
  orphansSkipped: number;
  /** Per-lease provider objects (keys, firewalls, key pairs) whose machine is gone. */
  danglingDeleted: number;
  pruned: { runs: number; events: number; leases: number };
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
 * One sweep: expire leases past their deadline, fail creates that never finished, delete queued machines (with
 * backoff on failure), optionally sweep provider labels for orphans and prune old history. All state lives in the
 * store, so a restarted coordinator simply sweeps again.
 */
export async function sweep(deps: CoordinatorDeps, options: SweepOptions = {}): Promise<SweepStats> {
  const { store, clock, config } = deps;
  const batch = options.batch ?? 100;
  const stats: SweepStats = { expired: 0, failedProvisioning: 0, deleted: 0, deleteFailures: 0, orphansDeleted: 0, orphansSkipped: 0, danglingDeleted: 0, pruned: { runs: 0, events: 0, leases: 0 } };

  for (const lease of await store.leasesDueForExpiry(clock.now(), batch)) {
    if (await expireLease(deps, lease)) stats.expired++;
  }
  const provisioningCutoff = clock.now() - (options.provisioningTimeoutSeconds ?? 15 * 60) * 1000;
  for (const lease of await store.staleProvisioning(provisioningCutoff, batch)) {
    if (await expireLease(deps, lease, 'provisioning-timeout')) stats.failedProvisioning++;
  }
  for (const lease of await store.cleanupQueue(clock.now(), batch)) {
    const result = await cleanupMachine(deps, lease, 'sweeper');
    if (result === 'deleted' || result === 'already-gone') stats.deleted++;
    else if (result === 'failed') stats.deleteFailures++;
  }
  if (options.orphans) await sweepOrphans(deps, stats);
  if (options.prune) stats.pruned = await store.prune(clock.now() - config.retentionSeconds * 1000);
  return stats;
}

/**
 * Lists every labelled provider for this installation's machines and deletes those no live lease needs, by the
 * shared rule `decideOrphan` (src/fleet/orphans.ts) fed with the store's record: the lease is terminal, or unknown
 * and older than the safety window; kept machines wait, but never past their TTL cap. Live leases and queued
 * cleanups are left to the expiry step and the cleanup queue.
 */
async function sweepOrphans(deps: CoordinatorDeps, stats: SweepStats): Promise<void> {
  const { store, clock, config } = deps;
  for (const provider of Object.values(deps.providers)) {
    if (!provider.capabilities.labels) continue;
    let machines;
    try {
      machines = await provider.list({ [LABEL.marker]: 'true', [LABEL.installation]: labelValue(config.installation) });
    } catch (error) {
      await audit(store, { type: 'provider.error', at: clock.now(), actor: 'sweeper', data: { op: 'list', provider: provider.name, error: redact(String(error)).slice(0, 300) } });
      continue;
    }
    for (const machine of machines) {
      const leaseId = parseLeaseLabels(machine.labels)?.id;
      const lease = leaseId ? ((await store.getLease(leaseId)) ?? (await store.getLeaseByProviderId(provider.name, machine.providerId))) : undefined;
      const skip = async (reason: string): Promise<void> => {
        stats.orphansSkipped++;
        await audit(store, { type: 'machine.sweep_skipped', at: clock.now(), actor: 'sweeper', lease, providerId: machine.providerId, data: { provider: provider.name, reason, leaseId } });
      };
      if (lease && (isLive(lease.state) || lease.cleanup.state === 'pending')) {
        await skip(isLive(lease.state) ? 'live' : 'cleanup-queued');
        continue;
      }
      const known = new Map(lease && leaseId ? [[leaseId, lease]] : []);
      const decision = decideOrphan(machine, { installation: config.installation, now: clock.now(), unknownSafetyWindowSeconds: config.orphanSafetyWindowSeconds }, known);
      if (decision.action === 'skip') {
        await skip(decision.reason);
        continue;
      }
      try {
        const result = await provider.delete(machine.providerId);
        stats.orphansDeleted++;
        await audit(store, { type: 'machine.deleted', at: clock.now(), actor: 'sweeper', lease, providerId: machine.providerId, data: { reason: `orphan:${decision.reason}`, result, leaseId } });
      } catch (error) {
        await audit(store, { type: 'provider.error', at: clock.now(), actor: 'sweeper', lease, providerId: machine.providerId, data: { op: 'delete-orphan', error: redact(String(error)).slice(0, 300) } });
      }
    }
    await sweepDangling(deps, provider, stats);
  }
}

/** Per-lease objects (keys, firewalls) a crash stranded without their machine; every deletion and skip is audited. */
async function sweepDangling(deps: CoordinatorDeps, provider: Provider, stats: SweepStats): Promise<void> {
  const { store, clock, config } = deps;
  if (!provider.capabilities.danglingObjects || !provider.sweepDangling) return;
  let report;
  try {
    report = await provider.sweepDangling({ installation: config.installation, minAgeMs: config.orphanSafetyWindowSeconds * 1000 });
  } catch (error) {
    await audit(store, { type: 'provider.error', at: clock.now(), actor: 'sweeper', data: { op: 'sweep-dangling', provider: provider.name, error: redact(String(error)).slice(0, 300) } });
    return;
  }
  for (const [type, items] of [['machine.deleted', report.deleted], ['machine.sweep_skipped', report.skipped]] as const) {
    for (const item of items) {
      await audit(store, { type, at: clock.now(), actor: 'sweeper', data: { provider: provider.name, object: item.kind, name: item.name, leaseId: item.leaseId, reason: `dangling:${item.reason}` } });
    }
  }
  stats.danglingDeleted += report.deleted.length;
}

import { LABEL, labelValue, parseLeaseLabels } from '../domain/labels.ts';
import { hardDeadline, isLive } from '../domain/lease.ts';
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
  const stats: SweepStats = { expired: 0, failedProvisioning: 0, deleted: 0, deleteFailures: 0, orphansDeleted: 0, orphansSkipped: 0, pruned: { runs: 0, events: 0, leases: 0 } };

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
 * Lists every labelled provider for this installation's machines and deletes those no live lease needs: the lease is
 * terminal, or unknown and the machine is older than the safety window. Kept machines wait, but never past their TTL cap.
 */
async function sweepOrphans(deps: CoordinatorDeps, stats: SweepStats): Promise<void> {
  const { store, clock, config } = deps;
  const installation = labelValue(config.installation);
  for (const provider of Object.values(deps.providers)) {
    if (!provider.capabilities.labels) continue;
    let machines;
    try {
      machines = await provider.list({ [LABEL.marker]: 'true', [LABEL.installation]: installation });
    } catch (error) {
      await audit(store, { type: 'provider.error', at: clock.now(), actor: 'sweeper', data: { op: 'list', provider: provider.name, error: redact(String(error)).slice(0, 300) } });
      continue;
    }
    for (const machine of machines) {
      const labels = parseLeaseLabels(machine.labels);
      // Only machines whose labels fully prove this installation made them are ever touched.
      if (!labels || labels.installation !== installation) continue;
      const now = clock.now();
      const lease = (await store.getLease(labels.id)) ?? (await store.getLeaseByProviderId(provider.name, machine.providerId));
      let reason: string | undefined;
      if (lease) {
        if (isLive(lease.state)) {
          stats.orphansSkipped++;
          continue;
        }
        if (lease.cleanup.state === 'pending') continue; // the queue owns it
        reason = 'lease-ended';
      } else {
        const age = now - labels.createdAt;
        const pastCap = now >= hardDeadline(labels);
        if (age < config.orphanSafetyWindowSeconds * 1000 || (labels.keep && !pastCap)) {
          stats.orphansSkipped++;
          continue;
        }
        reason = 'unknown-lease';
      }
      try {
        const result = await provider.delete(machine.providerId);
        stats.orphansDeleted++;
        await audit(store, { type: 'machine.deleted', at: clock.now(), actor: 'sweeper', owner: lease?.owner, org: lease?.org, lease, providerId: machine.providerId, data: { reason: `orphan:${reason}`, result, leaseId: labels.id } });
      } catch (error) {
        await audit(store, { type: 'provider.error', at: clock.now(), actor: 'sweeper', lease, providerId: machine.providerId, data: { op: 'delete-orphan', error: redact(String(error)).slice(0, 300) } });
      }
    }
  }
}

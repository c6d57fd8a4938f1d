import type { Provider } from '../providers/provider.ts';
import { LABEL } from '../domain/labels.ts';
import { decideOrphan, type KnownLease, type OrphanDecision, type OrphanPolicy } from './orphans.ts';

/** One audit event per candidate: every deletion and every skip carries its reason. */
export interface SweepEvent {
  type: 'machine.deleted' | 'machine.sweep_skipped' | 'provider.error';
  provider: string;
  providerId: string;
  leaseId?: string | undefined;
  reason: string;
}

export interface SweepResult {
  deleted: OrphanDecision[];
  skipped: OrphanDecision[];
  failed: (OrphanDecision & { error: string })[];
}

/**
 * Lists a provider's Crabbox-labelled machines and deletes the orphans `decideOrphan` allows.
 * A failed delete is reported and left for the next sweep; it never stops the others.
 */
export async function sweepOrphans(options: {
  provider: Provider;
  policy: OrphanPolicy;
  /** The lease store's view (coordinator); omit in direct mode, where labels are the record. */
  leases?: ReadonlyMap<string, KnownLease> | undefined;
  onEvent?: ((event: SweepEvent) => void) | undefined;
}): Promise<SweepResult> {
  const { provider, policy } = options;
  const emit = options.onEvent ?? (() => undefined);
  const result: SweepResult = { deleted: [], skipped: [], failed: [] };
  for (const machine of await provider.list({ [LABEL.marker]: 'true' })) {
    const decision = decideOrphan(machine, policy, options.leases);
    const ids = { provider: provider.name, providerId: decision.providerId, leaseId: decision.leaseId };
    if (decision.action === 'skip') {
      result.skipped.push(decision);
      emit({ type: 'machine.sweep_skipped', ...ids, reason: decision.reason });
      continue;
    }
    try {
      const outcome = await provider.delete(decision.providerId);
      result.deleted.push(decision);
      emit({ type: 'machine.deleted', ...ids, reason: outcome === 'already-gone' ? `${decision.reason} (already gone)` : decision.reason });
    } catch (error) {
      const message = (error as Error).message;
      result.failed.push({ ...decision, error: message });
      emit({ type: 'provider.error', ...ids, reason: `sweep delete failed (${decision.reason}): ${message}` });
    }
  }
  return result;
}

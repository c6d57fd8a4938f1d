import { CrabboxError } from '../domain/errors.ts';
import type { LeaseStore, MachineStore } from '../storage/store.ts';
import type { CapSet, CoordinatorConfig } from './config.ts';
import { monthWindow } from './pricing.ts';

type Scope = 'global' | 'owner' | 'org';

function scopes(caps: CapSet, owner: string, org: string): { scope: Scope; limit: number; filter: { owner?: string; org?: string } }[] {
  const out: { scope: Scope; limit: number; filter: { owner?: string; org?: string } }[] = [];
  if (caps.global !== undefined) out.push({ scope: 'global', limit: caps.global, filter: {} });
  if (caps.owner !== undefined) out.push({ scope: 'owner', limit: caps.owner, filter: { owner } });
  if (caps.org !== undefined) out.push({ scope: 'org', limit: caps.org, filter: { org } });
  return out;
}

/**
 * Throws cap_reached (429, naming the cap) when the live leases or this month's reserved spend (counting leases still
 * live from earlier months) are over a configured cap. Called after the insert, inside the same serialized transaction,
 * so concurrent creates cannot both pass; `leases: false` checks spend only (heartbeat extensions).
 */
export async function checkCaps(store: LeaseStore & Pick<MachineStore, 'machineReservedSpend'>, config: CoordinatorConfig, input: { owner: string; org: string; now: number; leases: boolean }): Promise<void> {
  if (input.leases) {
    for (const { scope, limit, filter } of scopes(config.caps.activeLeases, input.owner, input.org)) {
      const live = await store.countLiveLeases(filter);
      if (live > limit) {
        throw new CrabboxError('cap_reached', `the ${scope} cap on active leases (${limit}) is reached`, { hint: 'release a lease (`crabbox release`) or ask an admin to raise the cap', detail: { cap: `activeLeases.${scope}`, limit, current: live - 1 } });
      }
    }
  }
  const window = monthWindow(input.now);
  for (const { scope, limit, filter } of scopes(config.caps.monthlySpend, input.owner, input.org)) {
    // Warm pool machines reserve spend too, but belong to no owner: they count against the global cap only.
    const pooled = scope === 'global' && config.pools.length > 0 ? await store.machineReservedSpend({ from: window.from, to: window.to }) : 0;
    const spent = (await store.reservedSpend({ ...filter, from: window.from, to: window.to })) + pooled;
    if (spent > limit + 1e-9) {
      throw new CrabboxError('cap_reached', `the ${scope} monthly spend cap ($${limit}) would be exceeded (reserved $${spent.toFixed(2)} this month)`, {
        hint: 'use a shorter --ttl, release leases, or ask an admin to raise the cap',
        detail: { cap: `monthlySpend.${scope}`, limit, current: spent },
      });
    }
  }
}

import type { LeaseStore, OwnerScope } from '../storage/store.ts';

const DAY_MS = 86_400_000;

export interface DayUsage {
  /** YYYY-MM-DD (UTC). */
  day: string;
  hours: number;
  estimatedCost: number;
}

/**
 * A month's usage day by day, through the same usage query as the API (each lease's time clipped to each day), up to
 * today: one query per day, at most 31.
 */
export async function usageByDay(store: LeaseStore, scope: OwnerScope & { from: number; to: number; now: number }): Promise<DayUsage[]> {
  const days: DayUsage[] = [];
  for (let from = scope.from; from < scope.to && from <= scope.now; from += DAY_MS) {
    const rows = await store.usage({ owner: scope.owner, org: scope.org, from, to: Math.min(from + DAY_MS, scope.to), now: scope.now });
    days.push({
      day: new Date(from).toISOString().slice(0, 10),
      hours: rows.reduce((sum, r) => sum + r.seconds, 0) / 3600,
      estimatedCost: rows.reduce((sum, r) => sum + r.estimatedCost, 0),
    });
  }
  return days;
}

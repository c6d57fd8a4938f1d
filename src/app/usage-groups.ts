import type { UsageAnswer } from '../api/answers.ts';
import type { UsageJson } from '../api/shapes-team.ts';

/** Grouping the coordinator's usage rows, shared by `crabbox usage` and the dashboard (no Node imports here). */

export const USAGE_GROUPS = ['owner', 'org', 'provider', 'type'] as const;
export type UsageGroup = (typeof USAGE_GROUPS)[number];
export const OWNER_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._@+-]{0,199}$/;

type Row = UsageJson['rows'][number];

const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);

/** Sums the coordinator's usage rows by one column. */
export function groupUsage(rows: UsageAnswer['usage'], by: UsageGroup): Row[] {
  const out = new Map<string, Row>();
  for (const r of rows) {
    const key = typeof r[by] === 'string' && r[by] !== '' ? (r[by] as string) : '-';
    const row = out.get(key) ?? { key, leases: 0, hours: 0, reservedCost: 0, estimatedCost: 0 };
    row.leases += num(r.leases);
    row.hours += num(r.seconds) / 3600;
    row.reservedCost += num(r.reservedCost);
    row.estimatedCost += num(r.estimatedCost);
    out.set(key, row);
  }
  return [...out.values()].sort((a, b) => b.estimatedCost - a.estimatedCost || a.key.localeCompare(b.key));
}

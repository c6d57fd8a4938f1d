import type { FleetEvent } from '../../storage/store.ts';
import type { CoordinatorDeps } from '../deps.ts';
import { planPool } from './plan.ts';
import { poolSnapshot } from './reconcile.ts';

/** One pool as `GET /v1/pool` shows it to maintainers. Times are ISO 8601. */
export interface PoolStatusView {
  name: string;
  provider: string;
  class?: string | undefined;
  type?: string | undefined;
  min: number;
  max: number;
  users: boolean;
  reuse: boolean;
  onEmpty: string;
  machines: { idle: number; assigned: number; provisioning: number; scrubbing: number; draining: number; deleting: number };
  /** Claims of the last hour that got a pool machine, and how long they took until the lease was active. */
  claims: { lastHour: number; p50Ms?: number | undefined; p95Ms?: number | undefined; maxMs?: number | undefined };
  /** Claims of the last hour that found no idle machine. */
  emptyLastHour: number;
  refillFailuresLastHour: number;
  /** Refills wait until then after failures (provider errors). */
  backoffUntil?: string | undefined;
  /** Why the pool cannot grow to `min` right now: `max`, `budget`, `spend-cap`, or `draining` (an admin drained it). */
  blocked?: string | undefined;
}

const HOUR = 3_600_000;

function percentile(sorted: number[], p: number): number | undefined {
  if (sorted.length === 0) return undefined;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/** Every configured pool: machines by state, the last hour's claims and their latency, refill trouble. */
export async function poolStatus(deps: CoordinatorDeps): Promise<PoolStatusView[]> {
  const { store, clock, config } = deps;
  const now = clock.now();
  const recent = async (type: string): Promise<FleetEvent[]> => (await store.listEvents({ type, limit: 500 })).items.filter((e) => now - e.at < HOUR);
  const [assigned, empty, failed] = await Promise.all([recent('machine.assigned'), recent('pool.empty'), recent('pool.refill.failed')]);
  const out: PoolStatusView[] = [];
  for (const pool of config.pools) {
    const snapshot = await poolSnapshot(deps, pool);
    const count = (state: string): number => snapshot.machines.filter((m) => m.state === state).length;
    const latencies = assigned.filter((e) => e.data?.pool === pool.name && typeof e.data.claimMs === 'number').map((e) => e.data!.claimMs as number).sort((a, b) => a - b);
    const plan = planPool(snapshot, now);
    const backoff = plan.find((a) => a.kind === 'backoff');
    const blocked = plan.find((a) => a.kind === 'blocked');
    out.push({
      name: pool.name, provider: pool.provider, class: pool.class, type: pool.type, min: pool.min, max: pool.max, users: pool.users, reuse: pool.reuse, onEmpty: pool.onEmpty,
      machines: { idle: count('idle'), assigned: count('assigned'), provisioning: count('provisioning'), scrubbing: count('scrubbing'), draining: count('draining'), deleting: count('deleting') },
      claims: { lastHour: latencies.length, p50Ms: percentile(latencies, 50), p95Ms: percentile(latencies, 95), maxMs: latencies.at(-1) },
      emptyLastHour: empty.filter((e) => e.data?.pool === pool.name).length,
      refillFailuresLastHour: failed.filter((e) => e.data?.pool === pool.name).length,
      ...(backoff?.kind === 'backoff' ? { backoffUntil: new Date(backoff.until).toISOString() } : {}),
      ...(blocked?.kind === 'blocked' ? { blocked: blocked.reason } : {}),
    });
  }
  return out;
}

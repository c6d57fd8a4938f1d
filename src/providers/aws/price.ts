import { DescribeSpotPriceHistoryCommand, type EC2Client, type _InstanceType } from '@aws-sdk/client-ec2';
import type { Clock } from '../../domain/clock.ts';
import { withRetry, type RetryPolicy } from './retry.ts';

/**
 * Approximate Linux on-demand list prices (USD/hour, us-east-1) for the types Crabbox suggests. Used for the
 * on-demand market and whenever the live Spot price is unavailable; a cost estimate, not a bill.
 */
export const ON_DEMAND_USD_PER_HOUR: Readonly<Record<string, number>> = {
  't3.micro': 0.0104,
  't3.small': 0.0208,
  't3.medium': 0.0416,
  't3.large': 0.0832,
  'c6i.xlarge': 0.17,
  'c6i.2xlarge': 0.34,
  'c6i.4xlarge': 0.68,
  'c6a.2xlarge': 0.306,
  'c6a.4xlarge': 0.612,
  'c7i.large': 0.08925,
  'c7i.xlarge': 0.1785,
  'c7i.2xlarge': 0.357,
  'c7i.4xlarge': 0.714,
  'c7i.8xlarge': 1.428,
  'c7a.large': 0.10264,
  'c7a.xlarge': 0.20528,
  'c7a.2xlarge': 0.41056,
  'c7a.4xlarge': 0.82112,
  'c7a.8xlarge': 1.64224,
  'c7a.16xlarge': 3.28448,
  'c7g.xlarge': 0.145,
  'c7g.2xlarge': 0.29,
  'c7g.4xlarge': 0.58,
  'm7i.xlarge': 0.2016,
  'm7i.2xlarge': 0.4032,
  'm7i.4xlarge': 0.8064,
};

export interface PriceDeps {
  ec2: EC2Client;
  retry: RetryPolicy;
  clock: Clock;
}

const CACHE_MS = 10 * 60_000;

/** Hourly price per type: the highest current Spot price across the region's zones, else the static table. */
export class PriceBook {
  readonly #deps: PriceDeps;
  readonly #cache = new Map<string, { at: number; usd: number | undefined }>();

  constructor(deps: PriceDeps) {
    this.#deps = deps;
  }

  async hourly(type: string, market: 'spot' | 'on-demand'): Promise<number | undefined> {
    const fallback = ON_DEMAND_USD_PER_HOUR[type];
    if (market === 'on-demand') return fallback;
    const now = this.#deps.clock.now();
    const cached = this.#cache.get(type);
    if (cached && now - cached.at < CACHE_MS) return cached.usd ?? fallback;
    let usd: number | undefined;
    try {
      const out = await withRetry(this.#deps.retry, () =>
        this.#deps.ec2.send(new DescribeSpotPriceHistoryCommand({ InstanceTypes: [type as _InstanceType], ProductDescriptions: ['Linux/UNIX'], StartTime: new Date(now), MaxResults: 100 })),
      );
      const latest = new Map<string, { t: number; p: number }>();
      for (const entry of out.SpotPriceHistory ?? []) {
        const p = Number(entry.SpotPrice);
        const t = entry.Timestamp?.getTime() ?? 0;
        const zone = entry.AvailabilityZone ?? '';
        if (!Number.isFinite(p) || p <= 0) continue;
        if ((latest.get(zone)?.t ?? -1) < t) latest.set(zone, { t, p });
      }
      if (latest.size > 0) usd = Math.max(...[...latest.values()].map((v) => v.p));
    } catch {
      usd = undefined; // a price is an estimate: never fail a lease over it
    }
    this.#cache.set(type, { at: now, usd });
    return usd ?? fallback;
  }
}

import type { Provider } from '../providers/provider.ts';
import type { CoordinatorConfig } from './config.ts';

/** USD per hour for a machine: the config's override table, then the provider's own price, then the fallback. */
export async function hourlyPrice(config: CoordinatorConfig, provider: Provider, type: string | undefined): Promise<number> {
  const override = (type !== undefined ? config.prices[`${provider.name}/${type}`] : undefined) ?? config.prices[provider.name];
  if (override !== undefined) return override;
  try {
    const price = await provider.hourlyPrice(type);
    if (price !== undefined && Number.isFinite(price) && price >= 0) return price;
  } catch {
    // A price lookup failure must not block a lease; the fallback is deliberately not zero.
  }
  return config.fallbackHourlyPrice;
}

/** What a lease may cost at most: hourly price x TTL. */
export function reservedCost(hourly: number, ttlSeconds: number): number {
  return Math.round(hourly * (ttlSeconds / 3600) * 10_000) / 10_000;
}

/** [start, end) of the UTC month containing `at`, or of `month` (YYYY-MM). */
export function monthWindow(at: number, month?: string): { from: number; to: number; month: string } {
  const d = new Date(at);
  const [year, index] = month ? [Number(month.slice(0, 4)), Number(month.slice(5, 7)) - 1] : [d.getUTCFullYear(), d.getUTCMonth()];
  // Date.UTC reads years 0-99 as 1900-1999; setUTCFullYear takes the year as written.
  const from = new Date(0).setUTCFullYear(year, index, 1);
  const to = new Date(0).setUTCFullYear(year, index + 1, 1);
  return { from, to, month: new Date(from).toISOString().slice(0, 7) };
}

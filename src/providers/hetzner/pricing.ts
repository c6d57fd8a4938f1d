import type { HServerType } from './api.ts';
import type { HetznerClient } from './client.ts';

/** Default EUR→USD rate when config `hetzner.eurToUsd` is not set. */
export const DEFAULT_EUR_TO_USD = 1.08;

/** USD per hour for a server type: the location's gross price (net when gross is missing), converted and rounded to cents. */
export function hourlyUsd(serverType: HServerType, location: string | undefined, eurToUsd: number): number | undefined {
  const price = serverType.prices.find((p) => p.location === location) ?? serverType.prices[0];
  if (!price) return undefined;
  const eur = Number.parseFloat(price.price_hourly.gross || price.price_hourly.net);
  if (!Number.isFinite(eur) || eur <= 0) return undefined;
  return Math.round(eur * eurToUsd * 100) / 100;
}

/** Reads a server type's price from `/server_types?name=`; undefined when the type is unknown. */
export async function fetchHourlyUsd(client: HetznerClient, options: { type: string; location?: string | undefined; eurToUsd: number }): Promise<number | undefined> {
  const body = await client.request<{ server_types: HServerType[] }>('GET', '/server_types', { query: { name: options.type } });
  const serverType = body.server_types.find((t) => t.name === options.type);
  return serverType ? hourlyUsd(serverType, options.location, options.eurToUsd) : undefined;
}

import { Hono } from 'hono';
import { ENDPOINTS } from '../../api/endpoints.ts';
import type { LeaseStore } from '../../storage/store.ts';
import type { CapSet, CoordinatorConfig } from '../config.ts';
import type { AppEnv } from '../env.ts';
import { monthWindow } from '../pricing.ts';
import { serveEndpoint, type EndpointHandler } from '../serve-endpoint.ts';

/** Caps that apply to an owner/org, each with its current value. */
export async function capStatus(store: LeaseStore, config: CoordinatorConfig, scope: { owner: string; org: string }, window: { from: number; to: number }) {
  const entries = async (caps: CapSet, current: (filter: { owner?: string; org?: string }) => Promise<number>) => {
    const out: Record<string, { limit: number; current: number }> = {};
    if (caps.global !== undefined) out.global = { limit: caps.global, current: await current({}) };
    if (caps.owner !== undefined) out.owner = { limit: caps.owner, current: await current({ owner: scope.owner }) };
    if (caps.org !== undefined) out.org = { limit: caps.org, current: await current({ org: scope.org }) };
    return out;
  };
  return {
    activeLeases: await entries(config.caps.activeLeases, (f) => store.countLiveLeases(f)),
    monthlySpend: await entries(config.caps.monthlySpend, (f) => store.reservedSpend({ ...f, ...window })),
  };
}

/** The caller's own usage for a month, by org/provider/type, with the caps that apply to them. */
export const ownUsage: EndpointHandler<typeof ENDPOINTS.usage> = async (c, { query: q }) => {
  const { store, clock, config } = c.var.deps;
  const { owner, org } = c.var.identity;
  const window = monthWindow(clock.now(), q.month);
  const rows = await store.usage({ owner, from: window.from, to: window.to, now: clock.now() });
  return { month: window.month, owner, usage: rows as unknown as Record<string, unknown>[], caps: await capStatus(store, config, { owner, org }, window) };
};

export function usageRoutes(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  serveEndpoint(app, '/v1/usage', ENDPOINTS.usage, ownUsage);
  return app;
}

import { Hono } from 'hono';
import type { AppEnv } from '../env.ts';
import { DRAINING_META } from '../leases.ts';

/** Whether the store answers, and how fast; never throws. */
async function storeCheck(c: { var: AppEnv['Variables'] }): Promise<{ ok: boolean; ms: number }> {
  const { store, clock } = c.var.deps;
  const started = clock.now();
  try {
    await store.ping();
    return { ok: true, ms: clock.now() - started };
  } catch {
    return { ok: false, ms: clock.now() - started };
  }
}

/**
 * Public probes for load balancers and orchestrators (no token, outside the Access gate): liveness says only that the
 * process answers; readiness says only ok or not (200 / 503), never why.
 */
export function healthRoutes(): Hono<AppEnv> {
  return new Hono<AppEnv>()
    .get('/health', (c) => c.json({ ok: true }))
    .get('/ready', async (c) => {
      const { ok } = await storeCheck(c);
      return c.json({ ok }, ok ? 200 : 503);
    });
}

/** Detailed readiness (authenticated): each check with its result, and whether the coordinator is draining. */
export function readyRoutes(): Hono<AppEnv> {
  return new Hono<AppEnv>().get('/ready/detail', async (c) => {
    const store = await storeCheck(c);
    const draining = store.ok ? (await c.var.deps.store.getMeta(DRAINING_META).catch(() => undefined)) === '1' : undefined;
    return c.json({ ok: store.ok, checks: { store }, draining: draining ?? null, installation: c.var.deps.config.installation }, store.ok ? 200 : 503);
  });
}

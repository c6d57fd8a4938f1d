import { Hono } from 'hono';
import { CrabboxError } from '../../domain/errors.ts';
import type { AppEnv } from '../env.ts';

/** Public liveness: says only that the process answers. */
export function healthRoutes(): Hono<AppEnv> {
  return new Hono<AppEnv>().get('/health', (c) => c.json({ ok: true }));
}

/** Readiness (authenticated): the store answers. */
export function readyRoutes(): Hono<AppEnv> {
  return new Hono<AppEnv>().get('/ready', async (c) => {
    try {
      await c.var.deps.store.ping();
    } catch {
      throw new CrabboxError('unavailable', 'the store is not answering');
    }
    return c.json({ ok: true });
  });
}

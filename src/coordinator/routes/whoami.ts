import { Hono } from 'hono';
import type { AppEnv } from '../env.ts';

/** Who the coordinator thinks the caller is. */
export function whoamiRoutes(): Hono<AppEnv> {
  return new Hono<AppEnv>().get('/whoami', (c) => {
    const { owner, org, login, role, via, expiresAt } = c.var.identity;
    return c.json({ owner, org, login, role, via, expiresAt, access: c.var.accessIdentity });
  });
}

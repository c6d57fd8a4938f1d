import { Hono } from 'hono';
import { poolQuery } from '../../api/schemas.ts';
import type { AppEnv } from '../env.ts';
import { requireRole } from '../middleware/auth.ts';
import { poolStatus } from '../pool/status.ts';
import { query } from '../validate.ts';

/** The warm pools (maintainers and admins): machines by state per pool, the last hour's claims and their latency. */
export function poolRoutes(): Hono<AppEnv> {
  return new Hono<AppEnv>().get('/', requireRole('maintainer'), async (c) => {
    query(c, poolQuery);
    return c.json({ pools: await poolStatus(c.var.deps) });
  });
}

import { Hono } from 'hono';
import { listLeasesQuery } from '../../api/schemas.ts';
import type { AppEnv } from '../env.ts';
import { leaseView } from '../leases.ts';
import { requireRole } from '../middleware/auth.ts';
import { query } from '../validate.ts';
import { statesFor } from './leases.ts';

/** Pool membership only: who holds which box until when; no connection details. */
const poolView = (lease: Parameters<typeof leaseView>[0]) => {
  const { machine: _machine, ...rest } = leaseView(lease);
  return rest;
};

/** The shared pool (maintainers and admins): everyone's live leases, newest first. */
export function poolRoutes(): Hono<AppEnv> {
  return new Hono<AppEnv>().get('/', requireRole('maintainer'), async (c) => {
    const q = query(c, listLeasesQuery);
    const page = await c.var.deps.store.listLeases({ states: statesFor(q.state), cursor: q.cursor, limit: q.limit });
    return c.json({ leases: page.items.map(poolView), nextCursor: page.nextCursor });
  });
}

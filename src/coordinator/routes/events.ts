import { Hono } from 'hono';
import { listEventsQuery } from '../../api/schemas.ts';
import type { FleetEvent } from '../../storage/store.ts';
import type { AppEnv } from '../env.ts';
import { query } from '../validate.ts';

export const eventView = (e: FleetEvent) => ({ ...e, at: new Date(e.at).toISOString() });

/** The caller's own audit trail, newest first. */
export function eventRoutes(): Hono<AppEnv> {
  return new Hono<AppEnv>().get('/', async (c) => {
    const q = query(c, listEventsQuery);
    const page = await c.var.deps.store.listEvents({ owner: c.var.identity.owner, leaseId: q.leaseId, type: q.type, cursor: q.cursor, limit: q.limit });
    return c.json({ events: page.items.map(eventView), nextCursor: page.nextCursor });
  });
}

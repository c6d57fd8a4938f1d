import { Hono } from 'hono';
import { ENDPOINTS } from '../../api/endpoints.ts';
import type { FleetEvent } from '../../storage/store.ts';
import type { AppEnv } from '../env.ts';
import { serveEndpoint } from '../serve-endpoint.ts';

export const eventView = (e: FleetEvent) => ({ ...e, at: new Date(e.at).toISOString() });

/** The caller's own audit trail, newest first. */
export function eventRoutes(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  serveEndpoint(app, '/v1/events', ENDPOINTS.events, async (c, { query: q }) => {
    const page = await c.var.deps.store.listEvents({ owner: c.var.identity.owner, leaseId: q.leaseId, type: q.type, cursor: q.cursor, limit: q.limit });
    return { events: page.items.map(eventView), nextCursor: page.nextCursor };
  });
  return app;
}

import { Hono } from 'hono';
import { ENDPOINTS } from '../../api/endpoints.ts';
import type { FleetEvent } from '../../storage/store.ts';
import type { AppEnv } from '../env.ts';
import { serveEndpoint, type EndpointHandler } from '../serve-endpoint.ts';
import { isoTime } from '../iso.ts';

/** An ISO 8601 time of a query as epoch ms. */
export const ms = (iso: string | undefined): number | undefined => (iso === undefined ? undefined : Date.parse(iso));

export const eventView = (e: FleetEvent) => ({ ...e, at: isoTime(e.at) });

/** The caller's own audit trail, newest first. */
export const ownEvents: EndpointHandler<typeof ENDPOINTS.events> = async (c, { query: q }) => {
  const page = await c.var.deps.store.listEvents({ owner: c.var.identity.owner, leaseId: q.leaseId, type: q.type, since: ms(q.since), until: ms(q.until), cursor: q.cursor, limit: q.limit });
  return { events: page.items.map(eventView), nextCursor: page.nextCursor };
};

export function eventRoutes(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  serveEndpoint(app, '/v1/events', ENDPOINTS.events, ownEvents);
  return app;
}

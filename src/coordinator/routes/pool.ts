import { Hono } from 'hono';
import { ENDPOINTS } from '../../api/endpoints.ts';
import type { AppEnv } from '../env.ts';
import { leaseView } from '../leases.ts';
import { requireRole } from '../middleware/auth.ts';
import { serveEndpoint, type EndpointHandler } from '../serve-endpoint.ts';
import { statesFor } from './leases.ts';

/** Pool membership only: who holds which box until when; no connection details. */
const poolView = (lease: Parameters<typeof leaseView>[0]) => {
  const { machine: _machine, ...rest } = leaseView(lease);
  return rest;
};

/** The shared pool (maintainers and admins, behind requireRole): everyone's live leases, newest first. */
export const poolLeases: EndpointHandler<typeof ENDPOINTS.pool> = async (c, { query: q }) => {
  const page = await c.var.deps.store.listLeases({ states: statesFor(q.state), cursor: q.cursor, limit: q.limit });
  return { leases: page.items.map(poolView), nextCursor: page.nextCursor };
};

export function poolRoutes(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  serveEndpoint(app, '/v1/pool', ENDPOINTS.pool, requireRole('maintainer'), poolLeases);
  return app;
}

import { Hono } from 'hono';
import { ENDPOINTS } from '../../api/endpoints.ts';
import type { AppEnv } from '../env.ts';
import { requireRole } from '../middleware/auth.ts';
import { poolStatus } from '../pool/status.ts';
import { serveEndpoint, type EndpointHandler } from '../serve-endpoint.ts';

/** The warm pools (maintainers and admins, behind requireRole): machines by state per pool, the last hour's claims and their latency. */
export const poolView: EndpointHandler<typeof ENDPOINTS.pool> = async (c) => ({ pools: await poolStatus(c.var.deps) });

export function poolRoutes(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  serveEndpoint(app, '/v1/pool', ENDPOINTS.pool, requireRole('maintainer'), poolView);
  return app;
}

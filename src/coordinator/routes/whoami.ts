import { Hono } from 'hono';
import { ENDPOINTS } from '../../api/endpoints.ts';
import type { AppEnv } from '../env.ts';
import { serveEndpoint } from '../serve-endpoint.ts';

/** Who the coordinator thinks the caller is. */
export function whoamiRoutes(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  serveEndpoint(app, '/v1', ENDPOINTS.whoami, (c) => {
    const { owner, org, login, role, via, expiresAt } = c.var.identity;
    return { owner, org, login, role, via, expiresAt, access: c.var.accessIdentity };
  });
  return app;
}

import { Hono } from 'hono';
import { ENDPOINTS } from '../../api/endpoints.ts';
import { CrabboxError } from '../../domain/errors.ts';
import type { AppEnv } from '../env.ts';
import { isoTime } from '../iso.ts';
import { serveEndpoint } from '../serve-endpoint.ts';

/** Who the coordinator thinks the caller is. */
export function whoamiRoutes(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  serveEndpoint(app, '/v1', ENDPOINTS.whoami, (c) => {
    const { owner, org, login, role, via, expiresAt } = c.var.identity;
    // The API authenticates bearer tokens only; a browser session never reaches a /v1 route.
    if (via === 'browser-session') throw new CrabboxError('unauthorized', 'a bearer token is required');
    return { owner, org, login, role, via, expiresAt: expiresAt === undefined ? undefined : isoTime(expiresAt), access: c.var.accessIdentity };
  });
  return app;
}

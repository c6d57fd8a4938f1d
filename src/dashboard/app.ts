import { Hono, type MiddlewareHandler } from 'hono';
import type { Logger } from '../coordinator/deps.ts';
import type { AppEnv } from '../coordinator/env.ts';
import { accessGate } from '../coordinator/middleware/access.ts';
import { requireRole } from '../coordinator/middleware/auth.ts';
import { loadLease } from '../coordinator/middleware/load-lease.ts';
import { ASSET_CACHE, ASSETS } from './assets/index.ts';
import { sameOrigin, securityHeaders, sessionToken, signedIn } from './middleware.ts';
import { auditPage } from './pages/audit.ts';
import { errorResponse } from './pages/errors.ts';
import { leasePage } from './pages/lease.ts';
import { loginAction, loginPage } from './pages/login.ts';
import { drainAction, drainConfirmPage, machinesPage, undrainAction } from './pages/machines.ts';
import { mineFragment, minePage, releaseAction } from './pages/mine.ts';
import { poolPage } from './pages/pool.ts';
import { runFragment, runPage, runsPage } from './pages/run.ts';
import { revokeAction, logoutAction, sessionsPage } from './pages/sessions.ts';
import { usagePage } from './pages/usage.ts';

/**
 * The dashboard: server-rendered pages over the API's own handlers, mounted at / beside /v1 by createApp. Every route
 * is registered here with its whole chain, so what a route requires is written on the route: the security headers and
 * the Access gate on all of them, then either the sign-in routes (CSRF layer one only: there is no session yet) or a
 * session, both CSRF layers, and the role or lease check the matching API route has. There is no list of routes that
 * skip login; routes.test.ts walks the table to keep it so.
 */
export function dashboardApp(logger: Logger): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.onError((error, c) => errorResponse(c, error, (message) => logger.error('dashboard request failed', { method: c.req.method, path: c.req.path, error: message })));

  type H = MiddlewareHandler<AppEnv>;
  const on = app.on.bind(app) as unknown as (method: string, path: string, ...handlers: H[]) => void;
  const open: H[] = [securityHeaders(), accessGate(), sameOrigin()];
  const session: H[] = [...open, signedIn(), sessionToken()];
  const get = (path: string, ...handlers: H[]) => on('GET', path, ...session, ...handlers);
  const post = (path: string, ...handlers: H[]) => on('POST', path, ...session, ...handlers);

  for (const asset of Object.values(ASSETS)) {
    app.get(asset.path, (c) => c.body(asset.body, 200, { 'Content-Type': asset.type, 'Cache-Control': ASSET_CACHE, 'X-Content-Type-Options': 'nosniff' }));
  }

  on('GET', '/login', ...open, loginPage);
  on('POST', '/login', ...open, loginAction);
  post('/logout', logoutAction);

  get('/', minePage);
  get('/live/mine', mineFragment);
  get('/leases/:ref', loadLease(), leasePage);
  post('/leases/:ref/release', loadLease(), releaseAction);
  get('/runs', runsPage);
  get('/runs/:id', runPage);
  get('/live/runs/:id', runFragment);
  get('/usage', usagePage);
  get('/audit', auditPage);
  get('/sessions', sessionsPage);
  post('/sessions/:id/revoke', revokeAction);
  get('/pool', requireRole('maintainer'), poolPage);
  get('/machines', requireRole('admin'), machinesPage);
  get('/machines/:id/drain', requireRole('admin'), drainConfirmPage);
  post('/machines/:id/drain', requireRole('admin'), drainAction);
  post('/machines/:id/undrain', requireRole('admin'), undrainAction);
  return app;
}

import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { methodNotAllowed } from 'hono/method-not-allowed';
import { dashboardApp } from '../dashboard/app.ts';
import { notFoundPage } from '../dashboard/pages/not-found.ts';
import { CrabboxError, isCrabboxError } from '../domain/errors.ts';
import { diskFull } from '../storage/full.ts';
import { newAppState } from './app-state.ts';
import { silentLogger, type CoordinatorDeps } from './deps.ts';
import type { AppEnv } from './env.ts';
import { accessGate } from './middleware/access.ts';
import { authenticate } from './middleware/auth.ts';
import { adminRoutes } from './routes/admin.ts';
import { eventRoutes } from './routes/events.ts';
import { healthRoutes, readyRoutes } from './routes/health.ts';
import { leaseRoutes } from './routes/leases.ts';
import { loginRoutes } from './routes/login.ts';
import { poolRoutes } from './routes/pool.ts';
import { runRoutes } from './routes/runs.ts';
import { usageRoutes } from './routes/usage.ts';
import { whoamiRoutes } from './routes/whoami.ts';
import { scrub } from './redaction.ts';

/** Largest request body accepted (a finished run with its log tail and JUnit summary fits well inside). */
export const MAX_BODY_BYTES = 1024 * 1024 + 64 * 1024;


/**
 * Builds the coordinator's HTTP API from injected dependencies. The same app serves Node (entry/node.ts) and Workers
 * (entry/worker.ts); what differs between them comes in through `deps`. It keeps no module-level state: its caches and
 * rate windows live in the AppState made here, and its secrets are scrubbed from the config (redaction.ts).
 */
export function createApp(deps: CoordinatorDeps): Hono<AppEnv> {
  const logger = deps.logger ?? silentLogger;
  const state = newAppState(deps.config);
  const errorJson = (error: CrabboxError) => ({ ...error.toJSON(), message: scrub(deps.config, error.message) });
  const app = new Hono<AppEnv>();

  app.onError((error, c) => {
    if (isCrabboxError(error)) {
      const retryAfter = error.detail?.retryAfterSeconds;
      if (typeof retryAfter === 'number' && Number.isInteger(retryAfter) && retryAfter > 0) c.header('Retry-After', String(retryAfter));
      return c.json(errorJson(error), error.status as 400);
    }
    const full = diskFull(error);
    if (full) {
      logger.error('database disk full', { method: c.req.method, path: c.req.path });
      return c.json(errorJson(full), full.status as 503);
    }
    logger.error('request failed', { method: c.req.method, path: c.req.path, error: scrub(deps.config, error instanceof Error ? error.message : String(error)) });
    return c.json({ error: 'internal', message: 'internal error' }, 500);
  });
  // The path is the caller's: control characters (a decoded %0A) would break the one-line message.
  app.notFound((c) => {
    // A browser that wandered off the dashboard's pages gets a page; API clients keep getting JSON.
    if (!c.req.path.startsWith('/v1') && c.req.header('accept')?.includes('text/html')) return c.html(notFoundPage(), 404, { 'Content-Security-Policy': "default-src 'none'; frame-ancestors 'none'", 'Cache-Control': 'no-store' });
    return c.json({ error: 'not_found', message: `no route ${c.req.method} ${c.req.path.slice(0, 100).replace(/[\u0000-\u001f\u007f]/g, '?')}` }, 404);
  });
  app.use('*', methodNotAllowed({ app, onMethodNotAllowed: (c, methods) => c.json({ error: 'method_not_allowed', message: `${c.req.method} is not allowed here; use ${methods.join(', ')}` }, 405, { Allow: methods.join(', ') }) }));
  app.use('*', async (c, next) => {
    c.set('deps', deps);
    c.set('state', state);
    await next();
  });
  app.use('*', bodyLimit({ maxSize: MAX_BODY_BYTES, onError: (c) => c.json({ error: 'payload_too_large', message: `request bodies are limited to ${MAX_BODY_BYTES} bytes` }, 413) }));

  app.route('/v1', healthRoutes());
  app.use('/v1/*', accessGate());
  app.route('/v1/login', loginRoutes());
  const v1 = new Hono<AppEnv>();
  v1.use('*', authenticate());
  v1.route('/', readyRoutes());
  v1.route('/', whoamiRoutes());
  v1.route('/leases', leaseRoutes());
  v1.route('/runs', runRoutes());
  v1.route('/usage', usageRoutes());
  v1.route('/events', eventRoutes());
  v1.route('/pool', poolRoutes());
  v1.route('/admin', adminRoutes());
  app.route('/v1', v1);
  // The dashboard's pages (src/dashboard/): outside /v1, signed in by a browser session, never by a bearer token.
  app.route('/', dashboardApp(logger));
  return app;
}

import { Hono } from 'hono';
import { ENDPOINTS } from '../../api/endpoints.ts';
import { audit } from '../audit.ts';
import type { AppEnv } from '../env.ts';
import { DRAINING_META, forceDelete, leaseView, releaseLease } from '../leases.ts';
import { requireRole } from '../middleware/auth.ts';
import { loadLease } from '../middleware/load-lease.ts';
import { monthWindow } from '../pricing.ts';
import { serveEndpoint } from '../serve-endpoint.ts';
import { eventView } from './events.ts';
import { statesFor } from './leases.ts';

const actorOf = (identity: { login?: string | undefined; owner: string }) => `admin:${identity.login ?? identity.owner}`;

/** Admin-only: every lease, forced release and delete, drain, everyone's usage and events. */
export function adminRoutes(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.use('*', requireRole('admin'));
  const mount = '/v1/admin';
  serveEndpoint(app, mount, ENDPOINTS.adminLeases, async (c, { query: q }) => {
    const page = await c.var.deps.store.listLeases({ owner: q.owner, states: statesFor(q.state), cursor: q.cursor, limit: q.limit });
    return { leases: page.items.map((l) => leaseView(l)), nextCursor: page.nextCursor };
  });
  serveEndpoint(app, mount, ENDPOINTS.adminRelease, loadLease(), async (c) => {
    const actor = actorOf(c.var.identity);
    await audit(c.var.deps.store, { type: 'admin.release', at: c.var.deps.clock.now(), actor, lease: c.var.lease });
    return { lease: leaseView(await releaseLease(c.var.deps, actor, c.var.lease, 'admin-release')) };
  });
  serveEndpoint(app, mount, ENDPOINTS.adminDelete, loadLease(), async (c) => {
    const actor = actorOf(c.var.identity);
    await audit(c.var.deps.store, { type: 'admin.delete', at: c.var.deps.clock.now(), actor, lease: c.var.lease });
    return { lease: leaseView(await forceDelete(c.var.deps, actor, c.var.lease)) };
  });
  serveEndpoint(app, mount, ENDPOINTS.adminDrain, async (c, { body: { draining } }) => {
    const { store, clock } = c.var.deps;
    const actor = actorOf(c.var.identity);
    await store.setMeta(DRAINING_META, draining ? '1' : '0');
    await audit(store, { type: draining ? 'admin.drain' : 'admin.undrain', at: clock.now(), actor });
    let released = 0;
    if (draining) {
      // Bounded pages; leases created meanwhile are refused, so this terminates.
      for (let page = await store.listLeases({ states: ['provisioning', 'active'], limit: 100 }); page.items.length; page = await store.listLeases({ states: ['provisioning', 'active'], limit: 100 })) {
        for (const lease of page.items) {
          await releaseLease(c.var.deps, actor, lease, 'drained', 'machine.drained');
          released++;
        }
      }
    }
    return { draining, released };
  });
  serveEndpoint(app, mount, ENDPOINTS.adminUsage, async (c, { query: q }) => {
    const { store, clock } = c.var.deps;
    const window = monthWindow(clock.now(), q.month);
    const rows = await store.usage({ owner: q.owner, org: q.org, from: window.from, to: window.to, now: clock.now() });
    return { month: window.month, usage: rows as unknown as Record<string, unknown>[] };
  });
  serveEndpoint(app, mount, ENDPOINTS.adminEvents, async (c, { query: q }) => {
    const page = await c.var.deps.store.listEvents({ owner: q.owner, leaseId: q.leaseId, type: q.type, cursor: q.cursor, limit: q.limit });
    return { events: page.items.map(eventView), nextCursor: page.nextCursor };
  });
  return app;
}

import { Hono } from 'hono';
import { createLeaseBody, heartbeatBody, listLeasesQuery } from '../../api/schemas.ts';
import type { LeaseState } from '../../domain/lease.ts';
import type { AppEnv } from '../env.ts';
import { createLease, heartbeatLease, leaseView, releaseLease } from '../leases.ts';
import { claimLease } from '../pool/claim.ts';
import { loadLease } from '../middleware/load-lease.ts';
import { sourceAddress } from '../source-address.ts';
import { body, query } from '../validate.ts';

/** `state` filter -> store states: a state, `live` (default) or `all`. */
export function statesFor(state: string | undefined): LeaseState[] | undefined {
  if (state === 'all') return undefined;
  if (state === undefined || state === 'live') return ['provisioning', 'active'];
  return [state as LeaseState];
}

/** The caller's own leases. */
export function leaseRoutes(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.post('/', async (c) => {
    const startedAt = c.var.deps.clock.now();
    const input = await body(c, createLeaseBody);
    const { lease, created } = input.pool
      ? await claimLease(c.var.deps, c.var.identity, input, { sourceAddress: sourceAddress(c), startedAt })
      : await createLease(c.var.deps, c.var.identity, input, { sourceAddress: sourceAddress(c) });
    return c.json({ lease: leaseView(lease, c.var.deps.providers), created }, created ? 201 : 200);
  });
  app.get('/', async (c) => {
    const q = query(c, listLeasesQuery);
    const page = await c.var.deps.store.listLeases({ owner: c.var.identity.owner, states: statesFor(q.state), cursor: q.cursor, limit: q.limit });
    return c.json({ leases: page.items.map((l) => leaseView(l)), nextCursor: page.nextCursor });
  });
  app.get('/:ref', loadLease(), (c) => c.json({ lease: leaseView(c.var.lease, c.var.deps.providers) }));
  app.post('/:ref/heartbeat', loadLease(), async (c) => {
    const input = c.req.header('content-length') === '0' || !c.req.header('content-type') ? {} : await body(c, heartbeatBody);
    const lease = await heartbeatLease(c.var.deps, c.var.identity.owner, c.var.lease, input.idleTimeoutSeconds);
    return c.json({ lease: leaseView(lease) });
  });
  app.post('/:ref/release', loadLease(), async (c) => {
    const lease = await releaseLease(c.var.deps, c.var.identity.owner, c.var.lease);
    return c.json({ lease: leaseView(lease) });
  });
  return app;
}

import { Hono } from 'hono';
import { ENDPOINTS } from '../../api/endpoints.ts';
import type { LeaseState } from '../../domain/lease.ts';
import type { AppEnv } from '../env.ts';
import { createLease, heartbeatLease, leaseView, releaseLease } from '../leases.ts';
import { claimLease } from '../pool/claim.ts';
import { loadLease } from '../middleware/load-lease.ts';
import { serveEndpoint, type EndpointHandler } from '../serve-endpoint.ts';
import { sourceAddress } from '../source-address.ts';
import { issueCertificate } from '../ssh-ca.ts';

/** `state` filter -> store states: a state, `live` (default) or `all`. */
export function statesFor(state: string | undefined): LeaseState[] | undefined {
  if (state === 'all') return undefined;
  if (state === undefined || state === 'live') return ['provisioning', 'active'];
  return [state as LeaseState];
}

/** The caller's own leases, a page at a time (the dashboard calls the same handler). */
export const listOwnLeases: EndpointHandler<typeof ENDPOINTS.listLeases> = async (c, { query: q }) => {
  const page = await c.var.deps.store.listLeases({ owner: c.var.identity.owner, states: statesFor(q.state), cursor: q.cursor, limit: q.limit });
  return { leases: page.items.map((l) => leaseView(l)), nextCursor: page.nextCursor };
};

/** Releases the lease loadLease() found (the caller's own, or any for an admin). */
export const releaseLoadedLease: EndpointHandler<typeof ENDPOINTS.releaseLease> = async (c) => ({ lease: leaseView(await releaseLease(c.var.deps, c.var.identity.owner, c.var.lease)) });

/** The caller's own leases. */
export function leaseRoutes(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const mount = '/v1/leases';
  serveEndpoint(app, mount, ENDPOINTS.createLease, async (c, { body }) => {
    const startedAt = c.var.deps.clock.now();
    const { lease, created } = body.pool
      ? await claimLease(c.var.deps, c.var.identity, body, { sourceAddress: sourceAddress(c), startedAt })
      : await createLease(c.var.deps, c.var.identity, body, { sourceAddress: sourceAddress(c) });
    return { lease: leaseView(lease, c.var.deps.providers), created };
  });
  serveEndpoint(app, mount, ENDPOINTS.listLeases, listOwnLeases);
  serveEndpoint(app, mount, ENDPOINTS.getLease, loadLease(), (c) => ({ lease: leaseView(c.var.lease, c.var.deps.providers) }));
  serveEndpoint(app, mount, ENDPOINTS.heartbeat, loadLease(), async (c, { body }) => {
    const lease = await heartbeatLease(c.var.deps, c.var.identity.owner, c.var.lease, body.idleTimeoutSeconds);
    return { lease: leaseView(lease) };
  });
  serveEndpoint(app, mount, ENDPOINTS.releaseLease, loadLease(), releaseLoadedLease);
  serveEndpoint(app, mount, ENDPOINTS.leaseCertificate, loadLease(), (c, { body }) => issueCertificate(c.var.deps, c.var.identity.owner, c.var.lease, body, { sourceAddress: sourceAddress(c) }));
  return app;
}

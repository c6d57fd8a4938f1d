import { Hono } from 'hono';
import { ENDPOINTS } from '../../api/endpoints.ts';
import { machineId, poolName } from '../../api/schemas.ts';
import { isMachineKnown, MACHINE_STATES, type MachineState } from '../../domain/machine.ts';
import { CrabboxError } from '../../domain/errors.ts';
import { audit } from '../audit.ts';
import type { AppEnv } from '../env.ts';
import { DRAINING_META, forceDelete, leaseView, releaseLease } from '../leases.ts';
import { requireRole } from '../middleware/auth.ts';
import { loadLease } from '../middleware/load-lease.ts';
import { monthWindow } from '../pricing.ts';
import { drainMachine, undrainMachine } from '../machines/drain.ts';
import { machineView } from '../machines/view.ts';
import { drainPool, undrainPool } from '../pool/drain.ts';
import { serveEndpoint, type EndpointHandler } from '../serve-endpoint.ts';
import { param } from '../validate.ts';
import { eventView, ms } from './events.ts';
import { statesFor } from './leases.ts';

export const actorOf = (identity: { login?: string | undefined; owner: string }) => `admin:${identity.login ?? identity.owner}`;

/** `state` filter -> machine states: a state, `live` (default: not deleted or failed) or `all`. */
function machineStatesFor(state: string | undefined): MachineState[] | undefined {
  if (state === 'all') return undefined;
  if (state === undefined || state === 'live') return MACHINE_STATES.filter(isMachineKnown);
  return [state as MachineState];
}

/** Everyone's leases (behind requireRole('admin'), as every handler here). */
export const adminLeaseList: EndpointHandler<typeof ENDPOINTS.adminLeases> = async (c, { query: q }) => {
  const page = await c.var.deps.store.listLeases({ owner: q.owner, states: statesFor(q.state), cursor: q.cursor, limit: q.limit });
  return { leases: page.items.map((l) => leaseView(l)), nextCursor: page.nextCursor };
};

export const adminMachineList: EndpointHandler<typeof ENDPOINTS.adminMachines> = async (c, { query: q }) => {
  const { store, clock } = c.var.deps;
  const page = await store.listMachines({ states: machineStatesFor(q.state), pool: q.pool, provider: q.provider, leaseId: q.leaseId, cursor: q.cursor, limit: q.limit });
  const now = clock.now();
  return { machines: page.items.map((m) => machineView(m, now)), nextCursor: page.nextCursor };
};

export const adminMachineOne: EndpointHandler<typeof ENDPOINTS.adminMachine> = async (c) => {
  const id = param(c, 'id', machineId);
  const machine = await c.var.deps.store.getMachine(id);
  if (!machine) throw new CrabboxError('not_found', `no machine ${id}`, { hint: 'run `crabbox admin machines` to see the machines' });
  return { machine: machineView(machine, c.var.deps.clock.now()) };
};

export const adminMachineDrainOne: EndpointHandler<typeof ENDPOINTS.adminMachineDrain> = async (c) => {
  const { machine, changed } = await drainMachine(c.var.deps, param(c, 'id', machineId), actorOf(c.var.identity));
  return { machine: machineView(machine, c.var.deps.clock.now()), changed };
};

export const adminMachineUndrainOne: EndpointHandler<typeof ENDPOINTS.adminMachineUndrain> = async (c) => {
  const { machine, changed } = await undrainMachine(c.var.deps, param(c, 'id', machineId), actorOf(c.var.identity));
  return { machine: machineView(machine, c.var.deps.clock.now()), changed };
};

export const adminUsageRows: EndpointHandler<typeof ENDPOINTS.adminUsage> = async (c, { query: q }) => {
  const { store, clock } = c.var.deps;
  const window = monthWindow(clock.now(), q.month);
  const rows = await store.usage({ owner: q.owner, org: q.org, from: window.from, to: window.to, now: clock.now() });
  return { month: window.month, usage: rows as unknown as Record<string, unknown>[] };
};

export const adminEventList: EndpointHandler<typeof ENDPOINTS.adminEvents> = async (c, { query: q }) => {
  const page = await c.var.deps.store.listEvents({ owner: q.owner, leaseId: q.leaseId, machineId: q.machineId, type: q.type, since: ms(q.since), until: ms(q.until), cursor: q.cursor, limit: q.limit });
  return { events: page.items.map(eventView), nextCursor: page.nextCursor };
};

/** Admin-only: every lease and machine, forced release and delete, drain (fleet or one machine), everyone's usage and events. */
export function adminRoutes(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.use('*', requireRole('admin'));
  const mount = '/v1/admin';
  serveEndpoint(app, mount, ENDPOINTS.adminLeases, adminLeaseList);
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
  serveEndpoint(app, mount, ENDPOINTS.adminMachines, adminMachineList);
  serveEndpoint(app, mount, ENDPOINTS.adminMachine, adminMachineOne);
  serveEndpoint(app, mount, ENDPOINTS.adminMachineDrain, adminMachineDrainOne);
  serveEndpoint(app, mount, ENDPOINTS.adminMachineUndrain, adminMachineUndrainOne);
  serveEndpoint(app, mount, ENDPOINTS.adminUsage, adminUsageRows);
  serveEndpoint(app, mount, ENDPOINTS.adminEvents, adminEventList);
  serveEndpoint(app, mount, ENDPOINTS.adminPoolDrain, async (c) => drainPool(c.var.deps, param(c, 'name', poolName), actorOf(c.var.identity)));
  serveEndpoint(app, mount, ENDPOINTS.adminPoolUndrain, async (c) => undrainPool(c.var.deps, param(c, 'name', poolName), actorOf(c.var.identity)));
  return app;
}

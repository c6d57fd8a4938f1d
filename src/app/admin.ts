import type { CoordinatorClient } from '../api/client.ts';
import { schemaId } from '../api/schema-id.ts';
import { type LeaseJson } from '../api/shapes.ts';
import type { AdminLeasesJson, AdminMachinesJson, DrainJson, EventsJson, MachineDrainJson, PoolDrainJson } from '../api/shapes-team.ts';
import { CrabboxError, isCrabboxError } from '../domain/errors.ts';
import { parseLeaseRef, parseMachineId } from '../domain/ids.ts';
import { leaseFromView } from '../leases/brokered.ts';
import type { AppContext } from './context.ts';
import { fetchEvents, type EventFilter } from './events.ts';
import { leaseDocument, leaseEntry } from './lease-json.ts';
import { requireCoordinator } from './coordinator-session.ts';

/**
 * The coordinator admin operations (admins only; the coordinator checks the role). Not offered to agents as MCP
 * tools: they act on everyone's leases.
 */

/** Runs an admin call; a refusal becomes one line that says admin commands are for admins (exit 77). */
async function asAdmin<T>(ctx: Pick<AppContext, 'env' | 'cwd'>, what: string, call: (client: CoordinatorClient) => Promise<T>): Promise<T> {
  const client = requireCoordinator(ctx, `admin ${what}`);
  try {
    return await call(client);
  } catch (error) {
    if (isCrabboxError(error) && (error.code === 'forbidden' || error.code === 'unauthorized')) {
      throw new CrabboxError(error.code, `\`crabbox admin ${what}\` is only for coordinator admins: ${error.message}`, { hint: 'ask an admin, or check your role with `crabbox whoami`' });
    }
    throw error;
  }
}

export async function adminLeases(ctx: AppContext, input: { owner?: string | undefined; state: string; limit: number }): Promise<AdminLeasesJson> {
  const { leases } = await asAdmin(ctx, 'leases', (c) => c.call('adminLeases', { query: { state: input.state as 'live', limit: input.limit, owner: input.owner } }));
  const now = ctx.clock.now();
  return { schema: schemaId('admin-leases'), leases: leases.map(leaseFromView).map((l) => ({ ...leaseEntry(l, now), org: l.org })) };
}

/** Releases anyone's lease (the coordinator deletes its machine). */
export async function adminRelease(ctx: AppContext, ref: string): Promise<LeaseJson> {
  const parsed = parseLeaseRef(ref);
  const { lease } = await asAdmin(ctx, 'release', (c) => c.call('adminRelease', { params: { ref: parsed.value } }));
  return leaseDocument(leaseFromView(lease), ctx.clock.now());
}

/** Ends a lease and deletes its machine now. */
export async function adminDelete(ctx: AppContext, ref: string): Promise<LeaseJson> {
  const parsed = parseLeaseRef(ref);
  const { lease } = await asAdmin(ctx, 'delete', (c) => c.call('adminDelete', { params: { ref: parsed.value } }));
  return leaseDocument(leaseFromView(lease), ctx.clock.now());
}

/** Drain on: new leases are refused and every live one is released. Off: leases are accepted again. */
export async function adminDrain(ctx: AppContext, draining: boolean): Promise<DrainJson> {
  const answer = await asAdmin(ctx, draining ? 'drain' : 'undrain', (c) => c.call('adminDrain', { body: { draining } }));
  return { schema: schemaId('drain'), draining: answer.draining, released: answer.released };
}

/** Every machine with its state, age, lease and assignments (`state`: a machine state, `live` or `all`). */
export async function adminMachines(ctx: AppContext, input: { state: string; pool?: string | undefined; limit: number }): Promise<AdminMachinesJson> {
  const answer = await asAdmin(ctx, 'machines', (c) => c.call('adminMachines', { query: { state: input.state as 'live', pool: input.pool, limit: input.limit } }));
  return { schema: schemaId('admin-machines'), machines: answer.machines };
}

/** Drains one machine (no new lease; deleted once free) or takes it back (`drain: false`). */
export async function adminMachineDrain(ctx: AppContext, ref: string, drain: boolean): Promise<MachineDrainJson> {
  const id = parseMachineId(ref);
  const answer = await asAdmin(ctx, drain ? 'drain' : 'undrain', (c) => c.call(drain ? 'adminMachineDrain' : 'adminMachineUndrain', { params: { id } }));
  return { schema: schemaId('machine-drain'), machine: answer.machine, changed: answer.changed };
}

/** Drains a whole warm pool (no refills; idle machines deleted now, busy ones once free) or takes it back (`drain: false`). */
export async function adminPoolDrain(ctx: AppContext, pool: string, drain: boolean): Promise<PoolDrainJson> {
  const answer = await asAdmin(ctx, drain ? 'drain' : 'undrain', (c) => c.call(drain ? 'adminPoolDrain' : 'adminPoolUndrain', { params: { name: pool } }));
  return { schema: schemaId('pool-drain'), pool: answer.pool, draining: answer.draining, changed: answer.changed };
}

/** Everyone's audit trail, newest first. */
export function adminEvents(ctx: AppContext, filter: EventFilter): Promise<EventsJson> {
  return asAdmin(ctx, 'events', (c) => fetchEvents(c, filter, true));
}

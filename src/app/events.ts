import * as z from 'zod';
import type { CoordinatorClient } from '../api/client.ts';
import { eventType } from '../api/schemas.ts';
import { schemaId } from '../api/schema-id.ts';
import type { EventsJson } from '../api/shapes-team.ts';
import { CrabboxError } from '../domain/errors.ts';
import { parseLeaseRef } from '../domain/ids.ts';
import { leaseRef } from './inputs.ts';
import { requireCoordinator } from './coordinator-session.ts';
import { useCase } from './usecase.ts';

export interface EventFilter {
  lease?: string | undefined;
  /** Admin events only: a machine id (mch_ + 12 hex). */
  machine?: string | undefined;
  type?: string | undefined;
  owner?: string | undefined;
  limit: number;
}

/**
 * One page of audit events: the caller's own, or with `admin` everyone's (admins only). A slug is looked up first
 * for the caller's own events; admin filters take a lease id.
 */
export async function fetchEvents(client: CoordinatorClient, filter: EventFilter, admin: boolean): Promise<EventsJson> {
  if (filter.type !== undefined && !eventType.safeParse(filter.type).success) throw new CrabboxError('bad_request', `--type ${JSON.stringify(filter.type.slice(0, 40))}: expected an event type like lease.created`);
  let leaseId: string | undefined;
  if (filter.lease !== undefined) {
    const ref = parseLeaseRef(filter.lease);
    if (admin && ref.kind !== 'id') throw new CrabboxError('bad_request', '--lease takes a lease id (cbx_ + 12 hex) for admin events');
    leaseId = ref.kind === 'id' ? ref.value : (await client.call('getLease', { params: { ref: ref.value } })).lease.id;
  }
  const query = { limit: filter.limit, leaseId, type: filter.type };
  const { events } = admin ? await client.call('adminEvents', { query: { ...query, owner: filter.owner, machineId: filter.machine } }) : await client.call('events', { query });
  return { schema: schemaId('events'), events };
}

export const events = useCase({
  name: 'events',
  description: 'Your audit trail on the coordinator, newest first: lease created, heartbeats, released, expired, runs. Filter by lease or event type.',
  input: z.strictObject({
    lease: leaseRef.optional(),
    type: eventType.optional().describe('Only events of this type, e.g. lease.expired'),
    limit: z.number().int().min(1).max(500).default(50).describe('At most this many (default 50)'),
  }),
  output: () => import('../api/shapes-team.ts').then((m) => m.eventsJson),
  annotations: { title: 'Audit events', readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  async run(ctx, input) {
    if (input.lease !== undefined) parseLeaseRef(input.lease);
    return fetchEvents(requireCoordinator(ctx, 'events'), input, false);
  },
});

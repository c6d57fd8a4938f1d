import type { FleetEvent, FleetStore, LeaseRecord } from '../storage/store.ts';

/** At most this many events in one lease's timeline (a lease heartbeating for a day logs far fewer). */
export const TIMELINE_LIMIT = 500;

/**
 * One lease's story, oldest first: its own events (created, heartbeats, runs, released or expired) and its machine's
 * (provisioned, drained, deleted), which may come after the lease ended. The caller has already authorized the lease.
 */
export async function leaseTimeline(store: FleetStore, lease: Pick<LeaseRecord, 'id' | 'machineId'>): Promise<FleetEvent[]> {
  const byLease = (await store.listEvents({ leaseId: lease.id, limit: TIMELINE_LIMIT })).items;
  const byMachine = lease.machineId ? (await store.listEvents({ machineId: lease.machineId, limit: TIMELINE_LIMIT })).items : [];
  const events = new Map<number, FleetEvent>();
  for (const e of [...byLease, ...byMachine]) events.set(e.seq, e);
  return [...events.values()].sort((a, b) => a.seq - b.seq);
}

import type { LeaseJson } from '../api/shapes.ts';
import { schemaId } from '../api/schema-id.ts';
import { leaseJson } from '../leases/record.ts';
import type { DirectLease } from '../leases/record.ts';

export { leaseJson as leaseEntry } from '../leases/record.ts';

/** The lease document (`crabbox.lease/v1`): warmup, status, heartbeat, admin release and delete. */
export function leaseDocument(lease: DirectLease, now: number, extra: { ready?: boolean } = {}): LeaseJson {
  return { schema: schemaId('lease'), ...leaseJson(lease, now), ...extra };
}

import { redactValue } from '../redact/redact.ts';
import type { FleetStore, LeaseRecord, NewEvent } from '../storage/store.ts';

/** The audit event types. `admin.*` events name the action after the dot. */
export type EventType =
  | 'lease.created' | 'machine.provisioned' | 'lease.heartbeat' | 'lease.extended' | 'lease.released' | 'lease.expired' | 'lease.failed'
  | 'machine.drained' | 'machine.deleted' | 'machine.sweep_skipped' | 'provider.error' | 'provider.fallback' | 'auth.denied' | 'auth.login' | 'run.created' | 'run.finished' | `admin.${string}`;

export interface AuditInput {
  type: EventType;
  at: number;
  actor: string;
  lease?: Pick<LeaseRecord, 'id' | 'owner' | 'org' | 'providerId'> | undefined;
  owner?: string | undefined;
  org?: string | undefined;
  runId?: string | undefined;
  providerId?: string | undefined;
  /** Small, non-secret facts (states, reasons, counts). Redacted anyway, and bounded. */
  data?: Record<string, unknown> | undefined;
}

const MAX_DATA_CHARS = 2000;

/** Appends one audit event. Never carries env values, tokens, keys or file contents; data is redacted and bounded. */
export async function audit(store: FleetStore, input: AuditInput): Promise<void> {
  let data = input.data ? redactValue(input.data) : undefined;
  if (data && JSON.stringify(data).length > MAX_DATA_CHARS) data = { truncated: true };
  const event: NewEvent = {
    at: input.at,
    type: input.type,
    actor: input.actor,
    owner: input.owner ?? input.lease?.owner,
    org: input.org ?? input.lease?.org,
    leaseId: input.lease?.id,
    runId: input.runId,
    providerId: input.providerId ?? input.lease?.providerId,
    data,
  };
  await store.appendEvent(event);
}

import { redactValue } from '../redact/redact.ts';
import type { EventStore, LeaseRecord, MachineRecord, NewEvent } from '../storage/store.ts';

/** The audit event types (the dashboard offers them as filters). `admin.*` events name the action after the dot. */
export const EVENT_TYPES = [
  'lease.created', 'lease.heartbeat', 'lease.extended', 'lease.released', 'lease.expired', 'lease.failed', 'lease.certificate',
  'machine.provisioned', 'machine.assigned', 'machine.scrubbed', 'machine.drained', 'machine.undrained', 'machine.deleted', 'machine.failed', 'machine.sweep_skipped',
  'pool.refill.failed', 'pool.empty', 'pool.drained', 'pool.undrained',
  'provider.error', 'provider.fallback', 'auth.denied', 'auth.login', 'auth.logout', 'run.created', 'run.finished',
] as const;
export type EventType = (typeof EVENT_TYPES)[number] | `admin.${string}`;

export interface AuditInput {
  type: EventType;
  at: number;
  actor: string;
  lease?: Pick<LeaseRecord, 'id' | 'owner' | 'org' | 'providerId'> | undefined;
  /** The machine a machine event happened to; its lease (if any) is named too. */
  machine?: Pick<MachineRecord, 'id' | 'providerId' | 'leaseId'> | undefined;
  owner?: string | undefined;
  org?: string | undefined;
  runId?: string | undefined;
  providerId?: string | undefined;
  /** Small, non-secret facts (states, reasons, counts). Redacted anyway, and bounded. */
  data?: Record<string, unknown> | undefined;
}

const MAX_DATA_CHARS = 2000;

/** Appends one audit event. Never carries env values, tokens, keys or file contents; data is redacted and bounded. */
export async function audit(store: EventStore, input: AuditInput): Promise<void> {
  let data = input.data ? redactValue(input.data) : undefined;
  if (data && JSON.stringify(data).length > MAX_DATA_CHARS) data = { truncated: true };
  const event: NewEvent = {
    at: input.at,
    type: input.type,
    actor: input.actor,
    owner: input.owner ?? input.lease?.owner,
    org: input.org ?? input.lease?.org,
    leaseId: input.lease?.id ?? input.machine?.leaseId,
    runId: input.runId,
    machineId: input.machine?.id,
    providerId: input.providerId ?? input.machine?.providerId ?? input.lease?.providerId,
    data,
  };
  await store.appendEvent(event);
}

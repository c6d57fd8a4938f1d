import type { Page, PageRequest } from './page.ts';

export interface FleetEvent {
  seq: number;
  at: number;
  type: string;
  /** Who did it: an owner, `admin:<login>`, `sweeper`, `anonymous`. Never a credential. */
  actor: string;
  owner?: string | undefined;
  org?: string | undefined;
  leaseId?: string | undefined;
  runId?: string | undefined;
  /** The machine it happened to (`mch_...`), for machine events. */
  machineId?: string | undefined;
  providerId?: string | undefined;
  data?: Record<string, unknown> | undefined;
}

export type NewEvent = Omit<FleetEvent, 'seq'>;

export interface EventQuery extends PageRequest {
  owner?: string | undefined;
  leaseId?: string | undefined;
  machineId?: string | undefined;
  type?: string | undefined;
  /** Only events at or after this time (epoch ms). */
  since?: number | undefined;
  /** Only events before this time (epoch ms). */
  until?: number | undefined;
}

/** The audit trail: append-only, sequence numbers unique across replicas. */
export interface EventStore {
  appendEvent(event: NewEvent): Promise<FleetEvent>;
  /** Newest first. */
  listEvents(query: EventQuery): Promise<Page<FleetEvent>>;
}

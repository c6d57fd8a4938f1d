import type { ProviderEvent } from '../providers/provider.ts';
import type { Clock } from '../domain/clock.ts';
import type { EventStore, LeaseStore } from '../storage/store.ts';
import { redact } from '../redact/redact.ts';
import { audit } from './audit.ts';

/** Events that arrive before the store is open are held, up to this many. */
const MAX_PENDING = 100;

export interface ProviderEventSink {
  /** Hand this to the providers (ProviderContext.onEvent). Never throws, never blocks the provider. */
  onEvent: (event: ProviderEvent) => void;
  /** Starts writing to the audit trail (providers are built before the store is open). */
  attach(target: { store: LeaseStore & EventStore; clock: Clock }): void;
  /** Resolves when every event handed in so far is written (tests, shutdown). */
  flush(): Promise<void>;
}

/**
 * Turns provider events (capacity fallbacks, failed cleanups, IP timeouts) into audit events with small, redacted
 * data: the message, the lease and machine ids and the few facts the provider named; never a request or a response.
 */
export function createProviderEventSink(): ProviderEventSink {
  let target: { store: LeaseStore & EventStore; clock: Clock } | undefined;
  const pending: ProviderEvent[] = [];
  let chain = Promise.resolve();
  const write = (event: ProviderEvent): void => {
    const t = target!;
    const { leaseId, providerId, instanceId, ...rest } = event.data;
    const data = { ...rest, message: redact(event.message).slice(0, 300), ...(typeof leaseId === 'string' ? { leaseId } : {}) };
    const machine = typeof providerId === 'string' ? providerId : typeof instanceId === 'string' ? instanceId : undefined;
    const at = t.clock.now();
    chain = chain
      .then(async () => {
        const lease = typeof leaseId === 'string' ? await t.store.getLease(leaseId).catch(() => undefined) : undefined;
        const onMachine = lease?.machineId ? { id: lease.machineId, providerId: machine ?? lease.providerId, leaseId: lease.id } : undefined;
        await audit(t.store, { type: event.type, at, actor: 'provider', lease, machine: onMachine, providerId: machine ?? lease?.providerId, data });
      })
      .catch(() => undefined);
  };
  return {
    onEvent(event) {
      if (target) write(event);
      else if (pending.length < MAX_PENDING) pending.push(event);
    },
    attach(next) {
      target = next;
      for (const event of pending.splice(0)) write(event);
    },
    flush: () => chain,
  };
}

import type { SshTarget } from '../ssh/index.ts';
import type { DirectLease } from './record.ts';

/** What a new lease may ask for; unset fields come from config. */
export interface CreateRequest {
  ttlSeconds?: number | undefined;
  idleTimeoutSeconds?: number | undefined;
  keep?: boolean | undefined;
  class?: string | undefined;
  type?: string | undefined;
  signal?: AbortSignal | undefined;
}

/** A lease ready to use: its record and the ssh target that reaches its box. */
export interface LeaseHandle {
  lease: DirectLease;
  target: SshTarget;
  /** True when this call created the lease (the caller releases it unless kept). */
  fresh: boolean;
  /** The lease as this computer last touched it (src/leases/touched.ts): not asked of its provider or coordinator. */
  recent?: boolean | undefined;
  /** Brokered mode with `recent`: asks for the coordinator's heartbeat, sent while ssh connects; the command waits for it. */
  confirm?: (() => Promise<DirectLease>) | undefined;
}

export interface ReleaseResult {
  leaseId: string;
  slug: string | undefined;
  result: 'released' | 'already-gone';
}

/**
 * The lease operations every command uses, whoever keeps the lease state: the CLI itself through the provider
 * (direct mode, src/leases/direct.ts) or the coordinator (brokered mode, src/leases/brokered.ts).
 */
export interface LeaseService {
  readonly mode: 'direct' | 'brokered';
  /** An existing lease by id or slug (touched), or a fresh one when `ref` is undefined. */
  acquire(ref: string | undefined, request?: CreateRequest): Promise<LeaseHandle>;
  create(request?: CreateRequest): Promise<LeaseHandle>;
  /** Finds one of the owner's leases by id or slug; lease_not_found (exit 66) otherwise. */
  resolve(ref: string): Promise<DirectLease>;
  /** The ssh target for a lease (its key dir, pinned known_hosts, ControlMaster). */
  target(lease: DirectLease): SshTarget;
  /**
   * The lease as this computer last touched it, when a run may start connecting with it (src/leases/touched.ts):
   * direct mode when touched moments ago, brokered mode while its last view is active and its certificate holds.
   */
  recent?(ref: string): Promise<DirectLease | undefined>;
  /** Heartbeat: moves the idle deadline, never past the TTL cap; refused once expired. */
  touch(ref: string | DirectLease, idleTimeoutSeconds?: number): Promise<DirectLease>;
  /** Idempotent: a lease that is already gone is success. */
  release(ref: string | DirectLease): Promise<ReleaseResult>;
  /** Waits until the lease's box answers ssh and its provider's ready command (if any) exits 0, as run/warmup do. */
  waitReady(lease: DirectLease, deadline: number, options?: { signal?: AbortSignal; log?: (line: string) => void }): Promise<void>;
  /** The owner's leases, newest first. */
  list(): Promise<DirectLease[]>;
}

/**
 * Completes a lease service with `acquire`, which is the same in every mode: create when no ref; else the lease as
 * last touched here when it may be used so (brokered: with the heartbeat on its way), or a touch.
 */
export function leaseService(parts: Omit<LeaseService, 'acquire'>): LeaseService {
  return {
    ...parts,
    acquire: async (ref, request) => {
      if (ref === undefined) return parts.create(request);
      const known = await parts.recent?.(ref);
      if (known) {
        // The coordinator decides about a brokered lease: the caller sends its heartbeat while ssh connects.
        const confirm = parts.mode === 'brokered' ? () => parts.touch(known.id) : undefined;
        return { lease: known, target: parts.target(known), fresh: false, recent: true, confirm };
      }
      const lease = await parts.touch(ref);
      return { lease, target: parts.target(lease), fresh: false };
    },
  };
}

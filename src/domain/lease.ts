/** The lease entity: an assignment of one machine to one owner for a time. Its rules live in lifecycle.ts. */
import type { Transport } from './transport.ts';

export const LEASE_STATES = ['provisioning', 'active', 'released', 'expired', 'failed'] as const;
export type LeaseState = (typeof LEASE_STATES)[number];

export { DEFAULT_IDLE_SECONDS, DEFAULT_TTL_SECONDS, MAX_TTL_SECONDS } from './lease-timing.ts';

/** How a lease reaches its machine: what the CLI needs to connect. */
export interface MachineRef {
  provider: string;
  /** The provider's own id for the machine (server id, instance id, local directory name). */
  providerId: string;
  host: string;
  /** SSH ports in the order to try them: primary first, then fallbacks. */
  ports: number[];
  sshUser: string;
  workRoot: string;
  /** The box's public host key (`ssh-ed25519 AAAA...`), pinned before the first connection. */
  hostKey: string;
  type?: string | undefined;
  region?: string | undefined;
  /** How the CLI reaches it when not directly (docs/tunnel.md). */
  transport?: Transport | undefined;
}

export interface Lease {
  id: string;
  slug: string;
  owner: string;
  org: string;
  provider: string;
  profile?: string | undefined;
  class?: string | undefined;
  state: LeaseState;
  keep: boolean;
  ttlSeconds: number;
  idleTimeoutSeconds: number;
  /** All times are epoch milliseconds. */
  createdAt: number;
  lastTouchedAt: number;
  expiresAt: number;
  endedAt?: number | undefined;
  machine?: MachineRef | undefined;
}

/** The states a lease can still be ended from. */
export const LIVE_STATES: readonly LeaseState[] = ['provisioning', 'active'];

export function isLive(state: LeaseState): boolean {
  return state === 'provisioning' || state === 'active';
}

export function isTerminal(state: LeaseState): boolean {
  return !isLive(state);
}

import type { Clock } from '../domain/clock.ts';
import type { Provider } from '../providers/provider.ts';
import type { FleetStore } from '../storage/store.ts';
import type { MachineAccess } from '../machine-access/access.ts';
import type { CoordinatorConfig } from './config.ts';
import type { PeerAddress } from './source-address.ts';

/** The coordinator's log sink. Messages and data are redacted by the caller's choke point before they reach it. */
export interface Logger {
  info(message: string, data?: Record<string, unknown>): void;
  warn(message: string, data?: Record<string, unknown>): void;
  error(message: string, data?: Record<string, unknown>): void;
}

export const silentLogger: Logger = { info() {}, warn() {}, error() {} };

export interface HostKeyPair {
  privateKey: string;
  publicKey: string;
}

/** Everything the coordinator is built from; tests pass fakes for providers and the clock, and real SQLite. */
export interface CoordinatorDeps {
  store: FleetStore;
  providers: Record<string, Provider>;
  clock: Clock;
  config: CoordinatorConfig;
  logger?: Logger | undefined;
  /** Makes the box's host key pair (default: in-process ed25519, src/keys/). */
  hostKeys?: ((leaseId: string) => Promise<HostKeyPair>) | undefined;
  /** Who is on the other end of a request's connection (Node: the TCP peer; Workers: CF-Connecting-IP). */
  peerAddress?: PeerAddress | undefined;
  /** How the warm pool reaches into its machines, by provider name (src/machine-access/). */
  access?: Record<string, MachineAccess> | undefined;
  /**
   * Takes work that may finish after the request is answered: a released lease's machine deletion, whose lease end
   * and deletion claim are already committed (the sweeper retries it if this process dies). Node's entry tracks it
   * and its close() waits for it; without it (the Worker, tests) the request waits for the work itself.
   */
  afterResponse?: ((work: Promise<unknown>) => void) | undefined;
  /** Asks for a pool pass soon (a claim took a machine or found none); set by the sweep scheduler. */
  pokePool?: (() => void) | undefined;
  /** The installation admin public key pool machines are made with (the private half is a coordinator secret). */
  adminPublicKey?: string | undefined;
}

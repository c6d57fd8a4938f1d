import type { JUnitSummary } from '../results/junit.ts';
import type { ArtifactsSummary } from '../artifacts/download.ts';
import type { OwnerProcess } from './owner-process.ts';

/**
 * What crabbox keeps about one `crabbox run`. The same shape is stored locally (store.ts) and, later, by the
 * coordinator. Every string in it has passed through redaction before it is written anywhere.
 * `abandoned` is never stored: it is how a local `running` record reads once the process that owned it is gone.
 */
export const RUN_STATES = ['running', 'succeeded', 'failed', 'interrupted', 'error', 'abandoned'] as const;
export type RunState = (typeof RUN_STATES)[number];

/** Phase durations in milliseconds; a phase that did not happen is absent. */
export interface PhaseTimings {
  /** From process start until leasing begins (start-up, config, the local sync scan for a fresh lease). */
  prepare?: number;
  lease?: number;
  wait?: number;
  sync?: number;
  command?: number;
  release?: number;
  total?: number;
}

export const PHASES = ['prepare', 'lease', 'wait', 'sync', 'command', 'release', 'total'] as const satisfies readonly (keyof PhaseTimings)[];

/** The bounded, redacted tail of the run's combined stdout and stderr. */
export interface StoredLogTail {
  text: string;
  /** Bytes of output seen in total (before the tail was cut). */
  totalBytes: number;
  /** True when earlier output was dropped to keep the tail bounded. */
  truncated: boolean;
}

export interface RunRecord {
  version: 1;
  id: string;
  leaseId: string;
  slug: string;
  provider: string;
  /** The command as argv; absent when recording commands is disabled. */
  command?: string[];
  state: RunState;
  /** The crabbox process that writes this record (local records only), so a crash shows as `abandoned`. */
  owner?: OwnerProcess;
  /** What `crabbox run` exited with: the command's own code, or crabbox's (a failure, 130/143 after an interrupt). */
  exitCode?: number;
  /** Whose exit code `exitCode` is. */
  source?: 'remote' | 'crabbox';
  /** The signal that interrupted the run (state `interrupted`). */
  interrupted?: 'SIGINT' | 'SIGTERM';
  /** The command's own exit code when it reported one; after an interrupt it may differ from `exitCode`. */
  remoteExitCode?: number;
  timings: PhaseTimings;
  /** Milliseconds per sync step (for example manifest, fingerprint, rsync), in the order they ran. */
  syncSteps?: Record<string, number>;
  syncSkipped?: boolean;
  /** RFC 3339 UTC. */
  startedAt: string;
  endedAt?: string;
  logTail?: StoredLogTail;
  junit?: JUnitSummary;
  /** What came back from the box (local records; docs/artifacts.md). */
  artifacts?: ArtifactsSummary;
}

/** The state a finished run is in, from how it ended. */
export function finalState(input: { exitCode?: number | undefined; source?: 'remote' | 'crabbox' | undefined; interrupted?: boolean | undefined }): RunState {
  if (input.interrupted) return 'interrupted';
  if (input.source === 'crabbox') return 'error';
  return input.exitCode === 0 ? 'succeeded' : 'failed';
}

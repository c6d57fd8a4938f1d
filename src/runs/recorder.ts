import type { JUnitSummary } from '../results/junit.ts';
import type { ArtifactsSummary } from '../artifacts/download.ts';
import type { PhaseTimings, StoredLogTail } from './record.ts';

/**
 * What `crabbox run` calls to keep a record of a run. The local implementation writes to the state directory; the
 * coordinator will provide a remote one with the same two calls. Either may throw (a full disk, an unreachable
 * coordinator): the run should report that as a warning and still return the command's exit code.
 */
export interface RunRecorder {
  /** Records that a run started and returns its id (`run_` + 12 hex). */
  start(input: RunStart): Promise<string>;
  /** Records how the run ended. Calling it twice for one run keeps the first result. */
  finish(runId: string, result: RunFinish): Promise<void>;
}

export interface RunStart {
  leaseId: string;
  slug: string;
  provider: string;
  /** The command as argv. Dropped when recording commands is disabled. */
  command?: string[] | undefined;
  /** The run forwards env values to the box (the coordinator then never reuses a pool machine after the lease). */
  forwardsEnv?: boolean | undefined;
}

export interface RunFinish {
  /** What `crabbox run` exits with. */
  exitCode?: number | undefined;
  /** 'remote' when exitCode is the command's, 'crabbox' when crabbox failed first or was interrupted. Default 'remote'. */
  source?: 'remote' | 'crabbox' | undefined;
  /** The signal that interrupted the run. */
  interrupted?: 'SIGINT' | 'SIGTERM' | undefined;
  /** The command's own exit code, when it reported one. */
  remoteExitCode?: number | undefined;
  timings: PhaseTimings;
  /** Milliseconds per sync step; at most 20 steps are kept. */
  syncSteps?: Record<string, number> | undefined;
  /** The bounded, redacted tail: `LogTail.finish()`. */
  logTail?: StoredLogTail | undefined;
  junit?: JUnitSummary | undefined;
  /** What came back from the box; kept by the local recorder (the coordinator does not store it yet). */
  artifacts?: ArtifactsSummary | undefined;
  syncSkipped?: boolean | undefined;
}

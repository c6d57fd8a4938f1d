import type { ArtifactsSummary } from '../../domain/artifacts.ts';
import type { OwnerScope, Page, PageRequest } from './page.ts';

/** Run states the coordinator stores (`abandoned` exists only as a reading of local records). */
export const STORED_RUN_STATES = ['running', 'succeeded', 'failed', 'interrupted', 'error'] as const;
export type StoredRunState = (typeof STORED_RUN_STATES)[number];

export interface RunRecord {
  id: string;
  leaseId: string;
  /** The lease's slug and provider when the run started (undefined for rows recorded before migration 0004 whose lease was gone). */
  slug?: string | undefined;
  provider?: string | undefined;
  owner: string;
  org: string;
  command?: string | undefined;
  state: StoredRunState;
  /** What `crabbox run` exited with. */
  exitCode?: number | undefined;
  /** Whose exit code it is: `remote` (the command's) or `crabbox` (a crabbox failure or an interrupt). */
  source?: 'remote' | 'crabbox' | undefined;
  /** The signal of an interrupted run. */
  interrupted?: 'SIGINT' | 'SIGTERM' | undefined;
  /** The command's own exit code when it reported one. */
  remoteExitCode?: number | undefined;
  syncSkipped?: boolean | undefined;
  createdAt: number;
  endedAt?: number | undefined;
  timings?: Record<string, number> | undefined;
  logTail?: string | undefined;
  logTruncated: boolean;
  junit?: JunitSummary | undefined;
  /** What the run brought back from the box (docs/artifacts.md). */
  artifacts?: ArtifactsSummary | undefined;
}

/**
 * A JUnit summary as JSON: the full summary of src/api/shapes.ts (`junitSummary`, failed cases as objects); rows
 * written before migration 0004 hold a compact form whose `failed` are names.
 */
export interface JunitSummary {
  tests: number;
  failures: number;
  errors: number;
  skipped: number;
  [field: string]: unknown;
}

export interface NewRun {
  id: string;
  leaseId: string;
  slug?: string | undefined;
  provider?: string | undefined;
  owner: string;
  org: string;
  command?: string | undefined;
  createdAt: number;
}

export interface RunFinish {
  exitCode: number;
  /** Default: `succeeded` for exit 0, else `failed`. */
  state?: Exclude<StoredRunState, 'running'> | undefined;
  source?: 'remote' | 'crabbox' | undefined;
  interrupted?: 'SIGINT' | 'SIGTERM' | undefined;
  remoteExitCode?: number | undefined;
  syncSkipped?: boolean | undefined;
  endedAt: number;
  timings?: Record<string, number> | undefined;
  logTail?: string | undefined;
  logTruncated?: boolean | undefined;
  junit?: JunitSummary | undefined;
  artifacts?: ArtifactsSummary | undefined;
}

export interface RunQuery extends PageRequest, OwnerScope {
  leaseId?: string | undefined;
  state?: StoredRunState | undefined;
}

/** Run records: created while a lease is live, finished once. */
export interface RunStore {
  createRun(run: NewRun): Promise<RunRecord>;
  /** Finishes a running run; undefined if it already finished. */
  finishRun(id: string, finish: RunFinish): Promise<RunRecord | undefined>;
  getRun(id: string): Promise<RunRecord | undefined>;
  /** Newest first, without log tails. */
  listRuns(query: RunQuery): Promise<Page<RunRecord>>;
}

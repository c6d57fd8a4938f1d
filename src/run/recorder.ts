/**
 * What `crabbox run` tells the run store. The shape matches the records module's `RunRecorder`
 * (src/runs/recorder.ts): `start` returns the run id, `finish` closes the record, so its local recorder plugs in as is.
 */
export interface RunStart {
  leaseId: string;
  slug: string;
  provider: string;
  /** Undefined when command recording is disabled. */
  command?: string[] | undefined;
}

/** Phase durations in milliseconds; a phase that did not happen is absent. */
export interface PhaseTimings {
  lease?: number;
  wait?: number;
  sync?: number;
  command?: number;
  release?: number;
  total?: number;
}

/** The bounded, redacted tail of the combined output. */
export interface LogTailSnapshot {
  text: string;
  totalBytes: number;
  truncated: boolean;
}

export interface RunFinish {
  exitCode?: number | undefined;
  /** `remote` when exitCode is the command's own, `crabbox` when crabbox failed first. */
  source?: 'remote' | 'crabbox' | undefined;
  interrupted?: boolean | undefined;
  timings: PhaseTimings;
  logTail?: LogTailSnapshot | undefined;
  syncSkipped?: boolean | undefined;
}

export interface RunRecorder {
  /** Records that a run started; returns its id (`run_` + 12 hex). */
  start(input: RunStart): Promise<string>;
  finish(runId: string, result: RunFinish): Promise<void>;
}

/** Collects the combined output for the record (the records module's LogTail fits). */
export interface OutputTail {
  write(chunk: Buffer): void;
  close(): void;
  snapshot(): LogTailSnapshot;
}

/** What the run command tells the run store. The records module implements it; the default does nothing. */
export interface RunStart {
  runId: string;
  leaseId: string;
  slug: string;
  provider: string;
  /** Undefined when command recording is disabled. */
  command: string[] | undefined;
  shell: boolean;
  startedAt: number;
}

export interface RunFinish {
  runId: string;
  exitCode: number | undefined;
  state: 'succeeded' | 'failed' | 'interrupted' | 'error';
  error?: string | undefined;
  timings: RunTimings;
  syncSkipped: boolean;
  endedAt: number;
}

export interface RunTimings {
  leaseMs: number;
  syncMs: number;
  commandMs: number;
  releaseMs: number;
  totalMs: number;
}

/** Receives run lifecycle events and the command's combined output (for a bounded, redacted log tail). */
export interface RunRecorder {
  start(run: RunStart): Promise<void> | void;
  /** Each chunk of command output in arrival order. */
  output(chunk: Buffer, stream: 'stdout' | 'stderr'): void;
  finish(run: RunFinish): Promise<void> | void;
}

/** The recorder used until the run store is wired in. */
export const noopRecorder: RunRecorder = { start: () => undefined, output: () => undefined, finish: () => undefined };

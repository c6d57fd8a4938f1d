import type { CoordinatorClient } from '../api/client.ts';
import { isCrabboxError } from '../domain/errors.ts';
import { redact, redactValue } from '../redact/redact.ts';
import type { RunFinish, RunRecorder, RunStart } from './recorder.ts';
import type { JUnitSummary } from '../results/junit.ts';

export interface RemoteRunRecorderOptions {
  client: CoordinatorClient;
  /** config.run.recordCommand and --no-record-command. */
  recordCommand: boolean;
  /** Bound on the finish call, so an interrupted run does not hang on a slow coordinator. */
  finishTimeoutMs?: number | undefined;
}

/** Exit codes the coordinator accepts are 0-255; anything else is recorded as 255. */
const wireExitCode = (code: number | undefined): number => (code === undefined || !Number.isInteger(code) || code < 0 || code > 255 ? 255 : code);

/** Failed cases the coordinator keeps per run (the rest are counted in failedOmitted). */
export const COORDINATOR_FAILED_CASES = 20;
/** Each failed case's detail (stack trace) is cut to this for the coordinator. */
const COORDINATOR_DETAIL_CHARS = 1000;

/** The JUnit summary as sent to the coordinator: the same shape, with at most 20 failed cases and shorter details. */
export function coordinatorJunit(j: JUnitSummary): JUnitSummary {
  const failed = j.failed.slice(0, COORDINATOR_FAILED_CASES).map((f) => ({ ...f, ...(f.detail !== undefined ? { detail: f.detail.slice(0, COORDINATOR_DETAIL_CHARS) } : {}) }));
  return { ...j, failed, failedOmitted: j.failedOmitted + (j.failed.length - failed.length) };
}

/** Keeps run records on the coordinator (brokered mode): POST /v1/runs, then POST /v1/runs/:id/finish. */
export class RemoteRunRecorder implements RunRecorder {
  readonly #options: RemoteRunRecorderOptions;

  constructor(options: RemoteRunRecorderOptions) {
    this.#options = options;
  }

  async start(input: RunStart): Promise<string> {
    const command = this.#options.recordCommand && input.command ? redact(input.command.join(' ')).slice(0, 4096) : undefined;
    const { run } = await this.#options.client.call('createRun', { body: { leaseId: input.leaseId, ...(command ? { command } : {}), ...(input.forwardsEnv ? { forwardsEnv: true } : {}) } });
    return run.id;
  }

  async finish(runId: string, result: RunFinish): Promise<void> {
    const timings: Record<string, number> = {};
    for (const [phase, ms] of Object.entries(result.timings) as [string, number | undefined][]) {
      if (ms !== undefined && Number.isFinite(ms) && ms >= 0) timings[phase] = Math.round(ms);
    }
    const body = {
      exitCode: wireExitCode(result.exitCode),
      ...(result.source ? { source: result.source } : {}),
      ...(result.interrupted ? { interrupted: result.interrupted } : {}),
      ...(result.remoteExitCode !== undefined && Number.isInteger(result.remoteExitCode) && result.remoteExitCode >= 0 && result.remoteExitCode <= 255 ? { remoteExitCode: result.remoteExitCode } : {}),
      ...(result.syncSkipped !== undefined ? { syncSkipped: result.syncSkipped } : {}),
      timings,
      ...(result.logTail ? { logTail: redact(result.logTail.text) } : {}),
      ...(result.junit ? { junit: coordinatorJunit(result.junit) } : {}),
      ...(result.artifacts ? { artifacts: redactValue(result.artifacts) } : {}),
    };
    try {
      await this.#options.client.call('finishRun', { params: { id: runId }, body }, { timeoutMs: this.#options.finishTimeoutMs ?? 15_000 });
    } catch (error) {
      // Finishing twice keeps the first result, as the local recorder does.
      if (isCrabboxError(error) && error.code === 'conflict') return;
      throw error;
    }
  }
}

import type { CoordinatorClient } from '../api/client.ts';
import { oneRunAnswer } from '../api/answers.ts';
import { isCrabboxError } from '../domain/errors.ts';
import { redact } from '../redact/redact.ts';
import type { RunFinish, RunRecorder, RunStart } from './recorder.ts';
import { PHASES } from './record.ts';

export interface RemoteRunRecorderOptions {
  client: CoordinatorClient;
  /** config.run.recordCommand and --no-record-command. */
  recordCommand: boolean;
  /** Bound on the finish call, so an interrupted run does not hang on a slow coordinator. */
  finishTimeoutMs?: number | undefined;
}

/** Exit codes the coordinator accepts are 0-255; anything else is recorded as 255. */
const wireExitCode = (code: number | undefined): number => (code === undefined || !Number.isInteger(code) || code < 0 || code > 255 ? 255 : code);

/** Keeps run records on the coordinator (brokered mode): POST /v1/runs, then POST /v1/runs/:id/finish. */
export class RemoteRunRecorder implements RunRecorder {
  readonly #options: RemoteRunRecorderOptions;

  constructor(options: RemoteRunRecorderOptions) {
    this.#options = options;
  }

  async start(input: RunStart): Promise<string> {
    const command = this.#options.recordCommand && input.command ? redact(input.command.join(' ')).slice(0, 4096) : undefined;
    const { run } = await this.#options.client.request('POST', '/v1/runs', oneRunAnswer, { leaseId: input.leaseId, ...(command ? { command } : {}) });
    return run.id;
  }

  async finish(runId: string, result: RunFinish): Promise<void> {
    const timings: Record<string, number> = {};
    for (const phase of PHASES) {
      const ms = result.timings[phase];
      if (ms !== undefined && Number.isFinite(ms) && ms >= 0) timings[phase] = Math.round(ms);
    }
    const junit = result.junit
      ? { tests: result.junit.tests, failures: result.junit.failures, errors: result.junit.errors, skipped: result.junit.skipped, failed: result.junit.failed.slice(0, 20).map((f) => redact(f.suite ? `${f.suite} › ${f.name}` : f.name).slice(0, 300)) }
      : undefined;
    const body = {
      exitCode: wireExitCode(result.exitCode),
      timings,
      ...(result.logTail ? { logTail: redact(result.logTail.text) } : {}),
      ...(junit ? { junit } : {}),
    };
    try {
      await this.#options.client.request('POST', `/v1/runs/${encodeURIComponent(runId)}/finish`, oneRunAnswer, body, { timeoutMs: this.#options.finishTimeoutMs ?? 15_000 });
    } catch (error) {
      // Finishing twice keeps the first result, as the local recorder does.
      if (isCrabboxError(error) && error.code === 'conflict') return;
      throw error;
    }
  }
}

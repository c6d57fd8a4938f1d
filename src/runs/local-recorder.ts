import type { Clock } from '../domain/clock.ts';
import { CrabboxError } from '../domain/errors.ts';
import { newRunId } from '../domain/ids.ts';
import type { Config } from '../config/load.ts';
import { finalState, type RunRecord } from './record.ts';
import type { RunFinish, RunRecorder, RunStart } from './recorder.ts';
import { currentProcess } from './owner-process.ts';
import { LocalRunStore } from './store.ts';

export interface LocalRunRecorderOptions {
  store: LocalRunStore;
  clock: Clock;
  /** config.run.recordCommand and --no-record-command. */
  recordCommand: boolean;
  random?: (n: number) => Uint8Array;
}

const iso = (ms: number): string => new Date(ms).toISOString();

/** Keeps run records in the local store (direct mode). */
export class LocalRunRecorder implements RunRecorder {
  readonly #options: LocalRunRecorderOptions;

  constructor(options: LocalRunRecorderOptions) {
    this.#options = options;
  }

  async start(input: RunStart): Promise<string> {
    const id = newRunId(this.#options.random);
    const record: RunRecord = {
      version: 1,
      id,
      leaseId: input.leaseId,
      slug: input.slug,
      provider: input.provider,
      ...(this.#options.recordCommand && input.command ? { command: [...input.command] } : {}),
      state: 'running',
      owner: currentProcess(),
      timings: {},
      startedAt: iso(this.#options.clock.now()),
    };
    this.#options.store.save(record);
    return id;
  }

  async finish(runId: string, result: RunFinish): Promise<void> {
    const { store, clock } = this.#options;
    let record: RunRecord;
    try {
      record = store.get(runId);
    } catch (error) {
      throw new CrabboxError('run_not_found', `cannot finish run ${runId}: it is not in local history`, { cause: error });
    }
    if (record.state !== 'running') return;
    const source = result.source ?? 'remote';
    // A finished record needs no owner: only a `running` one is checked for a dead process.
    const { owner: _owner, ...rest } = record;
    const finished: RunRecord = {
      ...rest,
      state: finalState({ exitCode: result.exitCode, source, interrupted: result.interrupted !== undefined }),
      ...(result.exitCode === undefined ? {} : { exitCode: result.exitCode }),
      source,
      ...(result.interrupted ? { interrupted: result.interrupted } : {}),
      ...(result.remoteExitCode === undefined ? {} : { remoteExitCode: result.remoteExitCode }),
      timings: { ...result.timings },
      endedAt: iso(clock.now()),
      ...(result.syncSteps ? { syncSteps: Object.fromEntries(Object.entries(result.syncSteps).slice(0, 20)) } : {}),
      ...(result.syncSkipped === undefined ? {} : { syncSkipped: result.syncSkipped }),
      ...(result.logTail ? { logTail: result.logTail } : {}),
      ...(result.junit ? { junit: result.junit } : {}),
      ...(result.artifacts ? { artifacts: result.artifacts } : {}),
    };
    store.save(finished);
  }
}

/** The local recorder for a resolved config: `<stateDir>/runs`, bounded by run.historyLimit. */
export function createLocalRunRecorder(options: { config: Pick<Config, 'paths' | 'run'>; clock: Clock; recordCommand?: boolean }): LocalRunRecorder {
  const store = new LocalRunStore({ stateDir: options.config.paths.stateDir, historyLimit: options.config.run.historyLimit, clock: options.clock });
  return new LocalRunRecorder({ store, clock: options.clock, recordCommand: options.recordCommand ?? options.config.run.recordCommand });
}

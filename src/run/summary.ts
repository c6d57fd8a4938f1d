import type { CrabboxError } from '../domain/errors.ts';
import type { JUnitSummary, JUnitTotals } from '../results/junit.ts';
import type { ArtifactsSummary } from '../artifacts/download.ts';
import type { PhaseTimings } from '../runs/record.ts';
import type { RunOutcome } from './run.ts';
import { formatSeconds } from '../domain/duration.ts';
import { schemaId } from '../api/schema-id.ts';

/**
 * What `crabbox run` reports when it is done: one timing line for people (stderr) and one result object for agents
 * (stdout with --json, or --result-file). Both are pure functions of the run's outcome.
 */
export interface ResultInput {
  exitCode: number;
  /** 'remote' when exitCode is the command's own, 'crabbox' when crabbox failed before the command finished. */
  source: 'remote' | 'crabbox';
  runId?: string | undefined;
  lease?: { id: string; slug: string; fresh?: boolean; released?: boolean } | undefined;
  timings: PhaseTimings;
  syncSkipped: boolean;
  junit?: JUnitSummary | undefined;
  /** What `crabbox run` adds after the v1 core fields (absent for callers that only have a record). */
  run?: RunDetails | undefined;
}

/** The result object's fields after the v1 core: how the command and the sync went. */
export interface RunDetails {
  /** The command's own exit code, or null when it never reported one. */
  remoteExitCode: number | null;
  sync: { state: RunOutcome['sync']; files: number | null; bytes: number | null; deleted: number };
  interrupted: 'SIGINT' | 'SIGTERM' | null;
  error: { error: string; message: string; hint?: string } | null;
  /** What came back from the box; absent when nothing was asked for. */
  artifacts?: ArtifactsSummary;
}

export { formatSeconds } from '../domain/duration.ts';

/** The one-line timing summary: `sync=skipped command=1.23s total=1.40s exit=0 run=run_… lease=…`. */
export function formatSummaryLine(input: {
  timings: PhaseTimings;
  syncSkipped: boolean;
  exitCode: number;
  /** `off` with --no-sync; otherwise the sync column follows syncSkipped and timings.sync. */
  syncState?: RunOutcome['sync'] | undefined;
  runId?: string | undefined;
  slug?: string | undefined;
  interrupted?: string | undefined;
}): string {
  const sync = input.syncState === 'off' ? 'off' : input.syncState === 'not-run' ? '-' : input.syncSkipped ? 'skipped' : formatSeconds(input.timings.sync);
  const extra = [input.runId ? `run=${input.runId}` : '', input.slug ? `lease=${input.slug}` : '', input.interrupted ? `interrupted=${input.interrupted}` : ''].filter(Boolean);
  return [`sync=${sync} command=${formatSeconds(input.timings.command)} total=${formatSeconds(input.timings.total)} exit=${input.exitCode}`, ...extra].join(' ');
}

/** The result object's JUnit part: counts only (failed cases are in `crabbox results <run-id>`). */
export interface ResultJUnitCounts extends JUnitTotals {
  /** How many report files were given (including ones skipped with a warning). */
  files: number;
  warnings: number;
}

/** The machine-readable result of `crabbox run`, version 1. Documented in docs/results.md; fields are only ever added. */
export interface RunResultObject extends Partial<RunDetails> {
  schema: 'crabbox.run/v1';
  version: 1;
  exitCode: number;
  source: 'remote' | 'crabbox';
  runId: string | null;
  lease: { id: string; slug: string; fresh?: boolean; released?: boolean } | null;
  /** Deprecated (version 1 keeps it): whole milliseconds per phase; absent phases are null. */
  timingsMs: { prepare: number | null; lease: number | null; wait: number | null; sync: number | null; command: number | null; release: number | null; total: number | null };
  /** Whole milliseconds per phase, named as run records name them; absent phases are left out. */
  timings: Record<string, number>;
  syncSkipped: boolean;
  junit: ResultJUnitCounts | null;
}

const ms = (value: number | undefined): number | null => (value === undefined || !Number.isFinite(value) || value < 0 ? null : Math.round(value));

/** Phase timings as whole milliseconds, the form run records store; a phase that did not happen is left out. */
export function wholeMs(timings: PhaseTimings): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [phase, value] of Object.entries(timings)) {
    const v = ms(value as number | undefined);
    if (v !== null) out[phase] = v;
  }
  return out;
}

/** Builds the result object for agents. */
export function resultObject(outcome: ResultInput): RunResultObject {
  const t = outcome.timings;
  const j = outcome.junit;
  return {
    schema: schemaId('run'),
    version: 1,
    exitCode: outcome.exitCode,
    source: outcome.source,
    runId: outcome.runId ?? null,
    lease: outcome.lease ? { ...outcome.lease } : null,
    timingsMs: { prepare: ms(t.prepare), lease: ms(t.lease), wait: ms(t.wait), sync: ms(t.sync), command: ms(t.command), release: ms(t.release), total: ms(t.total) },
    timings: wholeMs(t),
    syncSkipped: outcome.syncSkipped,
    junit: j ? { tests: j.tests, passed: j.passed, failures: j.failures, errors: j.errors, skipped: j.skipped, time: j.time, files: j.files.length, warnings: j.warnings.length } : null,
    ...outcome.run,
  };
}

/** Phase timings of a `runOnBox` outcome; a phase that did not happen is absent. */
export function runPhases(outcome: RunOutcome): PhaseTimings {
  const t = outcome.timings;
  return {
    prepare: t.prepareMs,
    lease: t.leaseMs,
    ...(outcome.sync === 'not-run' ? {} : { sync: t.syncMs }),
    ...(outcome.remoteExitCode === undefined ? {} : { command: t.commandMs }),
    release: t.releaseMs,
    total: t.totalMs,
  };
}

/** Whose exit code a `runOnBox` outcome carries. */
export function runSource(outcome: Pick<RunOutcome, 'remoteExitCode' | 'interrupted'>): 'remote' | 'crabbox' {
  return outcome.remoteExitCode !== undefined && !outcome.interrupted ? 'remote' : 'crabbox';
}

/** The report input for a finished `crabbox run`. */
export function fromRunOutcome(outcome: RunOutcome, sync: { files: number; bytes: number } | undefined, junit: JUnitSummary | undefined, artifacts?: ArtifactsSummary | undefined): ResultInput {
  const error: CrabboxError | undefined = outcome.error;
  return {
    exitCode: outcome.exitCode,
    source: runSource(outcome),
    runId: outcome.runId,
    lease: outcome.leaseId && outcome.slug ? { id: outcome.leaseId, slug: outcome.slug, fresh: outcome.fresh, released: outcome.released } : undefined,
    timings: runPhases(outcome),
    syncSkipped: outcome.sync !== 'synced',
    junit,
    run: {
      remoteExitCode: outcome.remoteExitCode ?? null,
      sync: { state: outcome.sync, files: sync ? sync.files : null, bytes: sync ? sync.bytes : null, deleted: outcome.deleted },
      interrupted: outcome.interrupted ?? null,
      error: error ? { error: error.code, message: error.message, ...(error.hint ? { hint: error.hint } : {}) } : null,
      ...(artifacts === undefined ? {} : { artifacts }),
    },
  };
}

import type { JUnitSummary, JUnitTotals } from '../results/junit.ts';
import type { PhaseTimings } from '../runs/record.ts';

/**
 * What `crabbox run` reports when it is done: one timing line for people (stderr) and one result object for agents
 * (stdout with --json, or --result-file). Both are pure functions of the run's outcome.
 */
export interface RunOutcome {
  exitCode: number;
  /** 'remote' when exitCode is the command's own, 'crabbox' when crabbox failed before the command finished. */
  source: 'remote' | 'crabbox';
  runId?: string | undefined;
  lease?: { id: string; slug: string } | undefined;
  timings: PhaseTimings;
  syncSkipped: boolean;
  junit?: JUnitSummary | undefined;
}

/** Milliseconds as `1.23s`; an absent phase is `-`. */
export function formatSeconds(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms) || ms < 0) return '-';
  return `${(ms / 1000).toFixed(2)}s`;
}

/** The one-line timing summary: `sync=skipped command=1.23s total=1.40s exit=0`. */
export function formatSummaryLine(input: { timings: PhaseTimings; syncSkipped: boolean; exitCode: number }): string {
  const sync = input.syncSkipped ? 'skipped' : formatSeconds(input.timings.sync);
  return `sync=${sync} command=${formatSeconds(input.timings.command)} total=${formatSeconds(input.timings.total)} exit=${input.exitCode}`;
}

/** The result object's JUnit part: counts only (failed cases are in `crabbox results <run-id>`). */
export interface ResultJUnitCounts extends JUnitTotals {
  /** How many report files were given (including ones skipped with a warning). */
  files: number;
  warnings: number;
}

/** The machine-readable result of `crabbox run`, version 1. Documented in docs/results.md; fields are only ever added. */
export interface RunResultObject {
  version: 1;
  exitCode: number;
  source: 'remote' | 'crabbox';
  runId: string | null;
  lease: { id: string; slug: string } | null;
  /** Whole milliseconds per phase; absent phases are null. */
  timingsMs: { lease: number | null; wait: number | null; sync: number | null; command: number | null; release: number | null; total: number | null };
  syncSkipped: boolean;
  junit: ResultJUnitCounts | null;
}

const ms = (value: number | undefined): number | null => (value === undefined || !Number.isFinite(value) || value < 0 ? null : Math.round(value));

/** Builds the result object for agents. */
export function resultObject(outcome: RunOutcome): RunResultObject {
  const t = outcome.timings;
  const j = outcome.junit;
  return {
    version: 1,
    exitCode: outcome.exitCode,
    source: outcome.source,
    runId: outcome.runId ?? null,
    lease: outcome.lease ? { id: outcome.lease.id, slug: outcome.lease.slug } : null,
    timingsMs: { lease: ms(t.lease), wait: ms(t.wait), sync: ms(t.sync), command: ms(t.command), release: ms(t.release), total: ms(t.total) },
    syncSkipped: outcome.syncSkipped,
    junit: j ? { tests: j.tests, passed: j.passed, failures: j.failures, errors: j.errors, skipped: j.skipped, time: j.time, files: j.files.length, warnings: j.warnings.length } : null,
  };
}

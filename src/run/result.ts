import type { PreparedSync } from '../sync/prepare.ts';
import type { RunOutcome } from './run.ts';

/**
 * The `--json` / `--result-file` object. Its first fields are the records module's result object, version 1
 * (src/run/summary.ts, docs/results.md); the rest are additions (fields are only ever added).
 */
export interface RunResultObject {
  version: 1;
  /** What crabbox exits with. */
  exitCode: number;
  /** `remote` when exitCode is the command's own; `crabbox` when crabbox failed or was interrupted first. */
  source: 'remote' | 'crabbox';
  runId: string | null;
  lease: { id: string; slug: string; fresh: boolean; released: boolean } | null;
  timingsMs: { lease: number | null; wait: number | null; sync: number | null; command: number | null; release: number | null; total: number | null };
  syncSkipped: boolean;
  /** JUnit counts; null until result collection is wired in. */
  junit: null;
  /** The command's own exit code, or null when it never reported one. */
  remoteExitCode: number | null;
  sync: { state: RunOutcome['sync']; files: number | null; bytes: number | null; deleted: number };
  interrupted: 'SIGINT' | 'SIGTERM' | null;
  error: { error: string; message: string; hint?: string } | null;
}

/** Builds the machine-readable result of a run. */
export function runResult(outcome: RunOutcome, sync: PreparedSync | undefined): RunResultObject {
  const { error, timings: t } = outcome;
  return {
    version: 1,
    exitCode: outcome.exitCode,
    source: outcome.remoteExitCode !== undefined && !outcome.interrupted ? 'remote' : 'crabbox',
    runId: outcome.runId,
    lease: outcome.leaseId && outcome.slug ? { id: outcome.leaseId, slug: outcome.slug, fresh: outcome.fresh, released: outcome.released } : null,
    timingsMs: { lease: t.leaseMs, wait: null, sync: outcome.sync === 'not-run' ? null : t.syncMs, command: outcome.remoteExitCode === undefined ? null : t.commandMs, release: t.releaseMs, total: t.totalMs },
    syncSkipped: outcome.sync !== 'synced',
    junit: null,
    remoteExitCode: outcome.remoteExitCode ?? null,
    sync: { state: outcome.sync, files: sync ? sync.manifest.entries.length : null, bytes: sync ? sync.manifest.bytes : null, deleted: outcome.deleted },
    interrupted: outcome.interrupted ?? null,
    error: error ? { error: error.code, message: error.message, ...(error.hint ? { hint: error.hint } : {}) } : null,
  };
}

const seconds = (ms: number): string => `${(ms / 1000).toFixed(2)}s`;

/** The one-line timing summary on stderr after every run: `sync=skipped command=1.23s total=1.40s exit=0 …`. */
export function summaryLine(outcome: RunOutcome): string {
  const t = outcome.timings;
  const sync = outcome.sync === 'synced' ? seconds(t.syncMs) : outcome.sync === 'not-run' ? '-' : outcome.sync === 'off' ? 'off' : 'skipped';
  const extra = [`run=${outcome.runId}`, outcome.slug ? `lease=${outcome.slug}` : '', outcome.interrupted ? `interrupted=${outcome.interrupted}` : ''].filter(Boolean).join(' ');
  return `sync=${sync} command=${outcome.remoteExitCode === undefined ? '-' : seconds(t.commandMs)} total=${seconds(t.totalMs)} exit=${outcome.exitCode} ${extra}`;
}

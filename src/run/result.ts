import { formatMillis } from '../domain/duration.ts';
import type { PreparedSync } from '../sync/prepare.ts';
import type { RunOutcome } from './run.ts';

/** The `--json` / `--result-file` object (documented in docs/run.md). */
export interface RunResultObject {
  runId: string;
  /** What crabbox exits with. */
  exitCode: number;
  /** The remote command's own exit code, or null when it never reported one. */
  remoteExitCode: number | null;
  /** `remote` when exitCode is the command's; `crabbox` when crabbox failed or was interrupted. */
  source: 'remote' | 'crabbox';
  lease: { id: string | null; slug: string | null; fresh: boolean; released: boolean };
  sync: { state: RunOutcome['sync'] | 'off'; skipped: boolean; files: number | null; bytes: number | null; deleted: number };
  timings: RunOutcome['timings'];
  interrupted: 'SIGINT' | 'SIGTERM' | null;
  error: { error: string; message: string; hint?: string } | null;
  /** JUnit summary; null until result collection is wired in (the records module). */
  junit: null | { paths: string[]; tests?: number; failures?: number; errors?: number; skipped?: number };
}

/** Builds the machine-readable result of a run. */
export function resultObject(outcome: RunOutcome, extra: { sync: PreparedSync | undefined; junit: string[] | undefined }): RunResultObject {
  const { error } = outcome;
  return {
    runId: outcome.runId,
    exitCode: outcome.exitCode,
    remoteExitCode: outcome.remoteExitCode ?? null,
    source: outcome.remoteExitCode !== undefined && !outcome.interrupted ? 'remote' : 'crabbox',
    lease: { id: outcome.leaseId ?? null, slug: outcome.slug ?? null, fresh: outcome.fresh, released: outcome.released },
    sync: {
      state: extra.sync ? outcome.sync : 'off',
      skipped: outcome.sync !== 'synced',
      files: extra.sync ? extra.sync.manifest.entries.length : null,
      bytes: extra.sync ? extra.sync.manifest.bytes : null,
      deleted: outcome.deleted,
    },
    timings: outcome.timings,
    interrupted: outcome.interrupted ?? null,
    error: error ? { error: error.code, message: error.message, ...(error.hint ? { hint: error.hint } : {}) } : null,
    junit: extra.junit?.length ? { paths: extra.junit } : null,
  };
}

/** The one-line timing summary printed on stderr after every run. */
export function summaryLine(outcome: RunOutcome): string {
  const t = outcome.timings;
  const sync = outcome.sync === 'skipped' ? `skipped(${formatMillis(t.syncMs)})` : outcome.sync === 'off' ? 'off' : formatMillis(t.syncMs);
  const exit = outcome.remoteExitCode ?? `none(crabbox ${outcome.exitCode})`;
  return `crabbox: sync=${sync} command=${formatMillis(t.commandMs)} total=${formatMillis(t.totalMs)} exit=${exit} run=${outcome.runId}${outcome.slug ? ` lease=${outcome.slug}` : ''}${outcome.interrupted ? ` interrupted=${outcome.interrupted}` : ''}`;
}

import { schemaId } from '../api/schema-id.ts';
import type { HistoryEntry, JUnitSummaryShape, LogsJson, ResultsJson } from '../api/shapes.ts';
import type { RunRecord } from './record.ts';

/**
 * The `--json` shapes of `history`, `logs` and `results`, built from a run record whichever mode kept it (a local
 * file or the coordinator, mapped in remote-history.ts). The schemas are in src/api/shapes.ts.
 */

/** A history entry: the record without its log tail (its size instead) and with JUnit counts only. */
export function historyEntry(r: RunRecord): HistoryEntry {
  const j = r.junit;
  return {
    version: 1,
    id: r.id,
    leaseId: r.leaseId,
    slug: r.slug,
    provider: r.provider,
    command: r.command ? [...r.command] : null,
    state: r.state,
    exitCode: r.exitCode ?? null,
    source: r.source ?? null,
    interrupted: r.interrupted ?? null,
    remoteExitCode: r.remoteExitCode ?? null,
    timings: { ...r.timings } as Record<string, number>,
    syncSkipped: r.syncSkipped ?? null,
    startedAt: r.startedAt,
    endedAt: r.endedAt ?? null,
    logTailBytes: r.logTail ? Buffer.byteLength(r.logTail.text) : 0,
    junit: j ? { tests: j.tests, passed: j.passed, failures: j.failures, errors: j.errors, skipped: j.skipped, time: j.time } : null,
  };
}

export function resultsJson(r: RunRecord): ResultsJson {
  return { schema: schemaId('results'), runId: r.id, state: r.state, exitCode: r.exitCode ?? null, junit: (r.junit as JUnitSummaryShape | undefined) ?? null, ...(r.artifacts ? { artifacts: r.artifacts } : {}) };
}

export function logsJson(r: RunRecord): LogsJson {
  return { schema: schemaId('logs'), runId: r.id, state: r.state, exitCode: r.exitCode ?? null, logTail: r.logTail ?? { text: '', totalBytes: 0, truncated: false } };
}

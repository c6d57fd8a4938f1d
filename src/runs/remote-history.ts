import type { CoordinatorClient } from '../api/client.ts';
import type { RunViewAnswer } from '../api/answers.ts';
import { parseLeaseRef } from '../domain/ids.ts';
import { artifactsSummary, normalizeJunit } from '../api/shapes.ts';
import type { JUnitSummary } from '../results/junit.ts';
import type { PhaseTimings, RunRecord, RunState } from './record.ts';
import { parseRunId } from './store.ts';

/** A run as the coordinator keeps it. */
export interface RemoteRun {
  record: RunRecord;
}

/** The coordinator's run view in the local record shape, so history, logs and results print the same in both modes. */
export function recordFromView(v: RunViewAnswer, logTail?: { text: string; truncated: boolean }): RunRecord {
  const timings: PhaseTimings = {};
  for (const [phase, ms] of Object.entries(v.timings ?? {})) (timings as Record<string, number>)[phase] = ms;
  const state: RunState = v.state;
  const junit = v.junit === undefined ? undefined : normalizeJunit(v.junit);
  // A shape this CLI does not know (a newer coordinator) is left out rather than misread.
  const artifacts = v.artifacts === undefined ? undefined : artifactsSummary.safeParse(v.artifacts).data;
  return {
    version: 1,
    id: v.id,
    leaseId: v.leaseId,
    slug: v.slug ?? '',
    provider: v.provider ?? '',
    ...(v.command !== undefined ? { command: [v.command] } : {}),
    state,
    ...(v.exitCode !== undefined ? { exitCode: v.exitCode } : {}),
    ...(v.source ? { source: v.source } : v.exitCode !== undefined ? { source: 'remote' as const } : {}),
    ...(v.interrupted ? { interrupted: v.interrupted } : {}),
    ...(v.remoteExitCode !== undefined ? { remoteExitCode: v.remoteExitCode } : {}),
    ...(v.syncSkipped !== undefined ? { syncSkipped: v.syncSkipped } : {}),
    timings,
    startedAt: v.createdAt,
    ...(v.endedAt ? { endedAt: v.endedAt } : {}),
    ...(logTail ? { logTail: { text: logTail.text, totalBytes: Buffer.byteLength(logTail.text), truncated: logTail.truncated } } : {}),
    ...(junit ? { junit: junit as JUnitSummary } : {}),
    ...(artifacts ? { artifacts } : {}),
  };
}

/** Runs from the coordinator, newest first: by lease (id or slug), state and limit (pages through at most `limit`). */
export async function listRemoteRuns(client: CoordinatorClient, filter: { lease?: string | undefined; state?: RunState | undefined; limit: number }): Promise<RunRecord[]> {
  let leaseId: string | undefined;
  if (filter.lease !== undefined) {
    const ref = parseLeaseRef(filter.lease);
    leaseId = ref.kind === 'id' ? ref.value : (await client.call('getLease', { params: { ref: ref.value } })).lease.id;
  }
  const out: RunRecord[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < 50 && out.length < filter.limit; page++) {
    // `abandoned` exists only as a reading of local records: the coordinator has none.
    if (filter.state === 'abandoned') return [];
    const answer = await client.call('listRuns', { query: { limit: 500, leaseId, state: filter.state, cursor } });
    for (const run of answer.runs) out.push(recordFromView(run));
    cursor = answer.nextCursor;
    if (!cursor) break;
  }
  return out.slice(0, filter.limit);
}

/** One run from the coordinator, with its log tail. */
export async function getRemoteRun(client: CoordinatorClient, runId: string, withLogs: boolean): Promise<RemoteRun> {
  runId = parseRunId(runId);
  const { run } = await client.call('getRun', { params: { id: runId } });
  const logs = withLogs ? await client.call('runLogs', { params: { id: runId } }) : undefined;
  return { record: recordFromView(run, logs ? { text: logs.logTail, truncated: logs.truncated } : undefined) };
}

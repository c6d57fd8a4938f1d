import * as z from 'zod';
import { RUN_STATES } from '../runs/record.ts';
import { schemaId } from './schema-id.ts';

export { schemaId } from './schema-id.ts';

export { RUN_STATES, type RunState } from '../runs/record.ts';

/**
 * The `--json` shapes the CLI prints, one schema per shape, the same in direct and brokered mode (docs/cli.md).
 * The coordinator's run records use the same JUnit schema, so `results --json` cannot differ by mode. The CLI builds
 * these with typed functions (z.infer below); the tests parse real output of both modes with the schemas.
 * Times are ISO 8601 (UTC); durations are whole milliseconds; an unknown value is null, never a missing key.
 */

/**
 * Every document the CLI prints with `--json` names its shape and version in a `schema` field
 * (`"schema": "crabbox.run/v1"`); a version changes only when a field changes meaning or goes away.
 * docs/schemas/ holds the JSON Schema of each, generated from these zod schemas (`npm run schemas`).
 */
/** A versioned top-level document: `schema` first, then the shape's own fields. */
export function document<N extends string, S extends z.core.$ZodLooseShape>(name: N, shape: S) {
  return z.strictObject({ schema: z.literal(schemaId(name)), ...shape });
}

export const iso = z.string().regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/, 'expected an ISO 8601 UTC time').refine((s) => !Number.isNaN(Date.parse(s)), 'expected an ISO 8601 UTC time');
export const count = z.number().int().min(0);

export const runState = z.enum(RUN_STATES);
export const interruptSignal = z.enum(['SIGINT', 'SIGTERM']);
export const exitSource = z.enum(['remote', 'crabbox']);

// Bounds follow src/results/junit.ts (JUNIT_LIMITS), plus room for its "… [N more characters]" marker.
export const junitTotals = { tests: count, passed: count, failures: count, errors: count, skipped: count, time: z.number().min(0) };

export const junitFailedCase = z.strictObject({
  kind: z.enum(['failure', 'error']),
  suite: z.string().max(600),
  name: z.string().max(600),
  classname: z.string().max(600).optional(),
  file: z.string().max(600).optional(),
  line: z.number().int().min(0).optional(),
  message: z.string().max(1100).optional(),
  type: z.string().max(600).optional(),
  detail: z.string().max(4100).optional(),
});

export const junitFile = z.strictObject({
  path: z.string().max(600),
  status: z.enum(['ok', 'malformed', 'too_large', 'not_junit', 'skipped']),
  ...junitTotals,
});

/** A JUnit summary as records keep it (both modes) and `results --json` prints it. */
export const junitSummary = z.strictObject({
  ...junitTotals,
  files: z.array(junitFile).max(200),
  failed: z.array(junitFailedCase).max(100),
  failedOmitted: count,
  warnings: z.array(z.string().max(400)).max(50),
});
export type JUnitSummaryShape = z.infer<typeof junitSummary>;

/** The compact summary coordinators stored before migration 0004 (and older CLIs still send): failed cases as names. */
export const legacyJunitSummary = z.strictObject({
  tests: count,
  failures: count,
  errors: count,
  skipped: count,
  failed: z.array(z.string().max(300)).max(20),
});

/** Any stored or sent JUnit summary in the one shape; legacy compact ones get their names as failure cases. */
export function normalizeJunit(value: unknown): JUnitSummaryShape | undefined {
  const full = junitSummary.safeParse(value);
  if (full.success) return full.data;
  const legacy = legacyJunitSummary.safeParse(value);
  if (!legacy.success) return undefined;
  const j = legacy.data;
  return {
    tests: j.tests, passed: Math.max(0, j.tests - j.failures - j.errors - j.skipped), failures: j.failures, errors: j.errors, skipped: j.skipped, time: 0,
    files: [], failed: j.failed.map((name) => ({ kind: 'failure' as const, suite: '', name })), failedOmitted: Math.max(0, j.failures + j.errors - j.failed.length), warnings: [],
  };
}

/** JUnit counts only (history entries). */
export const junitCounts = z.strictObject(junitTotals);

const timings = z.record(z.string().regex(/^[a-z][a-zA-Z0-9_-]{0,31}$/), z.number().min(0));

/** One `crabbox history --json` entry: a run record without its log tail, JUnit reduced to counts. */
export const historyEntry = z.strictObject({
  version: z.literal(1),
  id: z.string().regex(/^run_[0-9a-f]{12}$/),
  leaseId: z.string().regex(/^cbx_[0-9a-f]{12}$/),
  slug: z.string(),
  provider: z.string(),
  /** The command as argv (brokered: one element, the command line as the coordinator stores it); null when not recorded. */
  command: z.array(z.string()).nullable(),
  state: runState,
  /** What `crabbox run` exited with; null while running. */
  exitCode: z.number().int().nullable(),
  /** `remote`: exitCode is the command's own; `crabbox`: crabbox's (a failure or an interrupt). */
  source: exitSource.nullable(),
  /** The signal that interrupted the run, when it was. */
  interrupted: interruptSignal.nullable(),
  /** The command's own exit code when it reported one (it may differ from exitCode after an interrupt). */
  remoteExitCode: z.number().int().nullable(),
  timings,
  syncSkipped: z.boolean().nullable(),
  startedAt: iso,
  endedAt: iso.nullable(),
  logTailBytes: count,
  junit: junitCounts.nullable(),
});
export type HistoryEntry = z.infer<typeof historyEntry>;
export const historyJson = document('history', { runs: z.array(historyEntry) });
export type HistoryJson = z.infer<typeof historyJson>;

/** What `crabbox run --download` (and config `artifacts:`) brought back: the run record's list (docs/artifacts.md). */
export const artifactsSummary = z.strictObject({
  /** The local folder, relative to the checkout. */
  dir: z.string(),
  files: count,
  bytes: count,
  /** At most 200 paths, relative to `dir`. */
  paths: z.array(z.string()).max(200),
  omitted: count,
  /** Matching symlinks and special files: never followed or copied. */
  skipped: count,
  error: z.string().optional(),
});

/** `crabbox results <run> --json`. */
export const resultsJson = document('results', { runId: z.string(), state: runState, exitCode: z.number().int().nullable(), junit: junitSummary.nullable(), artifacts: artifactsSummary.nullable().optional() });
export type ResultsJson = z.infer<typeof resultsJson>;

/** `crabbox logs <run> --json`. */
export const logsJson = document('logs', {
  runId: z.string(),
  state: runState,
  exitCode: z.number().int().nullable(),
  logTail: z.strictObject({ text: z.string(), totalBytes: count, truncated: z.boolean() }),
});
export type LogsJson = z.infer<typeof logsJson>;

const phaseMs = z.number().int().min(0).nullable();

/** `crabbox run --json` and `--result-file`: the result object, version 1 (docs/results.md). */
export const runResultJson = document('run', {
  version: z.literal(1),
  exitCode: z.number().int(),
  source: exitSource,
  /** The run's record; null when the run failed before it had a lease (and so has no record). */
  runId: z.string().regex(/^run_[0-9a-f]{12}$/).nullable(),
  lease: z.strictObject({ id: z.string(), slug: z.string(), fresh: z.boolean().optional(), released: z.boolean().optional() }).nullable(),
  /** Deprecated alias of `timings` with every phase present (null when it did not happen); kept for version 1. */
  timingsMs: z.strictObject({ prepare: phaseMs.optional(), lease: phaseMs, wait: phaseMs, sync: phaseMs, command: phaseMs, release: phaseMs, total: phaseMs }).catchall(phaseMs),
  /** Phase -> whole milliseconds, as run records hold them; a phase that did not happen is absent. */
  timings,
  syncSkipped: z.boolean(),
  junit: z.strictObject({ ...junitTotals, files: count, warnings: count }).nullable(),
  remoteExitCode: z.number().int().nullable().optional(),
  sync: z.strictObject({ state: z.enum(['synced', 'skipped', 'off', 'not-run']), files: count.nullable(), bytes: count.nullable(), deleted: count }).optional(),
  interrupted: interruptSignal.nullable().optional(),
  error: z.strictObject({ error: z.string(), message: z.string(), hint: z.string().optional() }).nullable().optional(),
  /** What came back from the box (`--download`, config `artifacts:`); absent when nothing was asked for. */
  artifacts: artifactsSummary.nullable().optional(),
});
export type RunResultJson = z.infer<typeof runResultJson>;

/** `crabbox whoami --json`. */
export const whoamiJson = document('whoami', {
  owner: z.string(),
  org: z.string(),
  login: z.string().optional(),
  role: z.enum(['user', 'maintainer', 'admin']),
  via: z.enum(['shared-token', 'user-token']),
  expiresAt: iso.optional(),
  access: z.string().optional(),
  coordinator: z.string(),
});
export type WhoamiJson = z.infer<typeof whoamiJson>;

/** A lease as every command shows it (`list` entries; the lease document adds `schema` and `ready`). */
export const leaseEntry = z.strictObject({
  id: z.string().regex(/^cbx_[0-9a-f]{12}$/),
  slug: z.string(),
  provider: z.string(),
  owner: z.string(),
  state: z.enum(['provisioning', 'active', 'released', 'expired', 'failed']),
  keep: z.boolean(),
  ttlSeconds: count,
  idleTimeoutSeconds: count,
  createdAt: iso,
  lastTouchedAt: iso,
  expiresAt: iso,
  expiresInSeconds: count,
  class: z.string().nullable(),
  type: z.string().nullable(),
  machine: z.strictObject({
    providerId: z.string(),
    status: z.enum(['provisioning', 'running', 'stopped', 'deleting', 'unknown']),
    host: z.string(),
    ports: z.array(z.number().int()),
    sshUser: z.string(),
    workRoot: z.string(),
  }).nullable(),
});
export type LeaseEntry = z.infer<typeof leaseEntry>;

/** The lease document: `warmup`, `status`, `heartbeat`, `admin release|delete --json`. */
export const leaseJson = document('lease', {
  ...leaseEntry.shape,
  /** `status --wait` only. */
  ready: z.boolean().optional(),
});
export type LeaseJson = z.infer<typeof leaseJson>;

/** `list --json`: your leases, newest first. */
export const leaseListJson = document('lease-list', { leases: z.array(leaseEntry) });
export type LeaseListJson = z.infer<typeof leaseListJson>;

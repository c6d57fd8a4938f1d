import * as z from 'zod';
import { MACHINE_STATES } from '../domain/machine.ts';
import { count, document, iso, junitFailedCase, leaseEntry, runResultJson } from './shapes.ts';

/**
 * The `--json` documents of the lease and team commands beyond the lease itself (shapes.ts): stop, pool, admin,
 * usage, events, and the run report the MCP server returns. Same rules as shapes.ts.
 */

/** One released lease: `slug` is null when the lease could not be seen (already gone, or never yours). */
export const stopEntry = z.strictObject({ id: z.string(), slug: z.string().nullable(), result: z.enum(['released', 'already-gone']) });
/** One ref that could not be released (several refs only: with one ref the error document is printed instead). */
export const stopFailure = z.strictObject({ ref: z.string(), error: z.string(), message: z.string(), exitCode: z.number().int() });

/** `stop <ref> --json`. */
export const stopJson = document('stop', stopEntry.shape);
export type StopJson = z.infer<typeof stopJson>;
/** `stop <ref> <ref>... --json`: one entry per distinct ref, in order. */
export const stopManyJson = document('stop-many', { results: z.array(z.union([stopEntry, stopFailure])) });
export type StopManyJson = z.infer<typeof stopManyJson>;

/** A lease with its org, as everyone's lists show it (pool, admin leases). */
export const teamLeaseEntry = z.strictObject({ ...leaseEntry.shape, org: z.string() });

/** One warm pool as `pool --json` shows it (docs/pool.md): machines by state, the last hour's claims; no lease or owner. */
export const poolEntry = z.strictObject({
  name: z.string(),
  provider: z.string(),
  class: z.string().nullable(),
  type: z.string().nullable(),
  min: count,
  max: count,
  users: z.boolean(),
  reuse: z.boolean(),
  onEmpty: z.string(),
  machines: z.strictObject({ idle: count, assigned: count, provisioning: count, scrubbing: count, draining: count, deleting: count }),
  claims: z.strictObject({ lastHour: count, p50Ms: z.number().nullable(), p95Ms: z.number().nullable(), maxMs: z.number().nullable() }),
  emptyLastHour: count,
  refillFailuresLastHour: count,
  backoffUntil: iso.nullable(),
  blocked: z.string().nullable(),
});
/** `pool --json`: the coordinator's warm pools. */
export const poolJson = document('pool', { pools: z.array(poolEntry) });
export type PoolJson = z.infer<typeof poolJson>;

/** `admin leases --json`. */
export const adminLeasesJson = document('admin-leases', { leases: z.array(teamLeaseEntry) });
export type AdminLeasesJson = z.infer<typeof adminLeasesJson>;

/** `admin drain --json`. */
export const drainJson = document('drain', { draining: z.boolean(), released: count });
export type DrainJson = z.infer<typeof drainJson>;

const usageRow = z.strictObject({ key: z.string(), leases: count, hours: z.number().min(0), reservedCost: z.number().min(0), estimatedCost: z.number().min(0) });
const capEntry = z.strictObject({ limit: z.number(), current: z.number() });

/** `usage --json`: rows grouped by `by`, the coordinator's raw rows, and the caps that apply (null for team reports). */
export const usageJson = document('usage', {
  month: z.string().regex(/^\d{4}-\d{2}$/),
  owner: z.string().nullable(),
  by: z.enum(['owner', 'org', 'provider', 'type']),
  rows: z.array(usageRow),
  usage: z.array(z.record(z.string(), z.unknown())),
  caps: z.strictObject({ activeLeases: z.record(z.string(), capEntry), monthlySpend: z.record(z.string(), capEntry) }).nullable(),
});
export type UsageJson = z.infer<typeof usageJson>;

export const eventEntry = z.strictObject({
  seq: z.number().int(),
  at: iso,
  type: z.string(),
  actor: z.string(),
  owner: z.string().optional(),
  org: z.string().optional(),
  leaseId: z.string().optional(),
  runId: z.string().optional(),
  machineId: z.string().optional(),
  providerId: z.string().optional(),
  data: z.record(z.string(), z.unknown()).optional(),
});
export type EventEntry = z.infer<typeof eventEntry>;

/** `events --json` and `admin events --json`: newest first. */
export const eventsJson = document('events', { events: z.array(eventEntry) });
export type EventsJson = z.infer<typeof eventsJson>;

/** A machine as `admin machines` shows it (the coordinator's machine view). */
export const machineEntry = z.strictObject({
  id: z.string().regex(/^mch_[0-9a-f]{12}$/),
  provider: z.string(),
  providerId: z.string().optional(),
  class: z.string().optional(),
  type: z.string().optional(),
  region: z.string().optional(),
  host: z.string().optional(),
  ports: z.array(z.number().int()),
  state: z.enum(MACHINE_STATES),
  stateReason: z.string().optional(),
  pool: z.string().optional(),
  leaseId: z.string().optional(),
  createdAt: iso,
  stateChangedAt: iso,
  ageSeconds: z.number().min(0),
  lastAssignedAt: iso.optional(),
  assignments: count,
  deletion: z.strictObject({ attempts: count, nextAt: iso.optional(), lastError: z.string().optional(), deletedAt: iso.optional() }),
});

/** `admin machines --json`. */
export const adminMachinesJson = document('admin-machines', { machines: z.array(machineEntry) });
export type AdminMachinesJson = z.infer<typeof adminMachinesJson>;

/** `admin drain <machine> --json` and `admin undrain <machine> --json`: the machine, and whether its state changed. */
export const machineDrainJson = document('machine-drain', { machine: machineEntry, changed: z.boolean() });
export type MachineDrainJson = z.infer<typeof machineDrainJson>;

/** `admin drain --pool <name> --json` and `admin undrain --pool <name> --json`: the pool, its drain mark, and how many of its machines changed state. */
export const poolDrainJson = document('pool-drain', { pool: z.string(), draining: z.boolean(), changed: z.number().int().min(0) });
export type PoolDrainJson = z.infer<typeof poolDrainJson>;

/**
 * What the MCP `run` tool returns: the run's result object (`crabbox.run/v1`, exactly what `run --json` prints), the
 * failed JUnit cases, and the redacted end of the output, so an agent sees why a run failed without a second call.
 */
export const runReportJson = document('run-report', {
  result: runResultJson,
  failedTests: z.array(junitFailedCase),
  /** Failed cases not listed (the summary keeps at most 100). */
  failedOmitted: count,
  /** The last bytes of the combined stdout and stderr, redacted. */
  outputTail: z.strictObject({ text: z.string(), totalBytes: count, truncated: z.boolean() }),
});
export type RunReportJson = z.infer<typeof runReportJson>;

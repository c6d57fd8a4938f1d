import * as z from 'zod';
import { MACHINE_STATES } from '../domain/machine.ts';

/** Shapes of the coordinator's answers as the CLI reads them (docs/api.md). Unknown extra fields are ignored. */

const iso = z.string().refine((s) => !Number.isNaN(Date.parse(s)), 'expected an ISO 8601 time');

/** A command name the CLI will run on the box: a plain word, never a shell snippet from the network. */
const readyCommand = z.string().regex(/^[a-z][a-z0-9-]{0,31}$/);
const tunnelHostname = z.string().regex(/^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/);

export const leaseViewAnswer = z.object({
  id: z.string(),
  slug: z.string(),
  owner: z.string(),
  org: z.string(),
  provider: z.string(),
  state: z.enum(['provisioning', 'active', 'released', 'expired', 'failed']),
  keep: z.boolean(),
  ttlSeconds: z.number(),
  idleTimeoutSeconds: z.number(),
  createdAt: iso,
  lastTouchedAt: iso,
  expiresAt: iso,
  endedAt: iso.optional(),
  class: z.string().optional(),
  type: z.string().optional(),
  hourlyPrice: z.number().optional(),
  reservedCost: z.number().optional(),
  machineId: z.string().optional(),
  pool: z.string().optional(),
  machine: z.object({
    host: z.string(), ports: z.array(z.number().int()), sshUser: z.string(), workRoot: z.string(), hostKey: z.string(), hostCa: z.string().optional(), type: z.string().optional(), readyCommand: readyCommand.optional(),
    /** Tunnel mode: reach the box through Cloudflare Access at this host name. The only transport a coordinator can name: never a command. */
    transport: z.strictObject({ kind: z.literal('cloudflare'), hostname: tunnelHostname }).optional(),
  }).optional(),
});
export type LeaseViewAnswer = z.infer<typeof leaseViewAnswer>;
export type LeaseView = z.input<typeof leaseViewAnswer>;

export const oneLeaseAnswer = z.object({ lease: leaseViewAnswer });

/** A signed SSH user certificate for a lease (docs/ssh-ca.md); times are ISO 8601. */
export const certificateAnswer = z.object({
  /** The `ssh-ed25519-cert-v01@openssh.com AAAA...` line, for `id_ed25519-cert.pub`. */
  certificate: z.string(),
  keyId: z.string(),
  principals: z.array(z.string()),
  validAfter: z.string(),
  validBefore: z.string(),
  sourceAddress: z.string().optional(),
  forwarding: z.array(z.string()),
  /** The CA public keys boxes trust (the signing key first). */
  caPublicKeys: z.array(z.string()),
});
export const createLeaseAnswer = z.object({ lease: leaseViewAnswer, created: z.boolean() });
export const leaseListAnswer = z.object({ leases: z.array(leaseViewAnswer), nextCursor: z.string().optional() });

export const runViewAnswer = z.object({
  id: z.string(),
  leaseId: z.string(),
  /** Empty from coordinators before migration 0004 (and for their older runs whose lease was gone). */
  slug: z.string().optional(),
  provider: z.string().optional(),
  owner: z.string(),
  org: z.string(),
  command: z.string().optional(),
  state: z.enum(['running', 'succeeded', 'failed', 'interrupted', 'error']),
  exitCode: z.number().int().optional(),
  source: z.enum(['remote', 'crabbox']).optional(),
  interrupted: z.enum(['SIGINT', 'SIGTERM']).optional(),
  remoteExitCode: z.number().int().optional(),
  syncSkipped: z.boolean().optional(),
  createdAt: iso,
  endedAt: iso.optional(),
  timings: z.record(z.string(), z.number()).optional(),
  logTruncated: z.boolean().optional(),
  /** The JUnit summary (src/api/shapes.ts), or the compact form of older coordinators; read with normalizeJunit. */
  junit: z.unknown().optional(),
  /** What came back from the box (coordinators from migration 0018 on): src/api/shapes.ts `artifactsSummary`, read with safeParse. */
  artifacts: z.unknown().optional(),
});
export type RunViewAnswer = z.infer<typeof runViewAnswer>;

export const oneRunAnswer = z.object({ run: runViewAnswer });
export const runListAnswer = z.object({ runs: z.array(runViewAnswer), nextCursor: z.string().optional() });
export const runLogsAnswer = z.object({ id: z.string(), logTail: z.string(), truncated: z.boolean() });

const capEntry = z.object({ limit: z.number(), current: z.number() });
export const usageAnswer = z.object({
  month: z.string(),
  owner: z.string().optional(),
  usage: z.array(z.record(z.string(), z.unknown())),
  caps: z.object({ activeLeases: z.record(z.string(), capEntry), monthlySpend: z.record(z.string(), capEntry) }).optional(),
});
export type UsageAnswer = z.infer<typeof usageAnswer>;

export const eventAnswer = z.object({
  seq: z.number(),
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
export type EventAnswer = z.infer<typeof eventAnswer>;
export const eventListAnswer = z.object({ events: z.array(eventAnswer), nextCursor: z.string().optional() });

export const drainAnswer = z.object({ draining: z.boolean(), released: z.number() });
export const poolDrainAnswer = z.object({ pool: z.string(), draining: z.boolean(), changed: z.number() });

export const whoamiAnswer = z.object({
  owner: z.string(),
  org: z.string(),
  login: z.string().optional(),
  role: z.enum(['user', 'maintainer', 'admin']),
  via: z.enum(['shared-token', 'user-token']),
  expiresAt: iso.optional(),
  access: z.string().optional(),
});
export type Whoami = z.infer<typeof whoamiAnswer>;

export const loginStartAnswer = z.object({
  loginId: z.string(), authorizeUrl: z.url(), expiresAt: iso, pollIntervalSeconds: z.number().int().positive(),
  /** Shown on the confirmation page the link opens; the CLI prints it so the person can compare (older coordinators send none). */
  phrase: z.string().regex(/^[a-z]{1,12}(?:-[a-z]{1,12}){2}$/).optional(),
});
export const loginPollAnswer = z.union([
  z.object({ status: z.literal('pending') }),
  z.object({ status: z.literal('code-required') }),
  z.object({ status: z.literal('approved'), token: z.string().startsWith('cbxu_'), owner: z.string(), org: z.string(), login: z.string(), expiresAt: iso }),
]);

export const machineViewAnswer = z.object({
  id: z.string(),
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
  ageSeconds: z.number(),
  lastAssignedAt: iso.optional(),
  assignments: z.number().int(),
  deletion: z.object({ attempts: z.number().int(), nextAt: iso.optional(), lastError: z.string().optional(), deletedAt: iso.optional() }),
});
export type MachineViewAnswer = z.infer<typeof machineViewAnswer>;
export type MachineView = z.input<typeof machineViewAnswer>;
export const machineListAnswer = z.object({ machines: z.array(machineViewAnswer), nextCursor: z.string().optional() });
export const oneMachineAnswer = z.object({ machine: machineViewAnswer });
export const machineDrainAnswer = z.object({ machine: machineViewAnswer, changed: z.boolean() });

export const poolStatusAnswer = z.object({
  name: z.string(),
  provider: z.string(),
  class: z.string().optional(),
  type: z.string().optional(),
  min: z.number().int(),
  max: z.number().int(),
  users: z.boolean(),
  reuse: z.boolean(),
  onEmpty: z.string(),
  machines: z.object({ idle: z.number().int(), assigned: z.number().int(), provisioning: z.number().int(), scrubbing: z.number().int(), draining: z.number().int(), deleting: z.number().int() }),
  claims: z.object({ lastHour: z.number().int(), p50Ms: z.number().optional(), p95Ms: z.number().optional(), maxMs: z.number().optional() }),
  emptyLastHour: z.number().int(),
  refillFailuresLastHour: z.number().int(),
  backoffUntil: iso.optional(),
  blocked: z.string().optional(),
});
export type PoolStatusAnswer = z.infer<typeof poolStatusAnswer>;
export const poolListAnswer = z.object({ pools: z.array(poolStatusAnswer) });

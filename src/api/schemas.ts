import * as z from 'zod';
import { LEASE_STATES } from '../domain/lease.ts';
import { LEASE_ID_PATTERN, MACHINE_ID_PATTERN, RUN_ID_PATTERN } from '../domain/ids.ts';
import { MACHINE_STATES } from '../domain/machine.ts';
import { parseCidr } from '../net/cidr.ts';
import { STORED_RUN_STATES } from '../storage/store.ts';
import { artifactsSummary, exitSource, interruptSignal, junitSummary, legacyJunitSummary } from './shapes.ts';

function isAcceptableCidr(text: string): boolean {
  try {
    parseCidr(text);
    return true;
  } catch {
    return false;
  }
}

/** The coordinator's wire contract: request schemas the server validates and the CLI's client reuses. */

/** A TTL or idle timeout in seconds; its range is the lease timing rule's (src/domain/lease-timing.ts), checked by the lease service. */
const seconds = z.number({ error: 'expected a whole number of seconds' }).int({ error: 'expected a whole number of seconds' });
const name = z.string().regex(/^[a-z0-9][a-z0-9-]{0,31}$/, 'expected lowercase letters, digits and -, at most 32');
const type = z.string().regex(/^[A-Za-z0-9.-]{1,64}$/, 'expected letters, digits, . and -, at most 64');

/** An OpenSSH public key line. Private keys are refused by shape, before anything stores or logs them. */
export const sshPublicKey = z
  .string()
  .max(4096)
  .refine((k) => !/PRIVATE KEY/.test(k), 'that is a private key; send the public key (.pub) only')
  .refine((k) => /^(ssh-ed25519|ecdsa-sha2-nistp(256|384|521)|ssh-rsa|sk-ssh-ed25519@openssh\.com) [A-Za-z0-9+/=]{16,}( [^\r\n]{0,200})?$/.test(k.trim()), 'expected an OpenSSH public key line (ssh-ed25519 AAAA...)');

export const createLeaseBody = z.strictObject({
  provider: name.optional(),
  sshPublicKey,
  ttlSeconds: seconds.optional(),
  idleTimeoutSeconds: seconds.optional(),
  keep: z.boolean().optional(),
  class: name.optional(),
  type: type.optional(),
  profile: name.optional(),
  /** Retrying a create with the same key returns the same lease instead of making a second machine. */
  idempotencyKey: z.string().regex(/^[A-Za-z0-9_-]{8,64}$/, 'expected 8-64 letters, digits, _ or -').optional(),
  /** The CLI's outbound address as a CIDR (usually /32), for the box's SSH firewall; world-open and malformed are refused. */
  callerCidr: z.string().max(64).refine(isAcceptableCidr, 'expected an IPv4 or IPv6 CIDR no wider than /8 (IPv4) or /16 (IPv6), e.g. 203.0.113.7/32').optional(),
  /** Draw an idle machine from a warm pool: `true` for the pool of this provider and class, or a pool's name. */
  pool: z.union([z.boolean(), name]).optional(),
});
export type CreateLeaseBody = z.infer<typeof createLeaseBody>;

export const heartbeatBody = z.strictObject({ idleTimeoutSeconds: seconds.optional() });

/** `POST /v1/leases/:ref/certificate`: the CLI's public key to sign (docs/ssh-ca.md); the private half never leaves the CLI. */
export const certificateBody = z.strictObject({
  sshPublicKey: sshPublicKey.refine((k) => k.trim().startsWith('ssh-ed25519 '), 'the coordinator signs ssh-ed25519 keys only'),
  /** Forwarding the certificate permits; none unless asked (the box's sshd may still refuse it). */
  forwarding: z.array(z.enum(['agent', 'port', 'x11'])).max(3).optional(),
  /** The CLI's outbound address as a CIDR: the certificate's source-address (else the request's source address). */
  callerCidr: createLeaseBody.shape.callerCidr,
});
export type CertificateBody = z.infer<typeof certificateBody>;

const limit = z.coerce.number().int().min(1).max(500).optional();
const cursor = z.string().min(1).max(200).optional();
const leaseState = z.enum(LEASE_STATES);

export const listLeasesQuery = z.strictObject({
  state: z.union([leaseState, z.literal('live'), z.literal('all')]).optional(),
  cursor,
  limit,
});

export const adminListLeasesQuery = listLeasesQuery.extend({ owner: z.string().min(1).max(200).optional() });

export const leaseId = z.string().regex(LEASE_ID_PATTERN, 'expected a lease id (cbx_ + 12 hex)');
export const runId = z.string().regex(RUN_ID_PATTERN, 'expected a run id (run_ + 12 hex)');
export const machineId = z.string().regex(MACHINE_ID_PATTERN, 'expected a machine id (mch_ + 12 hex)');

export const createRunBody = z.strictObject({
  leaseId,
  /** The run forwards env values to the box: a pool machine is then deleted after the lease, never reused. */
  forwardsEnv: z.boolean().optional(),
  /** Omitted when the user disabled command recording. */
  command: z.string().max(4096).optional(),
});

export const finishRunBody = z.strictObject({
  /** What `crabbox run` exits with (the command's own code, or crabbox's: 130/143 after an interrupt, 64-78 on failure). */
  exitCode: z.number().int().min(0).max(255),
  /** Whose exit code it is; default `remote`. */
  source: exitSource.optional(),
  /** The signal that interrupted the run: the run is recorded as `interrupted`. */
  interrupted: interruptSignal.optional(),
  /** The command's own exit code, when it reported one. */
  remoteExitCode: z.number().int().min(0).max(255).optional(),
  syncSkipped: z.boolean().optional(),
  /** Phase name -> milliseconds (sync, command, ...). */
  timings: z.record(z.string().regex(/^[a-z][a-zA-Z0-9_-]{0,31}$/), z.number().min(0).max(1e9)).refine((t) => Object.keys(t).length <= 16, 'at most 16 timings').optional(),
  /** The end of the output; the server redacts it and keeps at most its configured cap. */
  logTail: z.string().max(1024 * 1024).optional(),
  /** The JUnit summary (src/api/shapes.ts); the compact form of older CLIs (failed cases as names) is still accepted. */
  junit: z.union([junitSummary, legacyJunitSummary]).optional(),
  /** What came back from the box (`--download`, config `artifacts:`; src/api/shapes.ts). */
  artifacts: artifactsSummary.optional(),
});

export const listRunsQuery = z.strictObject({ leaseId: leaseId.optional(), state: z.enum(STORED_RUN_STATES).optional(), cursor, limit });

/** `YYYY-MM` (UTC). Usage starts with the Unix epoch, so years before 1970 are refused rather than misread. */
export const month = z.string().regex(/^(19[7-9]\d|[2-9]\d{3})-(0[1-9]|1[0-2])$/, 'expected a month from 1970-01 on, like 2026-01');
export const usageQuery = z.strictObject({ month: month.optional() });
export const adminUsageQuery = usageQuery.extend({ owner: z.string().min(1).max(200).optional(), org: z.string().min(1).max(200).optional() });

export const eventType = z.string().regex(/^[a-z]+(\.[a-z_]+)+$/, 'expected an event type like lease.created');
/** A point in time in a query: ISO 8601 with a zone (`2026-01-15T12:00:00Z`). */
export const instant = z.iso.datetime({ offset: true, message: 'expected an ISO 8601 time like 2026-01-15T12:00:00Z' });
export const listEventsQuery = z.strictObject({ leaseId: leaseId.optional(), type: eventType.optional(), since: instant.optional(), until: instant.optional(), cursor, limit });
export const adminListEventsQuery = listEventsQuery.extend({ owner: z.string().min(1).max(200).optional(), machineId: machineId.optional() });

export const drainBody = z.strictObject({ draining: z.boolean() });

/** `POST /v1/login/start`: the CLI keeps the secret and sends its hash (and its loopback port, when it has one). */
export const loginStartBody = z.strictObject({
  secretHash: z.string().regex(/^[0-9a-f]{64}$/, 'expected the SHA-256 (hex) of a secret the CLI keeps'),
  port: z.number().int().min(1024).max(65535).optional(),
});
/** `POST /v1/login/poll`: the secret whose hash started the login, and the one-time code once the browser has it. */
export const loginPollBody = z.strictObject({ loginId: z.string().regex(/^login_[0-9a-f]{24}$/), secret: z.string().min(32).max(200), code: z.string().min(1).max(40).optional() });

/** A path parameter naming a lease (id or slug; checked by the route). */
export const leaseRefParams = z.strictObject({ ref: z.string().min(1).max(80) });
/** A path parameter naming a run. */
export const runParams = z.strictObject({ id: z.string().min(1).max(80) });

/** A path parameter naming a machine. */
export const machineParams = z.strictObject({ id: z.string().min(1).max(80) });

/** A warm pool's name (as `pools:` in the coordinator config spells it). */
export const poolName = z.string().regex(/^[a-z0-9][a-z0-9-]{0,31}$/, 'expected a pool name: lowercase letters, digits and -, at most 32');
export const poolParams = z.strictObject({ name: poolName });

/** `GET /v1/pool` takes no parameters. */
export const poolQuery = z.strictObject({});

/** `state`: one machine state, `live` (default: every state but deleted and failed) or `all`. */
export const adminListMachinesQuery = z.strictObject({
  state: z.union([z.enum(MACHINE_STATES), z.literal('live'), z.literal('all')]).optional(),
  pool: name.optional(),
  provider: name.optional(),
  leaseId: leaseId.optional(),
  cursor,
  limit,
});

/** A machine as the admin API shows it (times ISO 8601): the answer schema's input. */
export type { MachineView } from './answers.ts';

/** The lease as the API shows it (times ISO 8601): the answer schema's input, so the route and the client share one shape. */
export type { LeaseView } from './answers.ts';

import { parseTransport, type Transport } from '../../domain/transport.ts';
import type { Labels } from '../../domain/labels.ts';
import type { LeaseState } from '../../domain/lease.ts';
import type { MachineState } from '../../domain/machine.ts';
import { CrabboxError } from '../../domain/errors.ts';
import { base64, fromBase64 } from '../../keys/wire.ts';
import type { FleetEvent } from '../ports/events.ts';
import type { LeaseRecord } from '../ports/leases.ts';
import type { LoginRecord, LoginStatus } from '../ports/logins.ts';
import type { MachineRecord } from '../ports/machines.ts';
import type { ArtifactsSummary } from '../../domain/artifacts.ts';
import type { JunitSummary, RunRecord } from '../ports/runs.ts';
import type { WebSessionRecord } from '../ports/web-sessions.ts';
import type { SqlRow } from './driver.ts';

/** Row <-> record mapping. Numbers are converted explicitly: PostgreSQL returns BIGINT as strings. */

const num = (v: unknown): number => Number(v);
const optNum = (v: unknown): number | undefined => (v === null || v === undefined ? undefined : Number(v));
const optStr = (v: unknown): string | undefined => (v === null || v === undefined ? undefined : String(v));
const json = <T>(v: unknown): T | undefined => (v === null || v === undefined || v === '' ? undefined : (JSON.parse(String(v)) as T));

/**
 * A lease row read with its machine's columns beside it (`m_*`, see LEASE_SELECT in leases.ts): the lease reaches
 * its box through the machine's host, ports and host key, with its own login user and work root.
 */
export function leaseFromRow(r: SqlRow): LeaseRecord {
  const providerId = optStr(r.m_provider_id);
  const host = optStr(r.m_host);
  return {
    id: String(r.id),
    slug: String(r.slug),
    owner: String(r.owner),
    org: String(r.org),
    provider: String(r.provider),
    profile: optStr(r.profile),
    class: optStr(r.machine_class),
    type: optStr(r.machine_type),
    state: String(r.state) as LeaseState,
    keep: num(r.keep) === 1,
    ttlSeconds: num(r.ttl_seconds),
    idleTimeoutSeconds: num(r.idle_timeout_seconds),
    createdAt: num(r.created_at),
    lastTouchedAt: num(r.last_touched_at),
    expiresAt: num(r.expires_at),
    endedAt: optNum(r.ended_at),
    endReason: optStr(r.end_reason),
    idempotencyKey: String(r.idempotency_key),
    machineId: optStr(r.machine_id),
    providerId,
    machine:
      providerId !== undefined && host !== undefined && r.ssh_user !== null && r.ssh_user !== undefined
        ? {
            provider: String(r.provider),
            providerId,
            host,
            ports: json<number[]>(r.m_ports) ?? [],
            sshUser: String(r.ssh_user),
            workRoot: String(r.work_root ?? ''),
            hostKey: String(r.m_host_key ?? ''),
            type: optStr(r.m_machine_type) ?? optStr(r.machine_type),
            region: optStr(r.m_region),
            ...(transportOf(r.m_transport) ? { transport: transportOf(r.m_transport) } : {}),
          }
        : undefined,
    hourlyPrice: num(r.hourly_price),
    reservedCost: num(r.reserved_cost),
    heartbeatLoggedAt: optNum(r.heartbeat_logged_at),
    pool: optStr(r.pool),
    envForwarded: num(r.env_forwarded ?? 0) === 1,
    sudo: num(r.sudo ?? 0) === 1,
  };
}

export function machineFromRow(r: SqlRow): MachineRecord {
  return {
    id: String(r.id),
    provider: String(r.provider),
    providerId: optStr(r.provider_id),
    class: optStr(r.machine_class),
    type: optStr(r.machine_type),
    region: optStr(r.region),
    host: optStr(r.host),
    ports: json<number[]>(r.ports) ?? [],
    adminUser: optStr(r.admin_user),
    workRoot: optStr(r.work_root),
    hostKey: optStr(r.host_key),
    labels: json<Labels>(r.labels) ?? {},
    ...(transportOf(r.transport) ? { transport: transportOf(r.transport) } : {}),
    state: String(r.state) as MachineState,
    stateReason: optStr(r.state_reason),
    pool: optStr(r.pool),
    leaseId: optStr(r.lease_id),
    createdAt: num(r.created_at),
    stateChangedAt: num(r.state_changed_at),
    lastAssignedAt: optNum(r.last_assigned_at),
    assignments: num(r.assignments),
    hourlyPrice: num(r.hourly_price ?? 0),
    reservedCost: num(r.reserved_cost ?? 0),
    token: optStr(r.token),
    deletion: {
      attempts: num(r.delete_attempts),
      nextAt: optNum(r.delete_next_at),
      lastError: optStr(r.delete_last_error),
      deletedAt: optNum(r.deleted_at),
    },
  };
}

export function runFromRow(r: SqlRow): RunRecord {
  return {
    id: String(r.id),
    leaseId: String(r.lease_id),
    owner: String(r.owner),
    org: String(r.org),
    slug: optStr(r.slug),
    provider: optStr(r.provider),
    command: optStr(r.command),
    state: String(r.state) as RunRecord['state'],
    exitCode: optNum(r.exit_code),
    source: optStr(r.source) as RunRecord['source'],
    interrupted: optStr(r.interrupted) as RunRecord['interrupted'],
    remoteExitCode: optNum(r.remote_exit_code),
    syncSkipped: r.sync_skipped === null || r.sync_skipped === undefined ? undefined : num(r.sync_skipped) === 1,
    createdAt: num(r.created_at),
    endedAt: optNum(r.ended_at),
    timings: json<Record<string, number>>(r.timings),
    logTail: optStr(r.log_tail),
    logTruncated: num(r.log_truncated) === 1,
    junit: json<JunitSummary>(r.junit),
    artifacts: json<ArtifactsSummary>(r.artifacts),
  };
}

export function eventFromRow(r: SqlRow): FleetEvent {
  return {
    seq: num(r.seq),
    at: num(r.at),
    type: String(r.type),
    actor: String(r.actor),
    owner: optStr(r.owner),
    org: optStr(r.org),
    leaseId: optStr(r.lease_id),
    runId: optStr(r.run_id),
    machineId: optStr(r.machine_id),
    providerId: optStr(r.provider_id),
    data: json<Record<string, unknown>>(r.data),
  };
}

/** Cursors are opaque base64url JSON of the last item's sort key. */
export function encodeCursor(key: (string | number)[]): string {
  return base64(new TextEncoder().encode(JSON.stringify(key))).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

export function decodeCursor(cursor: string, shape: ('string' | 'number')[]): (string | number)[] {
  try {
    if (cursor.length > 200) throw new Error('too long');
    const key = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(fromBase64(cursor))) as unknown;
    if (!Array.isArray(key) || key.length !== shape.length || key.some((k, i) => typeof k !== shape[i])) throw new Error('bad shape');
    return key as (string | number)[];
  } catch {
    throw new CrabboxError('bad_request', 'the cursor is not one this server issued', { hint: 'pass back the nextCursor of the previous page unchanged' });
  }
}

export function loginFromRow(r: SqlRow): LoginRecord {
  return {
    id: String(r.id),
    stateHash: String(r.state_hash),
    secretHash: String(r.secret_hash),
    source: String(r.source),
    address: optStr(r.address),
    phrase: optStr(r.phrase),
    confirmedAt: optNum(r.confirmed_at),
    browserHash: optStr(r.browser_hash),
    port: optNum(r.port),
    status: String(r.status) as LoginStatus,
    kind: r.kind === 'web' ? 'web' : 'cli',
    createdAt: num(r.created_at),
    expiresAt: num(r.expires_at),
    owner: optStr(r.owner),
    org: optStr(r.org),
    login: optStr(r.login),
    message: optStr(r.message),
    codeHash: optStr(r.code_hash),
  };
}

export function webSessionFromRow(r: SqlRow): WebSessionRecord {
  return {
    id: String(r.id),
    secretHash: String(r.secret_hash),
    owner: String(r.owner),
    org: String(r.org),
    login: String(r.login),
    role: String(r.role) as WebSessionRecord['role'],
    accessIdentity: optStr(r.access_identity),
    address: optStr(r.address),
    userAgent: optStr(r.user_agent),
    createdAt: num(r.created_at),
    lastSeenAt: num(r.last_seen_at),
    expiresAt: num(r.expires_at),
    absoluteExpiresAt: num(r.absolute_expires_at),
  };
}

/** A machine's recorded transport (NULL: direct); a value that does not parse reads as none rather than failing the row. */
function transportOf(value: unknown): Transport | undefined {
  let parsed: Transport | undefined;
  try {
    parsed = typeof value === 'string' ? parseTransport(json<unknown>(value)) : undefined;
  } catch {
    parsed = undefined;
  }
  return parsed && parsed.kind !== 'direct' ? parsed : undefined;
}

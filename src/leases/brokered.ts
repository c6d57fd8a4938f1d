import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { rename } from 'node:fs/promises';
import { join } from 'node:path';
import type { CoordinatorClient } from '../api/client.ts';
import type { LeaseViewAnswer } from '../api/answers.ts';
import type { CreateLeaseBody } from '../api/schemas.ts';
import type { Clock } from '../domain/clock.ts';
import { CrabboxError, isCrabboxError } from '../domain/errors.ts';
import { parseLeaseRef } from '../domain/ids.ts';
import { isLive } from '../domain/lease.ts';
import { closeMaster, createClientKey, leaseKeyDir, leaseKeyPaths, leaseTarget, privateDir, removeLeaseKeys, writeKnownHosts, type SshTarget } from '../ssh/index.ts';
import { waitBootstrapped } from '../ssh/ready.ts';
import { readLeaseTransport, writeLeaseTransport } from '../ssh/transport.ts';
import { DIRECT, type Transport } from '../domain/transport.ts';
import type { DirectLease } from './record.ts';
import { BROKERED_CREATE_TIMEOUT_MS, markBrokered, markedFor } from './brokered-keys.ts';
import { certificateFileOf, certificateHolds, ensureCertificate } from './certificate-cache.ts';
import { findTouched, liveAsLastSeen, saveTouched } from './touched.ts';
import { leaseService, type CreateRequest, type LeaseHandle, type LeaseService, type ReleaseResult } from './service.ts';

export interface BrokeredLeaseOptions {
  client: CoordinatorClient;
  /** Where per-lease keys and known_hosts live (`<stateDir>/leases/<id>`). */
  stateDir: string;
  clock: Clock;
  connectTimeoutSeconds: number;
  /** Defaults sent with a create; an unset TTL or idle timeout leaves the coordinator's own default (src/domain/lease-timing.ts). */
  defaults: { ttlSeconds?: number | undefined; idleTimeoutSeconds?: number | undefined; keep: boolean; class?: string | undefined; type?: string | undefined; provider?: string | undefined; pool?: string | true | undefined };
  log?: ((line: string) => void) | undefined;
  /** How long a create may take on the coordinator (it provisions the machine before answering). */
  createTimeoutMs?: number | undefined;
  readyTimeoutMs?: number | undefined;
  waitReady?: ((target: SshTarget, deadline: number, options: { clock: Clock; signal?: AbortSignal }) => Promise<unknown>) | undefined;
  /** The user's proxy (user config `proxy`) for boxes the coordinator reports as directly reachable. */
  proxy?: Transport | undefined;
  /** The caller's CIDR to send with a create (src/net/caller.ts); without it the coordinator uses the request's source address. */
  callerCidr?: (() => Promise<string | undefined>) | undefined;
}

const STATUS: Record<LeaseViewAnswer['state'], DirectLease['machineStatus']> = { provisioning: 'provisioning', active: 'running', released: 'deleting', expired: 'deleting', failed: 'unknown' };

/** The coordinator's lease view as the lease shape every command prints. */
export function leaseFromView(v: LeaseViewAnswer): DirectLease {
  return {
    id: v.id,
    slug: v.slug,
    owner: v.owner,
    org: v.org,
    provider: v.provider,
    class: v.class,
    state: v.state,
    keep: v.keep,
    ttlSeconds: v.ttlSeconds,
    idleTimeoutSeconds: v.idleTimeoutSeconds,
    createdAt: Date.parse(v.createdAt),
    lastTouchedAt: Date.parse(v.lastTouchedAt),
    expiresAt: Date.parse(v.expiresAt),
    ...(v.endedAt ? { endedAt: Date.parse(v.endedAt) } : {}),
    machine: v.machine
      ? {
          provider: v.provider, providerId: '', host: v.machine.host, ports: v.machine.ports, sshUser: v.machine.sshUser, workRoot: v.machine.workRoot, hostKey: v.machine.hostKey, type: v.type,
          ...(v.machine.transport ? { transport: v.machine.transport } : {}),
        }
      : undefined,
    installation: 'coordinator',
    machineStatus: STATUS[v.state],
    ...(v.machine?.readyCommand ? { readyCommand: v.machine.readyCommand } : {}),
    ...(v.machine?.hostCa ? { hostCa: v.machine.hostCa } : {}),
  };
}

/**
 * Brokered mode: the coordinator keeps the lease and owns the machine; the CLI keeps only the per-lease SSH key it
 * generated (the coordinator receives the public half) and the known_hosts pinned to the host key it was sent.
 */
export function createBrokeredLeaseService(options: BrokeredLeaseOptions): LeaseService {
  const { client, clock, stateDir } = options;
  const log = options.log ?? ((): void => undefined);
  const keyDirOf = (id: string): string => leaseKeyDir(stateDir, id);

  function target(lease: DirectLease): SshTarget {
    const m = lease.machine;
    if (!m || !m.host || m.ports.length === 0) throw new CrabboxError('lease_not_active', `lease ${lease.id} has no reachable machine yet`);
    // The private key never leaves the machine that leased the box; from anywhere else ssh could only be refused.
    if (!existsSync(leaseKeyPaths(keyDirOf(lease.id)).identity)) {
      throw new CrabboxError('forbidden', `lease ${lease.id} (${lease.slug}) was leased from another machine: its ssh key lives only there (not in ${keyDirOf(lease.id)})`, {
        hint: 'use it from the machine that leased it, or lease a box here with `crabbox warmup`',
      });
    }
    const keyDir = keyDirOf(lease.id);
    const certificateFile = certificateFileOf(keyDir);
    const base = leaseTarget({ keyDir, leaseId: lease.id, host: m.host, ports: m.ports, user: m.sshUser, connectTimeoutSeconds: options.connectTimeoutSeconds, transport: readLeaseTransport(keyDir) });
    return { ...base, ...(certificateFile ? { certificateFile } : {}), ...(lease.hostCa ? { hostCertified: true } : {}) };
  }

  /** The lease key's certificate from the coordinator's CA, asked for only when missing or running out (certificate-cache.ts). */
  const certify = (lease: DirectLease, callerCidr?: string): Promise<string | undefined> =>
    ensureCertificate({ client, clock, keyDir: keyDirOf(lease.id), lease, callerCidr, log: (line) => log(line) });

  /** Pins the host key the coordinator reported before any connection (idempotent; refreshes a stale file). */
  async function pin(lease: DirectLease): Promise<void> {
    const m = lease.machine;
    if (!m || !isLive(lease.state)) return;
    if (!m.hostKey) throw new CrabboxError('provider_error', `the coordinator sent no host key for ${lease.id}; refusing to connect unpinned`);
    await privateDir(keyDirOf(lease.id));
    // With a host certificate the file trusts the host CA for this box's addresses (`@cert-authority`), not one key.
    await writeKnownHosts(leaseKeyPaths(keyDirOf(lease.id)).knownHosts, m.host, m.ports, m.hostKey, lease.hostCa);
  }

  async function resolve(ref: string): Promise<DirectLease> {
    const parsed = parseLeaseRef(ref);
    const { lease } = await client.call('getLease', { params: { ref: parsed.value } });
    return leaseFromView(lease);
  }

  async function create(request: CreateRequest = {}): Promise<LeaseHandle> {
    const d = options.defaults;
    // The lease id is the coordinator's, so the key is made in a pending dir and moved once the id is known.
    const pending = join(stateDir, 'leases', `pending-${randomBytes(6).toString('hex')}`);
    let lease: DirectLease | undefined;
    let tgt: SshTarget | undefined;
    let body: CreateLeaseBody | undefined;
    let posted = false;
    try {
      const sshPublicKey = await createClientKey(pending, 'pending');
      await markBrokered(pending, client.url);
      const callerCidr = await options.callerCidr?.();
      body = {
        sshPublicKey,
        ttlSeconds: request.ttlSeconds ?? d.ttlSeconds,
        idleTimeoutSeconds: request.idleTimeoutSeconds ?? d.idleTimeoutSeconds,
        keep: request.keep ?? d.keep,
        ...(d.provider ? { provider: d.provider } : {}),
        ...(d.pool ? { pool: d.pool } : {}),
        ...((request.class ?? d.class) ? { class: request.class ?? d.class } : {}),
        ...((request.type ?? d.type) ? { type: request.type ?? d.type } : {}),
        idempotencyKey: randomBytes(12).toString('base64url'),
        ...(callerCidr ? { callerCidr } : {}),
      };
      posted = true;
      const answer = await client.call('createLease', { body }, { timeoutMs: options.createTimeoutMs ?? BROKERED_CREATE_TIMEOUT_MS, signal: request.signal });
      lease = leaseFromView(answer.lease);
      await privateDir(join(stateDir, 'leases'));
      await removeLeaseKeys(keyDirOf(lease.id));
      await rename(pending, keyDirOf(lease.id));
      if (lease.state !== 'active') throw new CrabboxError('lease_not_active', `the coordinator answered with lease ${lease.id} ${lease.state}`);
      await pin(lease);
      await certify(lease, callerCidr);
      saveTouched(stateDir, lease);
      // Tunnel mode's transport comes from the coordinator; otherwise the user's own proxy, if any.
      writeLeaseTransport(keyDirOf(lease.id), lease.machine?.transport ?? options.proxy ?? DIRECT);
      tgt = target(lease);
      const m = lease.machine!;
      log(`lease ${lease.id}: waiting for ssh on ${m.host}:${m.ports.join(',')}`);
      const readyCommand = answer.lease.machine?.readyCommand;
      const wait = options.waitReady ?? ((t: SshTarget, deadline: number, o: { clock: Clock; signal?: AbortSignal }) => waitBootstrapped(t, readyCommand, deadline, { ...o, log: (line) => log(`lease ${lease!.id}: ${line}`) }));
      await wait(tgt, clock.now() + (options.readyTimeoutMs ?? 120_000), { clock, ...(request.signal ? { signal: request.signal } : {}) });
      return { lease, target: tgt, fresh: true };
    } catch (error) {
      await removeLeaseKeys(pending).catch(() => undefined);
      if (!lease && posted && body && request.signal?.aborted) lease = await abandonedCreate(body);
      if (lease) {
        log(`lease ${lease.id}: create failed, releasing it: ${(error as Error).message}`);
        if (tgt) await closeMaster(tgt);
        await release(lease).catch(() => undefined);
      }
      throw error;
    }
  }

  /**
   * An interrupted create may still make a lease on the coordinator. Asking again with the same idempotency key
   * (bounded) names it, so it can be released instead of waiting for its idle timeout.
   */
  async function abandonedCreate(body: CreateLeaseBody): Promise<DirectLease | undefined> {
    try {
      return leaseFromView((await client.call('createLease', { body }, { timeoutMs: 10_000 })).lease);
    } catch {
      return undefined;
    }
  }

  async function touch(ref: string | DirectLease, idleTimeoutSeconds?: number): Promise<DirectLease> {
    const id = typeof ref === 'string' ? parseLeaseRef(ref).value : ref.id;
    const body = idleTimeoutSeconds === undefined ? {} : { idleTimeoutSeconds };
    const { lease } = await client.call('heartbeat', { params: { ref: id }, body });
    const touched = leaseFromView(lease);
    await pin(touched);
    if (existsSync(leaseKeyPaths(keyDirOf(touched.id)).identity)) {
      await certify(touched);
      saveTouched(stateDir, touched);
    }
    return touched;
  }

  /**
   * The lease as last touched here, when a run can connect with it while the coordinator confirms it (touched.ts):
   * active and unexpired as last seen, made through this coordinator, with this computer's key, pinned host and a
   * certificate that needs no renewal.
   */
  async function recent(ref: string): Promise<DirectLease | undefined> {
    const lease = findTouched(stateDir, parseLeaseRef(ref));
    if (!liveAsLastSeen(lease, clock.now())) return undefined;
    if ((await markedFor(keyDirOf(lease.id))) !== client.url) return undefined;
    const paths = leaseKeyPaths(keyDirOf(lease.id));
    if (!existsSync(paths.identity) || !existsSync(paths.knownHosts)) return undefined;
    return (await certificateHolds(keyDirOf(lease.id), lease, clock.now())) ? lease : undefined;
  }

  async function release(ref: string | DirectLease): Promise<ReleaseResult> {
    let before: DirectLease;
    try {
      before = typeof ref === 'string' ? await resolve(ref) : ref;
    } catch (error) {
      // An id the coordinator does not know (for us) is a lease already gone; a slug proves nothing.
      if (typeof ref === 'string' && isCrabboxError(error) && error.code === 'lease_not_found' && parseLeaseRef(ref).kind === 'id') {
        await removeLeaseKeys(keyDirOf(ref)).catch(() => undefined);
        return { leaseId: ref, slug: undefined, result: 'already-gone' };
      }
      throw error;
    }
    const view = leaseFromView((await client.call('releaseLease', { params: { ref: before.id } })).lease);
    const dir = keyDirOf(view.id);
    if (view.machine) await closeMaster(leaseTarget({ keyDir: dir, leaseId: view.id, host: view.machine.host, ports: view.machine.ports, user: view.machine.sshUser, connectTimeoutSeconds: 1 })).catch(() => undefined);
    await removeLeaseKeys(dir).catch(() => undefined);
    return { leaseId: view.id, slug: view.slug, result: isLive(before.state) ? 'released' : 'already-gone' };
  }

  async function list(): Promise<DirectLease[]> {
    const { leases } = await client.call('listLeases', { query: { state: 'live', limit: 500 } });
    return leases.map(leaseFromView).sort((a, b) => b.createdAt - a.createdAt);
  }

  return leaseService({
    mode: 'brokered',
    create,
    waitReady: (lease, deadline, o = {}) => waitBootstrapped(target(lease), lease.readyCommand, deadline, { clock, ...o }),
    resolve,
    target,
    recent,
    touch,
    release,
    list,
  });
}

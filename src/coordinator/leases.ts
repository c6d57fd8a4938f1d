import { classOf } from '../providers/classes.ts';
import { isCertificateLine, readCertificate } from '../keys/certificate.ts';
import type { CreateLeaseBody, LeaseView } from '../api/schemas.ts';
import { endedLeaseError } from '../domain/ended.ts';
import { CrabboxError } from '../domain/errors.ts';
import { newLeaseId, newMachineId, newToken, uniqueSlug } from '../domain/ids.ts';
import { leaseLabels } from '../domain/labels.ts';
import { isLive, LIVE_STATES } from '../domain/lease.ts';
import { API_NAMES, describeTimingProblem, type TimingProblem } from '../domain/lease-timing.ts';
import { endLease, startLease, touch } from '../domain/lifecycle.ts';
import type { Provider } from '../providers/provider.ts';
import type { LeaseRecord } from '../storage/store.ts';
import { audit, type EventType } from './audit.ts';
import { checkCaps } from './caps.ts';
import type { CoordinatorDeps } from './deps.ts';
import type { Identity } from './auth/identity.ts';
import { CLAIM_MS, deleteMachine } from './machines/delete.ts';
import { settleMachineOf } from './machines/settle.ts';
import { scrubMachine } from './pool/scrub.ts';
import { hourlyPrice, reservedCost } from './pricing.ts';
import { allowedCidrs, provision } from './provision.ts';
import { isoTime } from './iso.ts';

/**
 * The coordinator's lease service: create (record first, provider second), heartbeat, release, expire. The rules
 * (timings, expiry, touch, how a lease ends) are src/domain/lifecycle.ts's, shared with direct mode; the machine a
 * lease is on moves as src/domain/machine.ts says. Every step is a conditional store update.
 */

const iso = isoTime;

/**
 * The lease as the API shows it: no idempotency key. `type` is the type that actually launched once the machine
 * exists (the request's type before). With `providers`, the machine says which command proves the box finished
 * bootstrapping (the CLI runs it over ssh before using the box).
 */
export function leaseView(lease: LeaseRecord, providers?: Record<string, Provider>): LeaseView {
  // A pool machine was ready before it went idle, and its bootstrap check is the admin user's, not the lease user's.
  const readyCommand = lease.pool ? undefined : providers?.[lease.provider]?.capabilities.readyCommand;
  return {
    id: lease.id, slug: lease.slug, owner: lease.owner, org: lease.org, provider: lease.provider, state: lease.state, keep: lease.keep,
    ttlSeconds: lease.ttlSeconds, idleTimeoutSeconds: lease.idleTimeoutSeconds, createdAt: iso(lease.createdAt), lastTouchedAt: iso(lease.lastTouchedAt),
    expiresAt: iso(lease.expiresAt), endedAt: lease.endedAt !== undefined ? iso(lease.endedAt) : undefined, class: lease.class, type: lease.machine?.type ?? lease.type,
    hourlyPrice: lease.hourlyPrice, reservedCost: lease.reservedCost, machineId: lease.machineId, ...(lease.pool ? { pool: lease.pool } : {}),
    machine: lease.machine
      ? {
          host: lease.machine.host, ports: lease.machine.ports, sshUser: lease.machine.sshUser, workRoot: lease.machine.workRoot, ...hostTrust(lease.machine.hostKey),
          ...(lease.machine.type ? { type: lease.machine.type } : {}), ...(readyCommand ? { readyCommand } : {}),
          ...(lease.machine.transport?.kind === 'cloudflare' ? { transport: { kind: 'cloudflare' as const, hostname: lease.machine.transport.hostname } } : {}),
        }
      : undefined,
  };
}

/**
 * The host key a lease's known_hosts trusts: the plain key, and the host CA that signed it when the machine was made
 * with a host certificate (stored as its certificate line; docs/ssh-ca.md).
 */
function hostTrust(stored: string): { hostKey: string; hostCa?: string } {
  if (!isCertificateLine(stored)) return { hostKey: stored };
  const cert = readCertificate(stored);
  return { hostKey: cert.publicKey, hostCa: cert.caPublicKey };
}

/** A refused TTL or idle timeout as a 400 in request-body terms; `detail.field` lets the CLI name its own flag. */
export function timingError(problem: TimingProblem): CrabboxError {
  const field = API_NAMES[problem.field];
  return new CrabboxError('bad_request', describeTimingProblem(problem, API_NAMES), { detail: { field, seconds: problem.seconds, min: problem.min, max: problem.max, overTtl: problem.overTtl } });
}

function providerFor(deps: CoordinatorDeps, name: string): Provider {
  const provider = deps.providers[name];
  if (!provider) throw new CrabboxError('bad_request', `provider ${JSON.stringify(name)} is not available on this coordinator`, { hint: `available: ${Object.keys(deps.providers).join(', ') || 'none'}` });
  return provider;
}

export const DRAINING_META = 'draining';

/**
 * Creates a lease: the lease and the machine made for it are stored `provisioning` (with the idempotency key, under the
 * caps, in one transaction) before the provider is called; the provider id is stored the moment it is known; a failed
 * create deletes whatever the provider made. A retry with the same idempotency key returns the same lease.
 */
export async function createLease(deps: CoordinatorDeps, identity: Identity, body: CreateLeaseBody, request: { sourceAddress?: string | undefined } = {}): Promise<{ lease: LeaseRecord; created: boolean }> {
  const { store, clock, config } = deps;
  const provider = providerFor(deps, body.provider ?? config.defaultProvider);
  if ((await store.getMeta(DRAINING_META)) === '1') throw new CrabboxError('unavailable', 'the coordinator is draining and accepts no new leases', { hint: 'try again later or ask an admin' });
  const now = clock.now();
  const started = startLease(body, { maxTtlSeconds: config.lease.maxTtlSeconds, defaultTtlSeconds: config.lease.defaultTtlSeconds, defaultIdleSeconds: config.lease.defaultIdleSeconds }, now);
  if (!started.ok) throw timingError(started.problem);
  const { keep, ttlSeconds, idleTimeoutSeconds, expiresAt } = started.start;
  const price = await hourlyPrice(config, provider, body.type);
  const cost = reservedCost(price, ttlSeconds);
  const id = newLeaseId();
  const machineId = newMachineId();
  // Sudo only where the coordinator's own config names the lease's class and the provider can grant it (decision 0060).
  const leaseClass = classOf(body);
  const sudo = leaseClass !== undefined && config.sudo.classes.includes(leaseClass) && provider.capabilities.leaseSudo === true;

  const { lease, created } = await store.withTransaction(async (tx) => {
    const slug = uniqueSlug(id, await tx.liveSlugs(identity.owner));
    const result = await tx.createLease({
      id, slug, owner: identity.owner, org: identity.org, provider: provider.name, profile: body.profile, class: body.class, type: body.type, keep,
      ttlSeconds, idleTimeoutSeconds, createdAt: now, expiresAt, idempotencyKey: body.idempotencyKey ?? newToken(), hourlyPrice: price, reservedCost: cost, machineId, sudo,
    });
    if (!result.created) return result;
    await tx.createMachine({
      id: machineId, provider: provider.name, class: body.class, type: body.type, leaseId: id, createdAt: now,
      labels: leaseLabels({ lease: result.lease, installation: config.installation, machineId }),
    });
    // Checked after the insert, inside the same serialized transaction: a cap hit rolls the insert back.
    await checkCaps(tx, config, { owner: identity.owner, org: identity.org, now, leases: true });
    await audit(tx, { type: 'lease.created', at: now, actor: identity.owner, lease: result.lease, data: { provider: provider.name, ttlSeconds, keep, reservedCost: cost, machineId, ...(sudo ? { sudo } : {}) } });
    return result;
  });
  if (!created) return { lease, created };
  return { lease: await provision(deps, provider, lease, body, identity.owner, allowedCidrs(provider, body, request.sourceAddress)), created: true };
}

/** Touches a live lease: moves its idle deadline (optionally with a new idle timeout), never past the TTL cap. */
export async function heartbeatLease(deps: CoordinatorDeps, actor: string, lease: LeaseRecord, idleTimeoutSeconds?: number): Promise<LeaseRecord> {
  const { store, clock, config } = deps;
  const now = clock.now();
  const touched = touch(lease, now, idleTimeoutSeconds);
  if (!touched.ok) {
    if (touched.reason === 'bad_idle') throw timingError(touched.problem);
    throw endedLeaseError(lease, now);
  }
  const next = touched.lease;
  if (touched.extended) await checkCaps(store, config, { owner: lease.owner, org: lease.org, now, leases: false });
  const logIt = lease.heartbeatLoggedAt === undefined || now - lease.heartbeatLoggedAt >= config.heartbeatEventEverySeconds * 1000;
  const updated = await store.touchLease(lease.id, { lastTouchedAt: now, idleTimeoutSeconds: next.idleTimeoutSeconds, expiresAt: next.expiresAt, heartbeatLoggedAt: logIt ? now : undefined });
  if (!updated) throw new CrabboxError('lease_not_active', `lease ${lease.slug} is no longer active`);
  if (touched.extended) await audit(store, { type: 'lease.extended', at: now, actor, lease: updated, data: { idleTimeoutSeconds: updated.idleTimeoutSeconds, expiresAt: iso(updated.expiresAt) } });
  else if (logIt) await audit(store, { type: 'lease.heartbeat', at: now, actor, lease: updated, data: { expiresAt: iso(updated.expiresAt) } });
  return updated;
}

/**
 * Ends a live lease as the lifecycle says (a release before its deadline is `released`; at or past it, `expired` at the
 * deadline) and moves its machine on, in one commit, then deletes the machine. Idempotent: an ended lease is returned
 * as it is. Exactly one caller deletes the machine.
 */
async function endLeaseNow(
  deps: CoordinatorDeps,
  lease: LeaseRecord,
  how: { cause: 'release' | 'expire' | 'fail'; actor: string; reason: string; event: EventType; createRunning: boolean; deleteNow: boolean },
): Promise<LeaseRecord | undefined> {
  const { store, clock } = deps;
  const now = clock.now();
  const end = endLease(lease, how.cause, now);
  if (!end) return undefined;
  // Deleting now, the caller takes the deletion claim in the same write; else the machine is due for the sweeper's queue.
  const claimUntil = how.deleteNow ? now + CLAIM_MS : undefined;
  const result = await store.withTransaction(async (tx) => {
    const ended = await tx.transitionLease(lease.id, LIVE_STATES, end.state, { now, endedAt: end.endedAt, expiresAt: end.expiresAt, reason: how.reason });
    if (!ended) return undefined;
    const event = end.state === 'expired' && how.event !== 'lease.expired' ? 'lease.expired' : how.event;
    await audit(tx, { type: event, at: now, actor: how.actor, lease: ended, data: { reason: how.reason, ...(end.state === 'expired' ? { expiresAt: iso(end.expiresAt) } : {}) } });
    const machine = await settleMachineOf(tx, ended, { now, actor: how.actor, reason: `lease-${end.state}`, createRunning: how.createRunning, claimUntil, pools: deps.config.pools });
    return { ended, machine };
  });
  if (!result) return undefined;
  // The release (or the sweep that expired the lease) goes on once the lease's end is durable: a cloud delete (several
  // API calls) or a pool machine's scrub (an ssh session on the box) follows it where the runtime lets work outlive
  // its request (decision 0064).
  const after = async (work: Promise<unknown>): Promise<void> => {
    if (deps.afterResponse) deps.afterResponse(work);
    else await work;
  };
  if (how.deleteNow && result.machine?.state === 'deleting') await after(deleteMachine(deps, result.machine, how.actor, { claimedUntil: claimUntil, lease: result.ended }));
  // A pool machine goes back through a scrub. Not while its claim is still setting it up (the lease never became
  // active): that claim scrubs it when it finds the lease ended, or the sweep deletes it if the claim died.
  // A claim that timed out ('fail') is dead: its machine is scrubbed now.
  if (result.machine?.state === 'scrubbing' && (result.ended.machine || how.cause === 'fail')) await after(scrubMachine(deps, result.machine, result.ended, how.actor));
  return (await store.getLease(lease.id)) ?? result.ended;
}

/** Releases a lease. Idempotent: an already ended lease is returned as it is. */
export async function releaseLease(deps: CoordinatorDeps, actor: string, lease: LeaseRecord, reason = 'released', eventType: 'lease.released' | 'machine.drained' = 'lease.released'): Promise<LeaseRecord> {
  const ended = await endLeaseNow(deps, lease, { cause: 'release', actor, reason, event: eventType, createRunning: true, deleteNow: true });
  return ended ?? (await deps.store.getLease(lease.id)) ?? lease;
}

/** Ends a live lease because its time is up, or because its create never finished (sweeper: its deletion queue deletes the machine next). */
export async function expireLease(deps: CoordinatorDeps, lease: LeaseRecord, reason: 'expired' | 'provisioning-timeout' = 'expired'): Promise<boolean> {
  const fail = reason === 'provisioning-timeout';
  const ended = await endLeaseNow(deps, lease, { cause: fail ? 'fail' : 'expire', actor: 'sweeper', reason, event: fail ? 'lease.failed' : 'lease.expired', createRunning: !fail, deleteNow: false });
  return ended !== undefined;
}

/** Admin: ends the lease if live and deletes its machine now (left to the sweeper's retries if the provider fails). */
export async function forceDelete(deps: CoordinatorDeps, actor: string, lease: LeaseRecord): Promise<LeaseRecord> {
  const { store, clock } = deps;
  if (isLive(lease.state)) await releaseLease(deps, actor, lease, 'admin-delete');
  const current = (await store.getLease(lease.id)) ?? lease;
  const now = clock.now();
  const machine = await store.withTransaction((tx) => settleMachineOf(tx, current, { now, actor, reason: 'admin-delete', createRunning: true }));
  if (machine?.state === 'deleting') await deleteMachine(deps, machine, actor, { lease: current });
  return (await store.getLease(lease.id)) ?? current;
}

import type { CreateLeaseBody, LeaseView } from '../api/schemas.ts';
import { endedLeaseError } from '../domain/ended.ts';
import { CrabboxError, isCrabboxError } from '../domain/errors.ts';
import { newLeaseId, newToken, uniqueSlug } from '../domain/ids.ts';
import { leaseLabels, LABEL } from '../domain/labels.ts';
import { computeExpiry, isLive, touch, type MachineRef } from '../domain/lease.ts';
import { API_NAMES, describeTimingProblem, leaseTimings, type TimingProblem } from '../domain/lease-timing.ts';
import type { Machine, Provider } from '../providers/provider.ts';
import { pickSshCidrs } from '../net/cidr.ts';
import { redact } from '../redact/redact.ts';
import type { LeaseRecord } from '../storage/store.ts';
import { audit } from './audit.ts';
import { checkCaps } from './caps.ts';
import { cleanupMachine } from './cleanup.ts';
import type { CoordinatorDeps } from './deps.ts';
import type { Identity } from './auth/identity.ts';
import { generateHostKey } from './host-key.ts';
import { hourlyPrice, reservedCost } from './pricing.ts';

/** The lease lifecycle: create (record first, provider second), heartbeat, release. Every step is a conditional store update. */

const iso = (ms: number): string => new Date(ms).toISOString();

/**
 * The lease as the API shows it: no idempotency key, no cleanup internals. `type` is the type that actually
 * launched once the machine exists (the request's type before). With `providers`, the machine says which command
 * proves the box finished bootstrapping (the CLI runs it over ssh before using the box).
 */
export function leaseView(lease: LeaseRecord, providers?: Record<string, Provider>): LeaseView {
  const readyCommand = providers?.[lease.provider]?.capabilities.readyCommand;
  return {
    id: lease.id, slug: lease.slug, owner: lease.owner, org: lease.org, provider: lease.provider, state: lease.state, keep: lease.keep,
    ttlSeconds: lease.ttlSeconds, idleTimeoutSeconds: lease.idleTimeoutSeconds, createdAt: iso(lease.createdAt), lastTouchedAt: iso(lease.lastTouchedAt),
    expiresAt: iso(lease.expiresAt), endedAt: lease.endedAt !== undefined ? iso(lease.endedAt) : undefined, class: lease.class, type: lease.machine?.type ?? lease.type,
    hourlyPrice: lease.hourlyPrice, reservedCost: lease.reservedCost,
    machine: lease.machine
      ? {
          host: lease.machine.host, ports: lease.machine.ports, sshUser: lease.machine.sshUser, workRoot: lease.machine.workRoot, hostKey: lease.machine.hostKey,
          ...(lease.machine.type ? { type: lease.machine.type } : {}), ...(readyCommand ? { readyCommand } : {}),
        }
      : undefined,
  };
}

/** A refused TTL or idle timeout as a 400 in request-body terms; `detail.field` lets the CLI name its own flag. */
export function timingError(problem: TimingProblem): CrabboxError {
  const field = API_NAMES[problem.field];
  return new CrabboxError('bad_request', describeTimingProblem(problem, API_NAMES), { detail: { field, seconds: problem.seconds, min: problem.min, max: problem.max, overTtl: problem.overTtl } });
}

function machineRef(machine: Machine, hostKey: string): MachineRef {
  return {
    provider: machine.provider, providerId: machine.providerId, host: machine.host, ports: machine.ports, sshUser: machine.sshUser,
    workRoot: machine.workRoot, hostKey: machine.hostKey || hostKey, type: machine.type, region: machine.region,
  };
}

function providerFor(deps: CoordinatorDeps, name: string): Provider {
  const provider = deps.providers[name];
  if (!provider) throw new CrabboxError('bad_request', `provider ${JSON.stringify(name)} is not available on this coordinator`, { hint: `available: ${Object.keys(deps.providers).join(', ') || 'none'}` });
  return provider;
}

export const DRAINING_META = 'draining';

/**
 * Creates a lease: the record is stored `provisioning` (with its idempotency key, under the caps, in one transaction)
 * before the provider is called; the provider id is stored the moment it is known; a failed create deletes or queues
 * whatever the provider made. A retry with the same idempotency key returns the same lease.
 */
export async function createLease(deps: CoordinatorDeps, identity: Identity, body: CreateLeaseBody, request: { sourceAddress?: string | undefined } = {}): Promise<{ lease: LeaseRecord; created: boolean }> {
  const { store, clock, config } = deps;
  const provider = providerFor(deps, body.provider ?? config.defaultProvider);
  if ((await store.getMeta(DRAINING_META)) === '1') throw new CrabboxError('unavailable', 'the coordinator is draining and accepts no new leases', { hint: 'try again later or ask an admin' });
  const timed = leaseTimings(body, { maxTtlSeconds: config.lease.maxTtlSeconds, defaultTtlSeconds: config.lease.defaultTtlSeconds, defaultIdleSeconds: config.lease.defaultIdleSeconds });
  if (!timed.ok) throw timingError(timed.problem);
  const timings = { ttlSeconds: timed.ttlSeconds, idleTimeoutSeconds: timed.idleTimeoutSeconds };
  const price = await hourlyPrice(config, provider, body.type);
  const cost = reservedCost(price, timings.ttlSeconds);
  const now = clock.now();
  const id = newLeaseId();
  const keep = body.keep ?? false;

  const { lease, created } = await store.withTransaction(async (tx) => {
    const slug = uniqueSlug(id, await tx.liveSlugs(identity.owner));
    const base = { createdAt: now, lastTouchedAt: now, keep, ...timings };
    const result = await tx.createLease({
      id, slug, owner: identity.owner, org: identity.org, provider: provider.name, profile: body.profile, class: body.class, type: body.type, keep,
      ...timings, createdAt: now, expiresAt: computeExpiry(base), idempotencyKey: body.idempotencyKey ?? newToken(), hourlyPrice: price, reservedCost: cost,
    });
    if (!result.created) return result;
    // Checked after the insert, inside the same serialized transaction: a cap hit rolls the insert back.
    await checkCaps(tx, config, { owner: identity.owner, org: identity.org, now, leases: true });
    await audit(tx, { type: 'lease.created', at: now, actor: identity.owner, lease: result.lease, data: { provider: provider.name, ttlSeconds: timings.ttlSeconds, keep, reservedCost: cost } });
    return result;
  });
  if (!created) return { lease, created };
  return { lease: await provision(deps, provider, lease, body, identity.owner, allowedCidrs(provider, body, request.sourceAddress)), created: true };
}

/**
 * The SSH firewall's sources for a billable cloud box: the CLI's own detected address, else the request's source
 * address. Empty when neither is usable; the provider then applies its documented rule (an operator override or a refusal).
 */
function allowedCidrs(provider: Provider, body: CreateLeaseBody, source: string | undefined): string[] | undefined {
  if (!provider.capabilities.billable || provider.capabilities.local) return undefined;
  try {
    const cidrs = pickSshCidrs({ detected: body.callerCidr, source });
    return cidrs.length > 0 ? cidrs : undefined;
  } catch {
    return undefined; // an unusable source address (validated callerCidr never lands here)
  }
}

async function provision(deps: CoordinatorDeps, provider: Provider, lease: LeaseRecord, body: CreateLeaseBody, actor: string, cidrs?: string[]): Promise<LeaseRecord> {
  const { store, clock, config } = deps;
  try {
    const hostKey = await (deps.hostKeys ?? generateHostKey)();
    const machine = await provider.create(
      { leaseId: lease.id, slug: lease.slug, labels: leaseLabels({ lease, installation: config.installation }), sshPublicKey: body.sshPublicKey.trim(), hostKey, class: body.class, type: body.type, ...(cidrs ? { allowedCidrs: cidrs } : {}) },
      { onProviderId: (providerId) => store.setProviderId(lease.id, providerId) },
    );
    await store.setProviderId(lease.id, machine.providerId);
    const active = await store.activateLease(lease.id, machineRef(machine, hostKey.publicKey));
    if (!active) {
      // Released (or expired) while the provider worked: the machine must not outlive its lease.
      await store.queueCleanup(lease.id, clock.now());
      const current = await store.getLease(lease.id);
      const cleaned = current ? await cleanupMachine(deps, current, actor) : 'not-claimed';
      // The release's own delete may have run while the create was still in flight, before the provider had made
      // everything; the create has returned now, so what it returned is deleted once more (deletes are idempotent).
      if (cleaned === 'not-claimed' || cleaned === 'failed') await deleteAfterCreate(deps, provider, current ?? lease, machine.providerId, actor);
      throw new CrabboxError('lease_not_active', `lease ${lease.id} ended while it was being provisioned`);
    }
    await audit(store, { type: 'machine.provisioned', at: clock.now(), actor, lease: active, data: { host: active.machine?.host, type: active.machine?.type } });
    return active;
  } catch (error) {
    if (isCrabboxError(error) && error.code === 'lease_not_active') throw error;
    await failCreate(deps, provider, lease, error, actor);
    throw isCrabboxError(error) && error.status < 500 && error.code !== 'internal'
      ? error
      : new CrabboxError('provider_error', `provider ${provider.name} could not create the machine: ${redact(error instanceof Error ? error.message : String(error)).slice(0, 200)}`, { hint: 'nothing was left running; try again' });
  }
}

/** Deletes a machine a create returned for a lease that ended meanwhile; a failure is left to the orphan sweep (its labels name the ended lease). */
async function deleteAfterCreate(deps: CoordinatorDeps, provider: Provider, lease: LeaseRecord, providerId: string, actor: string): Promise<void> {
  const { store, clock } = deps;
  try {
    const result = await provider.delete(providerId);
    await audit(store, { type: 'machine.deleted', at: clock.now(), actor, lease, providerId, data: { result, reason: 'ended-during-create' } });
  } catch (error) {
    const message = redact(error instanceof Error ? error.message : String(error)).slice(0, 300);
    await audit(store, { type: 'provider.error', at: clock.now(), actor, lease, providerId, data: { op: 'delete', error: message, reason: 'ended-during-create' } });
    deps.logger?.warn('delete after a create that outlived its lease failed; the orphan sweep retries', { leaseId: lease.id, error: message });
  }
}

/** After a failed create: mark the lease failed, queue what the provider made, and sweep the provider for strays of this lease. */
async function failCreate(deps: CoordinatorDeps, provider: Provider, lease: LeaseRecord, error: unknown, actor: string): Promise<void> {
  const { store, clock } = deps;
  const message = redact(error instanceof Error ? error.message : String(error)).slice(0, 300);
  await audit(store, { type: 'provider.error', at: clock.now(), actor, lease, data: { op: 'create', error: message } });
  const failed = await store.transitionLease(lease.id, ['provisioning'], 'failed', { now: clock.now(), reason: 'provider-error', queueCleanup: true });
  if (failed) await audit(store, { type: 'lease.failed', at: clock.now(), actor, lease: failed, data: { reason: 'provider-error' } });
  const current = (await store.getLease(lease.id)) ?? lease;
  if (current.cleanup.state === 'pending') await cleanupMachine(deps, current, actor);
  if (!provider.capabilities.labels) return;
  try {
    // A machine the provider made but never reported an id for is found by its lease label.
    for (const stray of await provider.list({ [LABEL.lease]: lease.id })) {
      if (stray.providerId === current.providerId && current.cleanup.state !== 'none') continue;
      const result = await provider.delete(stray.providerId);
      await audit(store, { type: 'machine.deleted', at: clock.now(), actor, lease: current, providerId: stray.providerId, data: { result, reason: 'failed-create' } });
    }
  } catch (listError) {
    // The orphan sweep finds it later by the same labels.
    deps.logger?.warn('stray sweep after failed create did not finish', { leaseId: lease.id, error: redact(String(listError)).slice(0, 200) });
  }
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
  const extended = next.idleTimeoutSeconds > lease.idleTimeoutSeconds;
  if (extended) await checkCaps(store, config, { owner: lease.owner, org: lease.org, now, leases: false });
  const logIt = lease.heartbeatLoggedAt === undefined || now - lease.heartbeatLoggedAt >= config.heartbeatEventEverySeconds * 1000;
  const updated = await store.touchLease(lease.id, { lastTouchedAt: now, idleTimeoutSeconds: next.idleTimeoutSeconds, expiresAt: next.expiresAt, heartbeatLoggedAt: logIt ? now : undefined });
  if (!updated) throw new CrabboxError('lease_not_active', `lease ${lease.slug} is no longer active`);
  if (extended) await audit(store, { type: 'lease.extended', at: now, actor, lease: updated, data: { idleTimeoutSeconds: updated.idleTimeoutSeconds, expiresAt: iso(updated.expiresAt) } });
  else if (logIt) await audit(store, { type: 'lease.heartbeat', at: now, actor, lease: updated, data: { expiresAt: iso(updated.expiresAt) } });
  return updated;
}

/** Releases a lease. Idempotent: an already ended lease is returned as it is. Exactly one caller deletes the machine. */
export async function releaseLease(deps: CoordinatorDeps, actor: string, lease: LeaseRecord, reason = 'released', eventType: 'lease.released' | 'machine.drained' = 'lease.released'): Promise<LeaseRecord> {
  const { store, clock } = deps;
  const released = await store.transitionLease(lease.id, ['provisioning', 'active'], 'released', { now: clock.now(), reason, queueCleanup: true });
  if (released) {
    await audit(store, { type: eventType, at: clock.now(), actor, lease: released, data: { reason } });
    await cleanupMachine(deps, released, actor);
  }
  return (await store.getLease(lease.id)) ?? lease;
}

/** Ends a live lease because its time is up (sweeper). */
export async function expireLease(deps: CoordinatorDeps, lease: LeaseRecord, reason: 'expired' | 'provisioning-timeout' = 'expired'): Promise<boolean> {
  const { store, clock } = deps;
  const to = reason === 'expired' ? 'expired' : 'failed';
  const ended = await store.transitionLease(lease.id, ['provisioning', 'active'], to, { now: clock.now(), reason, queueCleanup: true });
  if (!ended) return false;
  await audit(store, { type: to === 'expired' ? 'lease.expired' : 'lease.failed', at: clock.now(), actor: 'sweeper', lease: ended, data: { reason, expiresAt: iso(lease.expiresAt) } });
  return true;
}

/** Admin: ends the lease if live and deletes its machine now (queued for retry if the provider fails). */
export async function forceDelete(deps: CoordinatorDeps, actor: string, lease: LeaseRecord): Promise<LeaseRecord> {
  const { store, clock } = deps;
  if (isLive(lease.state)) await releaseLease(deps, actor, lease, 'admin-delete');
  await store.queueCleanup(lease.id, clock.now());
  const current = await store.getLease(lease.id);
  if (current?.cleanup.state === 'pending') await cleanupMachine(deps, current, actor);
  return (await store.getLease(lease.id)) ?? lease;
}

import type { CreateLeaseBody } from '../../api/schemas.ts';
import { boxUserCa } from '../ssh-ca.ts';
import { CrabboxError } from '../../domain/errors.ts';
import { newLeaseId, newToken, uniqueSlug } from '../../domain/ids.ts';
import { startLease } from '../../domain/lifecycle.ts';
import { leaseUser } from '../../machine-access/access.ts';
import { redact } from '../../redact/redact.ts';
import type { LeaseRecord, MachineRecord } from '../../storage/store.ts';
import { audit } from '../audit.ts';
import { hasRole, type Identity } from '../auth/identity.ts';
import { checkCaps } from '../caps.ts';
import type { CoordinatorDeps } from '../deps.ts';
import { createLease, DRAINING_META, timingError } from '../leases.ts';
import { hourlyPrice, reservedCost } from '../pricing.ts';
import { findPool, type PoolConfig } from './config.ts';
import { scrubMachine } from './scrub.ts';

/** Thrown inside the claim transaction when no machine is idle: rolls the lease insert back. */
class PoolEmpty extends Error {}
/** Thrown inside the claim transaction when the idempotency key names an existing lease: rolls the claim back. */
class Existing extends Error {
  readonly lease: LeaseRecord;
  constructor(lease: LeaseRecord) {
    super('existing lease');
    this.lease = lease;
  }
}

/** The pool a request names (`pool: true` for its provider and class, or a name), or a 400 that lists the pools. */
export function requestedPool(deps: CoordinatorDeps, body: CreateLeaseBody): PoolConfig {
  const { config } = deps;
  const want = typeof body.pool === 'string' ? { name: body.pool, provider: body.provider ?? config.defaultProvider } : { provider: body.provider ?? config.defaultProvider, class: body.class };
  const pool = findPool(config.pools, want);
  const known = config.pools.map((p) => `${p.name} (${p.provider}${p.class ? `/${p.class}` : ''})`).join(', ') || 'none';
  if (!pool) {
    const what = typeof body.pool === 'string' ? `no warm pool named ${JSON.stringify(body.pool)}` : `no warm pool for provider ${want.provider}${body.class ? ` class ${body.class}` : ''}`;
    throw new CrabboxError('bad_request', `${what} on this coordinator`, { hint: `pools: ${known}` });
  }
  if (body.provider !== undefined && body.provider !== pool.provider) throw new CrabboxError('bad_request', `pool ${pool.name} is for provider ${pool.provider}, not ${body.provider}`);
  if (!deps.providers[pool.provider]) throw new CrabboxError('bad_request', `pool ${pool.name}'s provider ${pool.provider} is not available on this coordinator`);
  return pool;
}

/**
 * A lease on a warm pool machine: the lease is stored and an idle machine taken for it in one transaction (one
 * conditional update, under the caps), then the machine gets the lease's own user, key and workdir, and the lease
 * becomes active. No idle machine: a cold machine of its own, or `pool_empty` (503 with Retry-After), as the pool
 * says. A release while the grant runs wins: the machine is scrubbed and goes back. A retry with the same
 * idempotency key returns the same lease.
 */
export async function claimLease(deps: CoordinatorDeps, identity: Identity, body: CreateLeaseBody, request: { sourceAddress?: string | undefined; startedAt?: number | undefined } = {}): Promise<{ lease: LeaseRecord; created: boolean }> {
  const { store, clock, config } = deps;
  const pool = requestedPool(deps, body);
  if (!pool.users && !hasRole(identity, 'maintainer')) {
    throw new CrabboxError('forbidden', `warm pool ${pool.name} is for maintainers and admins`, { hint: 'lease without --pool (a machine of its own), or ask an admin to open the pool (users: true)' });
  }
  if ((await store.getMeta(DRAINING_META)) === '1') throw new CrabboxError('unavailable', 'the coordinator is draining and accepts no new leases', { hint: 'try again later or ask an admin' });
  const started = request.startedAt ?? clock.now();
  const now = clock.now();
  const timing = startLease(body, { maxTtlSeconds: config.lease.maxTtlSeconds, defaultTtlSeconds: config.lease.defaultTtlSeconds, defaultIdleSeconds: config.lease.defaultIdleSeconds }, now);
  if (!timing.ok) throw timingError(timing.problem);
  const { keep, ttlSeconds, idleTimeoutSeconds, expiresAt } = timing.start;
  const provider = deps.providers[pool.provider]!;
  const price = await hourlyPrice(config, provider, pool.type);
  const id = newLeaseId();

  let claimed: { lease: LeaseRecord; created: boolean; machine?: MachineRecord } | undefined;
  try {
    claimed = await store.withTransaction(async (tx) => {
      const slug = uniqueSlug(id, await tx.liveSlugs(identity.owner));
      const machine = await tx.claimIdleMachine(pool.name, id, now);
      const result = await tx.createLease({
        id, slug, owner: identity.owner, org: identity.org, provider: pool.provider, profile: body.profile, class: pool.class, type: pool.type, keep,
        ttlSeconds, idleTimeoutSeconds, createdAt: now, expiresAt, idempotencyKey: body.idempotencyKey ?? newToken(), hourlyPrice: price,
        reservedCost: reservedCost(price, ttlSeconds), pool: pool.name, machineId: machine?.id,
        // Recorded before the grant: whatever happens next, a machine whose lease may have had sudo is not reused.
        sudo: pool.sudo,
      });
      if (!result.created) throw new Existing(result.lease);
      if (!machine) throw new PoolEmpty();
      await checkCaps(tx, config, { owner: identity.owner, org: identity.org, now, leases: true });
      const lease = (await tx.getLease(id))!;
      await audit(tx, { type: 'lease.created', at: now, actor: identity.owner, lease, data: { provider: pool.provider, ttlSeconds, keep, reservedCost: lease.reservedCost, machineId: machine.id, pool: pool.name, ...(lease.sudo ? { sudo: true } : {}) } });
      return { lease, created: true, machine };
    });
  } catch (error) {
    if (error instanceof Existing) return { lease: error.lease, created: false };
    if (!(error instanceof PoolEmpty)) throw error;
  }
  if (!claimed) return emptyPool(deps, identity, body, pool, request);
  if (!claimed.created || !claimed.machine) return claimed;
  return { lease: await assign(deps, claimed.lease, claimed.machine, body.sshPublicKey.trim(), identity.owner, started), created: true };
}

async function emptyPool(deps: CoordinatorDeps, identity: Identity, body: CreateLeaseBody, pool: PoolConfig, request: { sourceAddress?: string | undefined }): Promise<{ lease: LeaseRecord; created: boolean }> {
  await audit(deps.store, { type: 'pool.empty', at: deps.clock.now(), actor: identity.owner, owner: identity.owner, org: identity.org, data: { pool: pool.name, onEmpty: pool.onEmpty } });
  deps.pokePool?.();
  if (pool.onEmpty === 'wait503') {
    throw new CrabboxError('pool_empty', `warm pool ${pool.name} has no idle machine right now`, {
      hint: `try again in ${pool.retryAfterSeconds}s, or lease without --pool for a machine of its own`,
      detail: { pool: pool.name, retryAfterSeconds: pool.retryAfterSeconds },
    });
  }
  const { pool: _pool, ...cold } = body;
  return createLease(deps, identity, { ...cold, provider: pool.provider, ...(pool.class ? { class: pool.class } : {}), ...(body.type ?? pool.type ? { type: body.type ?? pool.type } : {}) }, request);
}

/**
 * Gives the claimed machine to the lease: its own user, key and workdir, then the lease becomes active and the
 * `machine.assigned` event records how long the claim took. A failed grant fails the lease and scrubs the machine.
 */
async function assign(deps: CoordinatorDeps, lease: LeaseRecord, machine: MachineRecord, publicKey: string, actor: string, started: number): Promise<LeaseRecord> {
  const { store, clock } = deps;
  const access = deps.access?.[machine.provider];
  deps.pokePool?.();
  let granted;
  try {
    if (!access) throw new Error(`no machine access for provider ${machine.provider} on this coordinator`);
    const ca = boxUserCa(deps, machine.provider, lease.id);
    granted = await access.grant(machine, { leaseId: lease.id, user: leaseUser(lease.id), publicKey, ...(ca?.principal ? { principal: ca.principal } : {}), ...(lease.sudo ? { sudo: true } : {}) }, { signal: AbortSignal.timeout(60_000) });
  } catch (error) {
    await failClaim(deps, lease, machine, actor, error);
    throw new CrabboxError('provider_error', `could not set up pool machine ${machine.id} for the lease: ${redact(error instanceof Error ? error.message : String(error)).slice(0, 200)}`, { hint: 'nothing was left running; try again' });
  }
  const now = clock.now();
  const active = await store.withTransaction(async (tx) => {
    const activated = await tx.activateLease(lease.id, { sshUser: granted.sshUser, workRoot: granted.workRoot, type: machine.type });
    if (!activated) return undefined;
    const current = (await tx.getMachine(machine.id)) ?? machine;
    await audit(tx, { type: 'machine.assigned', at: now, actor, lease: activated, machine: current, data: { pool: machine.pool, assignments: current.assignments, claimMs: Math.max(0, now - started) } });
    return activated;
  });
  if (!active) {
    // Released (or expired) while the grant ran: that release moved the machine to `scrubbing` and left it to us.
    const ended = (await store.getLease(lease.id)) ?? lease;
    const current = await store.getMachine(machine.id);
    if (current && (current.state === 'scrubbing' || current.state === 'draining')) await scrubMachine(deps, current, ended, actor);
    throw new CrabboxError('lease_not_active', `lease ${lease.id} ended while its pool machine was being set up`);
  }
  return active;
}

/** A grant that failed: the lease fails, and the machine (maybe half set up) is scrubbed, then reused or deleted. */
async function failClaim(deps: CoordinatorDeps, lease: LeaseRecord, machine: MachineRecord, actor: string, error: unknown): Promise<void> {
  const { store, clock } = deps;
  const message = redact(error instanceof Error ? error.message : String(error)).slice(0, 300);
  const now = clock.now();
  const moved = await store.withTransaction(async (tx) => {
    await audit(tx, { type: 'provider.error', at: now, actor, lease, machine, data: { op: 'grant', error: message, pool: machine.pool } });
    const failed = await tx.transitionLease(lease.id, ['provisioning'], 'failed', { now, reason: 'grant-failed' });
    if (failed) await audit(tx, { type: 'lease.failed', at: now, actor, lease: failed, data: { reason: 'grant-failed' } });
    return tx.transitionMachine(machine.id, ['assigned'], 'scrubbing', { now, reason: 'grant-failed' });
  });
  const current = moved ?? (await store.getMachine(machine.id));
  if (current && (current.state === 'scrubbing' || current.state === 'draining')) await scrubMachine(deps, current, (await store.getLease(lease.id)) ?? lease, actor);
}

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CrabboxError } from '../../domain/errors.ts';
import { leaseUser } from '../../machine-access/access.ts';
import { PUBLIC_KEY } from '../testkit.ts';
import { sweep } from '../sweeper.ts';
import { provisionPoolMachine, reconcilePool } from './reconcile.ts';
import { ADMIN_PUBLIC_KEY, poolHarness } from './testkit.ts';

const claim = { sshPublicKey: PUBLIC_KEY, pool: true };

describe('warm pool: refill, claim, scrub', () => {
  it('a pass fills the pool to min with machines made for no lease (admin key, shared, own token), and a second pass does nothing', async () => {
    await using h = await poolHarness();
    const idle = await h.fill();
    assert.equal(idle.length, 2);
    const spec = h.provider.specs[0]!;
    assert.equal(spec.shared, true);
    assert.equal(spec.sshPublicKey, ADMIN_PUBLIC_KEY);
    const machine = (await h.store.getMachine(idle[0]!))!;
    assert.deepEqual([machine.state, machine.pool, machine.leaseId, machine.token], ['idle', 'warm', undefined, `cbx_${machine.id.slice(4)}`]);
    assert.equal(machine.labels['crabbox-machine'], machine.id);
    assert.ok(h.access.calls.some((c) => c.op === 'prepare' && c.machine === machine.id), 'prepared before it went idle');
    const again = await reconcilePool(h.deps);
    assert.deepEqual([again.pools.warm?.created, again.pools.warm?.idle, h.provider.specs.length], [0, 2, 2]);
    assert.equal((await h.store.listEvents({ type: 'machine.provisioned' })).items.length, 2);
  });

  it('a claim takes an idle machine for the lease: its own user and workdir, active at once; release scrubs it back to idle', async () => {
    await using h = await poolHarness();
    const [first] = await h.fill();
    const res = await h.request('POST', '/v1/leases', { token: await h.maintainer(), body: claim });
    assert.equal(res.status, 201, JSON.stringify(res.json));
    const lease = res.json.lease;
    assert.equal(lease.state, 'active');
    assert.equal(lease.pool, 'warm');
    assert.equal(lease.machineId, first, 'the oldest idle machine');
    assert.equal(lease.machine.sshUser, leaseUser(lease.id));
    assert.equal(lease.machine.readyCommand, undefined);
    assert.equal(h.access.box(first!).users.get(leaseUser(lease.id))?.key, PUBLIC_KEY);
    const assigned = (await h.store.getMachine(first!))!;
    assert.deepEqual([assigned.state, assigned.leaseId, assigned.assignments], ['assigned', lease.id, 1]);
    const events = (await h.store.listEvents({ leaseId: lease.id })).items.map((e) => e.type).reverse();
    assert.deepEqual(events, ['lease.created', 'machine.assigned']);
    assert.equal(typeof (await h.store.listEvents({ type: 'machine.assigned' })).items[0]?.data?.claimMs, 'number');

    const released = await h.request('POST', `/v1/leases/${lease.id}/release`, { token: await h.maintainer() });
    assert.equal(released.json.lease.state, 'released');
    const after = (await h.store.getMachine(first!))!;
    assert.deepEqual([after.state, after.leaseId, after.stateReason], ['idle', undefined, 'scrubbed']);
    assert.equal(h.access.box(first!).users.size, 0, 'nothing of the lease is left on the box');
    const scrubbed = (await h.store.listEvents({ type: 'machine.scrubbed' })).items[0];
    assert.deepEqual([scrubbed?.machineId, scrubbed?.leaseId, scrubbed?.data?.clean, scrubbed?.data?.to], [first, lease.id, true, 'idle']);
    assert.equal(h.provider.machines.size, 2, 'no machine was deleted');

    const second = await h.request('POST', '/v1/leases', { token: await h.maintainer(), body: claim });
    assert.equal(second.status, 201);
    assert.notEqual(second.json.lease.machine.sshUser, lease.machine.sshUser, 'the next lease is another user');
  });

  it('a lease that forwarded env values gets its machine deleted, never reused', async () => {
    await using h = await poolHarness();
    const [first] = await h.fill();
    const token = await h.maintainer();
    const { json } = await h.request('POST', '/v1/leases', { token, body: claim });
    const run = await h.request('POST', '/v1/runs', { token, body: { leaseId: json.lease.id, forwardsEnv: true } });
    assert.equal(run.status, 201);
    assert.equal((await h.store.getLease(json.lease.id))?.envForwarded, true);
    await h.request('POST', `/v1/leases/${json.lease.id}/release`, { token });
    const m = (await h.store.getMachine(first!))!;
    assert.deepEqual([m.state, m.stateReason], ['deleted', 'lease-released:env-forwarded']);
    assert.equal(h.access.calls.filter((c) => c.op === 'scrub').length, 0, 'a machine that is deleted needs no scrub');
  });

  it('reuse: false deletes every machine after its lease', async () => {
    await using h = await poolHarness({ pool: { reuse: false } });
    const [first] = await h.fill();
    const token = await h.maintainer();
    const { json } = await h.request('POST', '/v1/leases', { token, body: claim });
    await h.request('POST', `/v1/leases/${json.lease.id}/release`, { token });
    assert.deepEqual([(await h.store.getMachine(first!))?.state, (await h.store.getMachine(first!))?.stateReason], ['deleted', 'lease-released:reuse-off']);
  });

  it('a scrub that leaves something behind deletes the machine instead of reusing it', async () => {
    await using h = await poolHarness();
    const [first] = await h.fill();
    h.access.dirtyScrub.add(first!);
    const token = await h.maintainer();
    const { json } = await h.request('POST', '/v1/leases', { token, body: claim });
    await h.request('POST', `/v1/leases/${json.lease.id}/release`, { token });
    const m = (await h.store.getMachine(first!))!;
    assert.deepEqual([m.state, m.stateReason], ['deleted', 'scrub-failed']);
    const event = (await h.store.listEvents({ type: 'machine.scrubbed' })).items[0];
    assert.deepEqual([event?.data?.clean, event?.data?.to], [false, 'deleting']);
    assert.match(String((event?.data?.left as string[])[0]), /left-behind/);
  });

  it('a machine past maxAssignments is deleted after its last lease; the next pass replaces it', async () => {
    await using h = await poolHarness({ pool: { maxAssignments: 1, min: 1 } });
    const [first] = await h.fill();
    const token = await h.maintainer();
    const { json } = await h.request('POST', '/v1/leases', { token, body: claim });
    await h.request('POST', `/v1/leases/${json.lease.id}/release`, { token });
    assert.equal((await h.store.getMachine(first!))?.stateReason, 'lease-released:max-assignments');
    const idle = await h.fill();
    assert.equal(idle.length, 1);
    assert.notEqual(idle[0], first);
  });

  it('idle machines past maxAgeHours are replaced, oldest first', async () => {
    await using h = await poolHarness({ pool: { maxAgeHours: 1 } });
    const old = await h.fill();
    h.clock.advance(3_600_000);
    const stats = await reconcilePool(h.deps);
    assert.deepEqual([stats.pools.warm?.deleted, stats.pools.warm?.created], [2, 2]);
    for (const id of old) assert.equal((await h.store.getMachine(id))?.stateReason, 'pool-max-age');
  });

  it('an empty pool: a cold machine of its own (onEmpty: cold) or 503 with Retry-After (wait503)', async () => {
    const cold = await poolHarness({ pool: { min: 0 } });
    try {
      const res = await cold.request('POST', '/v1/leases', { token: await cold.maintainer(), body: claim });
      assert.equal(res.status, 201);
      assert.equal(res.json.lease.pool, undefined);
      assert.equal((await cold.store.getMachine(res.json.lease.machineId))?.pool, undefined, 'a cold machine, not a pool one');
      assert.equal((await cold.store.listEvents({ type: 'pool.empty' })).items[0]?.data?.onEmpty, 'cold');
    } finally {
      await cold.close();
    }
    await using wait = await poolHarness({ pool: { min: 0, onEmpty: 'wait503', retryAfterSeconds: 20 } });
    const res = await wait.request('POST', '/v1/leases', { token: await wait.maintainer(), body: claim });
    assert.equal(res.status, 503);
    assert.equal(res.headers.get('retry-after'), '20');
    assert.equal(res.json.error, 'pool_empty');
    assert.equal((await wait.store.listLeases({})).items.length, 0, 'no lease was kept');
  });

  it('who may draw: maintainers by default (users get 403), everyone with users: true; an unknown pool is a 400', async () => {
    const h = await poolHarness();
    try {
      await h.fill();
      const user = await h.userToken('alice');
      const refused = await h.request('POST', '/v1/leases', { token: user, body: claim });
      assert.equal(refused.status, 403);
      assert.match(refused.json.message, /warm pool warm is for maintainers and admins/);
      const unknown = await h.request('POST', '/v1/leases', { token: await h.maintainer(), body: { ...claim, pool: 'nope' } });
      assert.equal(unknown.status, 400);
      assert.match(unknown.json.message, /no warm pool named "nope"/);
      assert.match(unknown.json.hint, /warm \(fake\)/);
    } finally {
      await h.close();
    }
    await using open = await poolHarness({ pool: { users: true } });
    await open.fill();
    assert.equal((await open.request('POST', '/v1/leases', { token: await open.userToken('alice'), body: claim })).status, 201);
  });

  it('a failed grant fails the lease and the machine is scrubbed and goes back', async () => {
    await using h = await poolHarness({ pool: { min: 1 } });
    const [first] = await h.fill();
    h.access.failGrant.add(first!);
    const res = await h.request('POST', '/v1/leases', { token: await h.maintainer(), body: claim });
    assert.equal(res.status, 502);
    const lease = (await h.store.listLeases({})).items[0]!;
    assert.equal(lease.state, 'failed');
    assert.equal((await h.store.getMachine(first!))?.state, 'idle');
  });

  it('a release while the grant runs wins: the lease ends, the claim scrubs the machine back to idle', async () => {
    await using h = await poolHarness({ pool: { min: 1 } });
    const [first] = await h.fill();
    h.access.grantDelayMs = 100;
    const token = await h.maintainer();
    const claiming = h.request('POST', '/v1/leases', { token, body: claim });
    let lease;
    for (let i = 0; i < 100 && !lease; i++) {
      await new Promise((resolve) => setTimeout(resolve, 5));
      lease = (await h.store.listLeases({})).items[0];
    }
    assert.ok(lease);
    const released = await h.request('POST', `/v1/leases/${lease.id}/release`, { token });
    assert.equal(released.json.lease.state, 'released');
    const res = await claiming;
    assert.equal(res.status, 409);
    assert.equal(res.json.error, 'lease_not_active');
    assert.equal((await h.store.getMachine(first!))?.state, 'idle');
    assert.equal(h.access.box(first!).users.size, 0);
  });

  it('drain while assigned: the machine serves its lease to the end, then it is deleted', async () => {
    await using h = await poolHarness({ pool: { min: 1 } });
    const [first] = await h.fill();
    const token = await h.maintainer();
    const { json } = await h.request('POST', '/v1/leases', { token, body: claim });
    const admin = await h.userToken('root');
    const drained = await h.request('POST', `/v1/admin/machines/${first}/drain`, { token: admin });
    assert.equal(drained.json.machine.state, 'draining');
    assert.equal((await h.request('POST', '/v1/leases', { token, body: claim })).json.lease.pool, undefined, 'a draining machine is not idle: the next claim goes cold');
    await h.request('POST', `/v1/leases/${json.lease.id}/release`, { token });
    assert.equal((await h.store.getMachine(first!))?.state, 'deleted');
  });
  it('drain --pool: no refills, idle machines deleted now, a busy one after its lease; undrain refills; unknown pools are 404', async () => {
    await using h = await poolHarness({ pool: { min: 2 } });
    const [busy, free] = await h.fill();
    const token = await h.maintainer();
    const { json } = await h.request('POST', '/v1/leases', { token, body: claim });
    assert.equal(json.lease.machineId, busy);
    const admin = await h.userToken('root');
    const drained = await h.request('POST', '/v1/admin/pools/warm/drain', { token: admin });
    assert.deepEqual([drained.status, drained.json], [200, { pool: 'warm', draining: true, changed: 2 }]);
    assert.equal((await h.store.getMachine(free!))?.state, 'deleted', 'the idle machine goes now');
    assert.equal((await h.store.getMachine(busy!))?.state, 'draining', 'the busy one serves its lease');
    assert.deepEqual((await h.request('POST', '/v1/admin/pools/warm/drain', { token: admin })).json, { pool: 'warm', draining: true, changed: 0 }, 'drain again changes nothing');
    const stats = await reconcilePool(h.deps);
    assert.deepEqual([stats.pools.warm?.created, stats.pools.warm?.blocked], [0, 'draining'], 'a drained pool is not refilled');
    assert.equal((await h.request('GET', '/v1/pool', { token: admin })).json.pools[0].blocked, 'draining');
    assert.equal((await h.request('POST', '/v1/leases', { token, body: claim })).json.lease.pool, undefined, 'claims go cold');
    await h.request('POST', `/v1/leases/${json.lease.id}/release`, { token });
    assert.equal((await h.store.getMachine(busy!))?.state, 'deleted', 'the busy machine is deleted when its lease ends');

    const undrained = await h.request('POST', '/v1/admin/pools/warm/undrain', { token: admin });
    assert.deepEqual(undrained.json, { pool: 'warm', draining: false, changed: 0 });
    assert.equal((await reconcilePool(h.deps)).pools.warm?.created, 2, 'undrained, the pool fills again');
    const types = (await h.store.listEvents({ limit: 200 })).items.map((e) => e.type);
    assert.ok(types.includes('pool.drained') && types.includes('pool.undrained'), 'both are audited');

    const unknown = await h.request('POST', '/v1/admin/pools/cold/drain', { token: admin });
    assert.deepEqual([unknown.status, unknown.json.error], [404, 'not_found']);
    assert.match(unknown.json.message, /no warm pool cold/);
    const bad = await h.request('POST', '/v1/admin/pools/Bad_Name/drain', { token: admin });
    assert.equal(bad.status, 400);
    assert.equal((await h.request('POST', '/v1/admin/pools/warm/drain', { token })).status, 403, 'maintainers may not drain');
  });

  it('undrain --pool brings back a machine still draining (its lease not yet over)', async () => {
    await using h = await poolHarness({ pool: { min: 1 } });
    const [busy] = await h.fill();
    const token = await h.maintainer();
    const { json } = await h.request('POST', '/v1/leases', { token, body: claim });
    const admin = await h.userToken('root');
    await h.request('POST', '/v1/admin/pools/warm/drain', { token: admin });
    assert.equal((await h.store.getMachine(busy!))?.state, 'draining');
    assert.deepEqual((await h.request('POST', '/v1/admin/pools/warm/undrain', { token: admin })).json, { pool: 'warm', draining: false, changed: 1 });
    assert.equal((await h.store.getMachine(busy!))?.state, 'assigned');
    await h.request('POST', `/v1/leases/${json.lease.id}/release`, { token });
    assert.equal((await h.store.getMachine(busy!))?.state, 'idle', 'scrubbed and reused, as before the drain');
  });

  it('a refill that started before the drain makes nothing once the pool is drained', async () => {
    await using h = await poolHarness({ pool: { min: 2 } });
    const admin = await h.userToken('root');
    await h.request('POST', '/v1/admin/pools/warm/drain', { token: admin });
    assert.equal(await provisionPoolMachine(h.deps, h.pool), 'clamped');
    assert.equal((await h.store.poolMachines('warm')).length, 0);
    assert.equal(h.provider.machines.size, 0, 'the provider was never asked');
  });
});

describe('warm pool: crashes and provider faults', () => {
  it('killed between claim and assignment: the sweep fails the lease after two minutes and scrubs the machine back', async () => {
    await using h = await poolHarness({ pool: { min: 1 } });
    const [first] = await h.fill();
    // The claim's transaction committed, then the process died before the grant.
    await h.store.withTransaction(async (tx) => {
      const m = await tx.claimIdleMachine('warm', 'cbx_00000000dead', h.clock.now());
      await tx.createLease({ id: 'cbx_00000000dead', slug: 'dead-crab', owner: 'keeper', org: 'acme', provider: 'fake', keep: false, ttlSeconds: 3600, idleTimeoutSeconds: 1800, createdAt: h.clock.now(), expiresAt: h.clock.now() + 1800_000, idempotencyKey: 'dead-key-1', hourlyPrice: 0, reservedCost: 0, pool: 'warm', machineId: m!.id });
    });
    h.clock.advance(60_000);
    await sweep(h.deps);
    assert.equal((await h.store.getLease('cbx_00000000dead'))?.state, 'provisioning', 'a minute is not yet dead');
    h.clock.advance(61_000);
    const stats = await sweep(h.deps);
    assert.equal(stats.failedProvisioning, 1);
    assert.equal((await h.store.getLease('cbx_00000000dead'))?.state, 'failed');
    assert.equal((await h.store.getMachine(first!))?.state, 'idle');
    assert.ok(h.access.calls.some((c) => c.op === 'scrub' && c.user === 'cbx-00000000dead'));
  });

  it('killed during the scrub: the sweep deletes the machine (nothing proves it clean)', async () => {
    await using h = await poolHarness({ pool: { min: 1 } });
    const [first] = await h.fill();
    const token = await h.maintainer();
    const { json } = await h.request('POST', '/v1/leases', { token, body: claim });
    // The release's commit moved the machine to scrubbing, then the process died.
    await h.store.withTransaction(async (tx) => {
      await tx.transitionLease(json.lease.id, ['active'], 'released', { now: h.clock.now() });
      await tx.transitionMachine(first!, ['assigned'], 'scrubbing', { now: h.clock.now(), reason: 'lease-released' });
    });
    h.clock.advance(9 * 60_000);
    await sweep(h.deps);
    assert.equal((await h.store.getMachine(first!))?.state, 'scrubbing');
    h.clock.advance(60_001);
    const stats = await sweep(h.deps);
    assert.equal(stats.staleScrubs, 1);
    assert.deepEqual([(await h.store.getMachine(first!))?.state, (await h.store.getMachine(first!))?.stateReason], ['deleted', 'scrub-stale']);
  });

  it('killed during a refill: a machine the provider made is deleted by the sweep, one it never made is failed', async () => {
    await using h = await poolHarness({ pool: { min: 2 } });
    const made = await h.store.createMachine({ id: 'mch_00000000aaaa', provider: 'fake', pool: 'warm', createdAt: h.clock.now(), token: 'cbx_00000000aaaa' });
    await h.store.setMachineProviderId(made.id, 'p-crashed');
    await h.store.createMachine({ id: 'mch_00000000bbbb', provider: 'fake', pool: 'warm', createdAt: h.clock.now(), token: 'cbx_00000000bbbb' });
    const early = await reconcilePool(h.deps);
    assert.equal(early.pools.warm?.created, 0, 'provisioning machines count as supply');
    h.clock.advance(16 * 60_000);
    await sweep(h.deps);
    assert.equal((await h.store.getMachine('mch_00000000aaaa'))?.state, 'deleted');
    assert.equal((await h.store.getMachine('mch_00000000bbbb'))?.state, 'failed');
    assert.equal((await reconcilePool(h.deps)).pools.warm?.created, 2);
  });

  it('refills against a provider answering 429 and 5xx back off, record pool.refill.failed, and never pass max or the spend cap', async () => {
    await using h = await poolHarness({ pool: { min: 3, max: 3 }, config: { caps: { monthlySpend: { global: 40 } } } });
    h.provider.fail({ step: 'create', times: 2, error: () => new CrabboxError('rate_limited', 'hcloud: rate limit exceeded') });
    h.provider.fail({ step: 'create', times: 1, error: () => Object.assign(new Error('upstream 503'), { status: 503 }) });
    const first = await reconcilePool(h.deps);
    assert.equal(first.pools.warm?.failed, 3);
    const failures = (await h.store.listEvents({ type: 'pool.refill.failed' })).items;
    assert.deepEqual(failures.map((e) => e.data?.status).sort(), [429, 429, 503]);
    const backedOff = await reconcilePool(h.deps);
    assert.deepEqual([backedOff.pools.warm?.created, typeof backedOff.pools.warm?.backoffUntil], [0, 'number']);
    assert.equal(h.provider.calls.filter((c) => c.op === 'create').length, 3, 'no create while backing off');
    h.clock.advance(2 * 60_000 + 1);
    const after = await reconcilePool(h.deps);
    // 0.5 $/h x 24 h = 12 $ a machine: a 40 $ cap affords 3 of them, the third one exactly fits.
    assert.equal(after.pools.warm?.created, 3);
    const live = (await h.store.poolMachines('warm')).filter((m) => m.state !== 'deleting');
    assert.equal(live.length, 3);
    assert.ok(live.length <= h.pool.max);
    h.deps.config.caps.monthlySpend.global = 45;
    for (const m of live) await h.store.transitionMachine(m.id, ['idle'], 'draining', { now: h.clock.now() });
    const capped = await reconcilePool(h.deps);
    assert.deepEqual([capped.pools.warm?.created, capped.pools.warm?.blocked], [0, 'max']);
    assert.equal(h.provider.machines.size, 3);
  });

  it('the spend cap counts pool machines: a refill stops short of it and a cold lease past it is refused', async () => {
    await using h = await poolHarness({ pool: { min: 4, max: 10 }, config: { caps: { monthlySpend: { global: 30 } } } });
    const stats = await reconcilePool(h.deps);
    assert.deepEqual([stats.pools.warm?.created, stats.pools.warm?.blocked], [2, 'spend-cap']);
    assert.equal(await h.store.machineReservedSpend({ from: 0, to: h.clock.now() + 1 }), 24);
    // 24 $ reserved by the pool + a 90-minute cold lease at 0.5 $/h (0.75 $) fits; one of 12 h (6 $) does not.
    const token = await h.userToken('alice');
    assert.equal((await h.request('POST', '/v1/leases', { token, body: { sshPublicKey: PUBLIC_KEY } })).status, 201);
    const refused = await h.request('POST', '/v1/leases', { token, body: { sshPublicKey: PUBLIC_KEY, ttlSeconds: 12 * 3600 } });
    assert.equal(refused.status, 429);
    assert.match(refused.json.message, /global monthly spend cap/);
  });
});

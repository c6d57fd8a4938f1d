import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { harness, onTarget, PUBLIC_KEY, type Harness } from './testkit.ts';

const MIN = 60_000;

describe(onTarget('lease lifecycle on a manual clock'), () => {
  let h: Harness;
  let alice: string;
  before(async () => {
    h = await harness();
    alice = await h.userToken('alice', { expiresInSeconds: 48 * 3600 });
  });
  after(() => h.close());

  const create = async (body: Record<string, unknown>) => (await h.request('POST', '/v1/leases', { token: alice, body: { sshPublicKey: PUBLIC_KEY, ...body } })).json.lease;
  const machineOf = async (leaseId: string) => (await h.machines()).find((m) => m.labels['crabbox-lease'] === leaseId);

  it('a sweep before expiry does nothing; after expiry the lease is expired and its machine deleted', async () => {
    const lease = await create({ ttlSeconds: 3600, idleTimeoutSeconds: 600 });
    assert.equal((await machineOf(lease.id))?.labels['crabbox-machine'], lease.machineId, 'the provider labels name the machine beside the lease');
    h.clock.advance(9 * MIN);
    const early = await h.sweep();
    assert.equal(early.expired, 0);
    assert.ok(await machineOf(lease.id));
    assert.equal((await h.store.getLease(lease.id))?.state, 'active');
    h.clock.advance(1 * MIN);
    const due = await h.sweep();
    assert.equal(due.expired, 1);
    assert.equal(due.deleted, 1);
    assert.equal(await machineOf(lease.id), undefined);
    const stored = await h.store.getLease(lease.id);
    assert.equal(stored?.state, 'expired');
    assert.equal((await h.store.getMachine(stored!.machineId!))?.state, 'deleted');
    assert.equal(stored?.endedAt, Date.parse(lease.expiresAt), 'an expired lease ended at its deadline');
    const types = (await h.store.listEvents({ leaseId: lease.id })).items.map((e) => e.type);
    assert.deepEqual(types, ['machine.deleted', 'lease.expired', 'machine.assigned', 'machine.provisioned', 'lease.created']);
    assert.equal((await h.sweep()).expired, 0);
  });

  it('heartbeats move the idle expiry, never past the TTL cap; a heartbeat after expiry is refused', async () => {
    const lease = await create({ ttlSeconds: 1800, idleTimeoutSeconds: 600 });
    const created = Date.parse(lease.createdAt);
    h.clock.advance(5 * MIN);
    let beat = await h.request('POST', `/v1/leases/${lease.id}/heartbeat`, { token: alice });
    assert.equal(Date.parse(beat.json.lease.expiresAt), h.clock.now() + 10 * MIN);
    h.clock.advance(5 * MIN);
    const over = await h.request('POST', `/v1/leases/${lease.id}/heartbeat`, { token: alice, body: { idleTimeoutSeconds: 3600 } });
    assert.equal(over.status, 400, 'an idle timeout longer than the TTL is refused, not clamped');
    assert.equal(over.json.message, "idleTimeoutSeconds: 3600 is longer than the lease's ttlSeconds (1800); allowed 60 to 1800 seconds (1m to 30m)");
    beat = await h.request('POST', `/v1/leases/${lease.id}/heartbeat`, { token: alice, body: { idleTimeoutSeconds: 1800 } });
    assert.equal(beat.status, 200);
    assert.equal(beat.json.lease.idleTimeoutSeconds, 1800);
    assert.equal(Date.parse(beat.json.lease.expiresAt), created + 30 * MIN, 'never past the TTL cap');
    for (let i = 0; i < 3; i++) {
      h.clock.advance(6 * MIN);
      beat = await h.request('POST', `/v1/leases/${lease.id}/heartbeat`, { token: alice });
      assert.ok(Date.parse(beat.json.lease.expiresAt) <= created + 30 * MIN);
    }
    h.clock.set(created + 30 * MIN);
    const late = await h.request('POST', `/v1/leases/${lease.id}/heartbeat`, { token: alice });
    assert.equal(late.status, 409);
    assert.equal(late.json.error, 'lease_expired');
    await h.sweep();
    const afterSweep = await h.request('POST', `/v1/leases/${lease.id}/heartbeat`, { token: alice });
    assert.equal(afterSweep.json.error, 'lease_expired');
    assert.equal(await machineOf(lease.id), undefined);
  });

  it('heartbeat events are coalesced: at most one per interval per lease', async () => {
    const lease = await create({ ttlSeconds: 7200, idleTimeoutSeconds: 1800 });
    for (let i = 0; i < 40; i++) {
      h.clock.advance(30_000);
      assert.equal((await h.request('POST', `/v1/leases/${lease.id}/heartbeat`, { token: alice })).status, 200);
    }
    const beats = (await h.store.listEvents({ leaseId: lease.id, type: 'lease.heartbeat' })).items;
    assert.equal(beats.length, 2, '20 minutes of heartbeats every 30s log twice at a 10 minute interval');
    await h.request('POST', `/v1/leases/${lease.id}/release`, { token: alice });
  });

  it('kept leases do not idle out but end at the TTL cap', async () => {
    const lease = await create({ ttlSeconds: 3600, idleTimeoutSeconds: 600, keep: true });
    h.clock.advance(30 * MIN);
    assert.equal((await h.sweep()).expired, 0);
    assert.ok(await machineOf(lease.id));
    h.clock.advance(30 * MIN);
    await h.sweep();
    assert.equal((await h.store.getLease(lease.id))?.state, 'expired');
    assert.equal(await machineOf(lease.id), undefined);
  });

  it('the scheduler sweeps at start (a restart resumes) and stops cleanly', async () => {
    const lease = await create({ ttlSeconds: 3600, idleTimeoutSeconds: 600 });
    h.clock.advance(11 * MIN);
    const scheduler = h.scheduler();
    try {
      const stats = await scheduler.runNow();
      assert.ok(stats && stats.expired >= 1);
      assert.equal((await h.store.getLease(lease.id))?.state, 'expired');
      assert.equal(await machineOf(lease.id), undefined);
    } finally {
      await scheduler.stop();
    }
  });

  it('prunes runs and events past the retention', async () => {
    const lease = await create({});
    await h.request('POST', '/v1/runs', { token: alice, body: { leaseId: lease.id } });
    h.clock.advance(h.config.retentionSeconds * 1000 + MIN);
    const stats = await h.sweep({ prune: true });
    assert.ok(stats.pruned.runs >= 1);
    assert.ok(stats.pruned.events >= 1);
    assert.equal((await h.store.listRuns({})).items.length, 0);
  });
});

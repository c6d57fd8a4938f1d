import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { harness, PUBLIC_KEY, type Harness } from './testkit.ts';

const MIN = 60_000;

/**
 * The Durable Object alarm in workerd: it runs the same scheduled pass as the Node timer and re-arms itself at the
 * next due time from the tables. The test clock travels with every request (x-crabbox-test-now); alarms are fired on
 * demand, as workers-sdk's runDurableObjectAlarm does, after checking what the platform has armed.
 */
describe('the Durable Object alarm sweeps and re-arms [worker]', () => {
  let h: Harness;
  let alice: string;
  before(async () => {
    h = await harness({ target: 'worker', config: { sweepIntervalSeconds: 3600, orphanSweepIntervalSeconds: 86_400 } });
    alice = await h.userToken('alice', { expiresInSeconds: 48 * 3600 });
  });
  after(() => h.close());

  const control = async (path: string, body: unknown = {}) => (await h.fetch(`/__test/${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })).json() as Promise<any>;
  const alarmAt = async (): Promise<number | null> => control('alarm-at');
  const fire = async (): Promise<{ ran: boolean; stats: any; alarmAt: number | null }> => control('alarm');

  it('a lease expires, its delete fails and is retried with backoff, then succeeds; the alarm re-arms at each next due time', async () => {
    const start = h.clock.now();
    assert.equal(await alarmAt(), start + 3600_000, 'a fresh fleet wakes at the sweep interval');
    const lease = (await h.request('POST', '/v1/leases', { token: alice, body: { sshPublicKey: PUBLIC_KEY, ttlSeconds: 3600, idleTimeoutSeconds: 600 } })).json.lease;
    const expiresAt = Date.parse(lease.expiresAt);
    assert.equal(await alarmAt(), expiresAt, 'creating the lease moved the alarm to its expiry');

    h.clock.advance(5 * MIN);
    assert.equal((await fire()).ran, false, 'not due yet: the alarm does not run');

    await h.failNext('delete');
    h.clock.set(expiresAt);
    const first = await fire();
    assert.equal(first.ran, true);
    assert.equal(first.stats.expired, 1);
    assert.equal(first.stats.deleteFailures, 1, 'the failed delete is the sweep\'s bookkeeping, not a thrown alarm');
    const machine = await h.store.getMachine(lease.machineId);
    assert.equal(machine?.state, 'deleting');
    assert.equal(machine?.deletion.attempts, 1);
    assert.equal(machine?.deletion.nextAt, expiresAt + 30_000, 'retry after the first backoff step');
    assert.equal(first.alarmAt, expiresAt + 30_000, 'the alarm re-armed at the retry');
    assert.ok((await h.machines()).some((m) => m.labels['crabbox-lease'] === lease.id), 'the box is still there');

    h.clock.advance(30_000);
    const second = await fire();
    assert.equal(second.stats.deleted, 1);
    assert.equal((await h.store.getMachine(lease.machineId))?.state, 'deleted');
    assert.equal((await h.machines()).some((m) => m.labels['crabbox-lease'] === lease.id), false, 'the box is gone');
    assert.equal(second.alarmAt, h.clock.now() + 3600_000, 'nothing due: back to the sweep interval');
    const types = (await h.store.listEvents({ leaseId: lease.id })).items.map((e) => e.type);
    for (const type of ['lease.expired', 'provider.error', 'machine.deleted']) assert.ok(types.includes(type), type);
    assert.ok(types.indexOf('machine.deleted') < types.indexOf('provider.error'), 'newest first: the retry succeeded after the failure');
  });

  it('a provider failing the orphan sweep never makes the alarm throw: the error is an event, the alarm re-arms', async () => {
    await h.failNext('list', 5);
    h.clock.advance(2 * 86_400_000);
    const pass = await fire();
    assert.equal(pass.ran, true);
    assert.equal(pass.alarmAt, h.clock.now() + 3600_000);
    const errors = (await h.store.listEvents({ type: 'provider.error', limit: 10 })).items;
    assert.ok(errors.some((e) => (e.data as { op?: string } | undefined)?.op === 'list' && e.at === h.clock.now()), 'the failed list is recorded');
  });
});

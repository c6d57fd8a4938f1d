// The wall clock jumps (NTP step, a suspended laptop, a VM restored from a snapshot), forwards and backwards, under
// the coordinator and under direct mode. ManualClock.set makes the jump; every lifecycle rule then still holds: a
// lease never outlives its TTL cap, a jump back never deletes a live lease or stops the sweeps, a jump forward past
// the deadlines expires and deletes what is due, and the user is told.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { ManualClock } from '../../src/domain/clock.ts';
import { sweep } from '../../src/coordinator/sweeper.ts';
import { startSweepScheduler } from '../../src/coordinator/scheduler.ts';
import { harness, PUBLIC_KEY } from '../../src/coordinator/testkit.ts';
import { isCrabboxError } from '../../src/domain/errors.ts';
import { createDirectLeaseService } from '../../src/leases/direct.ts';
import { sweepIfDue } from '../../src/leases/sweep.ts';
import { FakeProvider } from '../../src/providers/fake/fake-provider.ts';
import { tempDir } from '../../src/testing/tmp.ts';

const MIN = 60_000;
const T0 = Date.UTC(2026, 5, 1, 12);

async function coordinator(t: TestContext) {
  const h = await harness({ clock: new ManualClock(T0) });
  t.after(() => h.close());
  const token = await h.userToken('alice', { expiresInSeconds: 7 * 86_400 });
  const create = async () => {
    const res = await h.request('POST', '/v1/leases', { token, body: { sshPublicKey: PUBLIC_KEY, ttlSeconds: 3600, idleTimeoutSeconds: 1800 } });
    assert.equal(res.status, 201);
    return res.json.lease as { id: string; createdAt: string };
  };
  const heartbeat = (id: string, as = token) => h.request('POST', `/v1/leases/${id}/heartbeat`, { token: as });
  return { h, token, create, heartbeat };
}

function direct(t: TestContext) {
  const dir = tempDir('crabbox-clock-jumps-');
  t.after(() => dir.remove());
  const clock = new ManualClock(T0);
  const provider = new FakeProvider();
  const config = {
    owner: 'ada', org: 'local', lease: { ttlSeconds: 3600, idleTimeoutSeconds: 1800, keep: false }, ssh: { port: 2222, fallbackPorts: [22], connectTimeoutSeconds: 5 },
    paths: { userConfig: join(dir.path, 'config.yaml'), stateDir: dir.path }, coordinator: undefined,
  };
  const leases = createDirectLeaseService({ config, provider, clock, waitReady: async () => undefined });
  const lines: string[] = [];
  const sweepNow = () => sweepIfDue({ provider, clock, stateDir: dir.path, owner: 'ada', report: (line) => void lines.push(line) });
  return { clock, provider, leases, sweepNow, lines };
}

describe('clock jumps under the coordinator', () => {
  it('a jump back: nothing live is deleted, heartbeats never push past the TTL cap, and the lease still ends at its cap', async (t) => {
    const { h, create, heartbeat } = await coordinator(t);
    const lease = await create();
    const cap = Date.parse(lease.createdAt) + 3600_000;
    h.clock.set(T0 - 6 * 3600_000);
    const stats = await sweep(h.deps, { orphans: true });
    assert.deepEqual([stats.expired, stats.deleted, stats.orphansDeleted], [0, 0, 0]);
    assert.equal(h.provider.machines.size, 1);
    // A token issued "in the future" (more than the 5 minutes of allowed skew) is refused until time catches up;
    // logging in again (a token issued now) works, and the lease is there.
    assert.equal((await heartbeat(lease.id)).status, 401);
    const beat = await heartbeat(lease.id, await h.userToken('alice', { expiresInSeconds: 7 * 86_400 }));
    assert.equal(beat.status, 200);
    assert.ok(Date.parse(beat.json.lease.expiresAt) <= cap, `expires ${beat.json.lease.expiresAt}, cap ${new Date(cap).toISOString()}`);
    h.clock.set(cap); // time catches up: the cap holds whatever the heartbeat wrote
    assert.equal((await sweep(h.deps)).expired, 1);
    assert.equal(h.provider.machines.size, 0);
    assert.equal((await heartbeat(lease.id)).json.error, 'lease_expired', 'the user is told it expired');
  });

  it('a jump forward past every deadline: the next sweep expires the lease and deletes its machine; the heartbeat says expired', async (t) => {
    const { h, create, heartbeat } = await coordinator(t);
    const lease = await create();
    h.clock.set(T0 + 3 * 3600_000);
    const beat = await heartbeat(lease.id);
    assert.equal(beat.status, 409);
    assert.equal(beat.json.error, 'lease_expired');
    const stats = await sweep(h.deps);
    assert.deepEqual([stats.expired, stats.deleted], [1, 1]);
    assert.equal((await h.store.getLease(lease.id))?.state, 'expired', 'the lease is on the record, not lost');
  });

  it('the scheduler keeps sweeping after a jump back and sweeps what is due after a jump forward', async (t) => {
    const { h, create } = await coordinator(t);
    const lease = await create();
    const scheduler = startSweepScheduler(h.deps);
    t.after(() => scheduler.stop());
    await h.clock.waitForTimers(1);
    h.clock.set(T0 - 24 * 3600_000);
    await h.clock.tick(h.deps.config.sweepIntervalSeconds * 1000);
    assert.ok(h.clock.pending >= 1, 'a next sweep is scheduled after the jump back');
    assert.equal(h.provider.machines.size, 1);
    h.clock.set(T0 + 2 * 3600_000);
    await h.clock.tick(h.deps.config.sweepIntervalSeconds * 1000);
    await scheduler.runNow();
    assert.equal((await h.store.getLease(lease.id))?.state, 'expired');
    assert.equal(h.provider.machines.size, 0);
  });
});

describe('clock jumps under direct mode', () => {
  it('a jump back does not stall the once-a-minute sweep, touches stay under the TTL cap, and a jump forward removes the expired box with a message', async (t) => {
    const d = direct(t);
    const { lease } = await d.leases.create();
    assert.ok(await d.sweepNow(), 'the first sweep runs');
    d.clock.set(T0 - 3600_000);
    assert.ok(await d.sweepNow(), 'a stamp from the future does not block the sweep');
    assert.equal(d.provider.machines.size, 1, 'the jump back deleted nothing');
    const touched = await d.leases.touch(lease.id);
    assert.ok(touched.expiresAt <= lease.createdAt + 3600_000, 'never past the TTL cap');
    d.clock.set(T0 + 3 * 3600_000);
    await assert.rejects(d.leases.touch(lease.id), (e) => isCrabboxError(e) && e.code === 'lease_expired');
    const report = await d.sweepNow();
    assert.deepEqual(report?.deleted.map((e) => e.id), [lease.id]);
    assert.equal(d.provider.machines.size, 0);
    assert.match(d.lines.join('\n'), new RegExp(`removed 1 expired or abandoned lease: ${lease.id}`));
  });
});

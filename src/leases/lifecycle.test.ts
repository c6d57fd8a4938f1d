// One lease lifecycle rule in both modes: the same table runs against the direct lease service (labels on a
// machine) and the coordinator (its store and sweeper), so kept leases cannot expire differently by mode again.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { ManualClock } from '../domain/clock.ts';
import { computeExpiry, endLease, startLease, touch } from '../domain/lifecycle.ts';
import { FakeProvider } from '../providers/fake/fake-provider.ts';
import { harness, PUBLIC_KEY } from '../coordinator/testkit.ts';
import { sweep } from '../coordinator/sweeper.ts';
import { tempDir } from '../testing/tmp.ts';
import { createDirectLeaseService } from './direct.ts';
import { cleanupExpired } from './cleanup.ts';

const MIN = 60_000;
const T0 = Date.UTC(2026, 0, 15, 12);

/**
 * Each row: a lease (ttl, idle, keep), touches at the given minutes, then the minute at which it must end and
 * whether a touch just before that minute still succeeds.
 */
interface Row {
  name: string;
  ttl: number;
  idle: number;
  keep: boolean;
  /** Minutes after creation; `[minute, new idle timeout in minutes]` touches with a new idle timeout. */
  touches: (number | [number, number])[];
  /** Minutes after creation when the lease expires. */
  endsAt: number;
}

const at = (t: number | [number, number]): number => (typeof t === 'number' ? t : t[0]);
const idleOf = (t: number | [number, number]): number | undefined => (typeof t === 'number' ? undefined : t[1] * 60);

const TABLE: Row[] = [
  { name: 'untouched lease ends at its idle deadline', ttl: 60, idle: 10, keep: false, touches: [], endsAt: 10 },
  { name: 'touches move the idle deadline', ttl: 60, idle: 10, keep: false, touches: [8, 16], endsAt: 26 },
  { name: 'touches never move past the TTL cap', ttl: 30, idle: 10, keep: false, touches: [8, 16, 24], endsAt: 30 },
  { name: 'a kept lease does not idle out: it ends at its TTL cap', ttl: 60, idle: 10, keep: true, touches: [], endsAt: 60 },
  { name: 'touching a kept lease changes nothing: still its TTL cap', ttl: 60, idle: 10, keep: true, touches: [30, 45], endsAt: 60 },
  { name: 'a touch with a longer idle timeout moves the deadline by the new timeout', ttl: 60, idle: 10, keep: false, touches: [[5, 30]], endsAt: 35 },
  { name: 'a touch with a shorter idle timeout brings the deadline closer', ttl: 60, idle: 30, keep: false, touches: [[5, 10], 12], endsAt: 22 },
];

/** A lease stopped (`crabbox stop`, `POST /release`) at `stopAt` minutes: how it ended, and when. */
interface Stop {
  name: string;
  ttl: number;
  idle: number;
  keep: boolean;
  stopAt: number;
  state: 'released' | 'expired';
  endedAt: number;
}

const STOPS: Stop[] = [
  { name: 'a stop before the deadline is a release at that moment', ttl: 60, idle: 10, keep: false, stopAt: 5, state: 'released', endedAt: 5 },
  { name: 'a stop after the idle deadline, before any sweep, is an expiry at the deadline', ttl: 60, idle: 10, keep: false, stopAt: 15, state: 'expired', endedAt: 10 },
  { name: 'a kept lease stopped after its idle timeout is a release (it lives to its TTL cap)', ttl: 60, idle: 10, keep: true, stopAt: 30, state: 'released', endedAt: 30 },
  { name: 'a kept lease stopped past its TTL cap expired at the cap', ttl: 60, idle: 10, keep: true, stopAt: 70, state: 'expired', endedAt: 60 },
];

const tmp = tempDir('crabbox-lifecycle-');
after(() => tmp.remove());

describe('lease lifecycle: one rule, the same table in both modes', () => {
  for (const row of TABLE) {
    it(`domain: ${row.name}`, () => {
      let lease = { id: 'cbx_000000000001', slug: 's', owner: 'o', org: 'g', provider: 'p', state: 'active' as const, keep: row.keep, ttlSeconds: row.ttl * 60, idleTimeoutSeconds: row.idle * 60, createdAt: T0, lastTouchedAt: T0, expiresAt: 0 };
      lease.expiresAt = computeExpiry(lease);
      for (const t of row.touches) {
        const r = touch(lease, T0 + at(t) * MIN, idleOf(t));
        assert.ok(r.ok);
        lease = r.lease;
      }
      assert.equal(lease.expiresAt, T0 + row.endsAt * MIN);
      assert.equal(touch(lease, T0 + row.endsAt * MIN).ok, false);
    });

    it(`direct mode: ${row.name}`, async () => {
      const clock = new ManualClock(T0);
      const provider = new FakeProvider();
      const stateDir = join(tmp.path, `direct-${TABLE.indexOf(row)}`);
      const config = {
        owner: 'alice@example.com', org: 'local',
        lease: { ttlSeconds: row.ttl * 60, idleTimeoutSeconds: row.idle * 60, keep: row.keep },
        ssh: { port: 2222, fallbackPorts: [], connectTimeoutSeconds: 5 },
        paths: { userConfig: join(stateDir, 'config.yaml'), stateDir },
        coordinator: undefined,
      };
      const leases = createDirectLeaseService({ config, provider, clock, waitReady: async () => 0 });
      const { lease } = await leases.create();
      for (const t of row.touches) {
        clock.set(T0 + at(t) * MIN);
        await leases.touch(lease.id, idleOf(t));
      }
      assert.equal((await leases.resolve(lease.id)).expiresAt, T0 + row.endsAt * MIN, 'expiresAt');
      clock.set(T0 + row.endsAt * MIN - 1000);
      const before = await cleanupExpired({ provider, clock, stateDir, owner: config.owner });
      assert.deepEqual(before.deleted, [], 'nothing deleted before the end');
      clock.set(T0 + row.endsAt * MIN + 1000);
      await assert.rejects(leases.touch(lease.id), /expired/);
      const report = await cleanupExpired({ provider, clock, stateDir, owner: config.owner });
      assert.deepEqual(report.deleted.map((d) => d.id), [lease.id], 'cleanup deletes it once it ended');
    });

    it(`brokered mode (coordinator): ${row.name}`, async () => {
      const clock = new ManualClock(T0);
      const h = await harness({ clock });
      try {
        const token = await h.userToken('alice', { expiresInSeconds: 48 * 3600 });
        const created = await h.request('POST', '/v1/leases', { token, body: { sshPublicKey: PUBLIC_KEY, ttlSeconds: row.ttl * 60, idleTimeoutSeconds: row.idle * 60, keep: row.keep } });
        assert.equal(created.status, 201, JSON.stringify(created.json));
        const id = created.json.lease.id as string;
        for (const t of row.touches) {
          clock.set(T0 + at(t) * MIN);
          const idle = idleOf(t);
          assert.equal((await h.request('POST', `/v1/leases/${id}/heartbeat`, { token, ...(idle ? { body: { idleTimeoutSeconds: idle } } : {}) })).status, 200);
        }
        const view = (await h.request('GET', `/v1/leases/${id}`, { token })).json.lease;
        assert.equal(Date.parse(view.expiresAt), T0 + row.endsAt * MIN, 'expiresAt');
        clock.set(T0 + row.endsAt * MIN - 1000);
        assert.equal((await sweep(h.deps)).expired, 0, 'nothing expired before the end');
        clock.set(T0 + row.endsAt * MIN + 1000);
        assert.equal((await h.request('POST', `/v1/leases/${id}/heartbeat`, { token })).status, 409);
        assert.equal((await sweep(h.deps)).expired, 1, 'the sweeper expires it once it ended');
      } finally {
        await h.close();
      }
    });
  }

  for (const stop of STOPS) {
    it(`domain: ${stop.name}`, () => {
      const started = startLease({ ttlSeconds: stop.ttl * 60, idleTimeoutSeconds: stop.idle * 60, keep: stop.keep }, {}, T0);
      assert.ok(started.ok);
      const lease = { id: 'cbx_000000000001', slug: 's', owner: 'o', org: 'g', provider: 'p', state: 'active' as const, ...started.start };
      const ended = endLease(lease, 'release', T0 + stop.stopAt * MIN);
      assert.deepEqual([ended?.state, ended?.endedAt], [stop.state, T0 + stop.endedAt * MIN]);
      assert.equal(endLease({ ...lease, state: stop.state }, 'release', T0 + stop.stopAt * MIN), undefined, 'an ended lease ends once');
    });

    it(`direct mode: ${stop.name}`, async () => {
      const clock = new ManualClock(T0);
      const provider = new FakeProvider();
      const stateDir = join(tmp.path, `direct-stop-${STOPS.indexOf(stop)}`);
      const config = {
        owner: 'alice@example.com', org: 'local',
        lease: { ttlSeconds: stop.ttl * 60, idleTimeoutSeconds: stop.idle * 60, keep: stop.keep },
        ssh: { port: 2222, fallbackPorts: [], connectTimeoutSeconds: 5 },
        paths: { userConfig: join(stateDir, 'config.yaml'), stateDir },
        coordinator: undefined,
      };
      const leases = createDirectLeaseService({ config, provider, clock, waitReady: async () => 0 });
      const { lease } = await leases.create();
      clock.set(T0 + stop.stopAt * MIN);
      assert.equal((await leases.release(lease.id)).result, 'released');
      const ended = await leases.resolve(lease.id);
      assert.deepEqual([ended.state, ended.endedAt], [stop.state, T0 + stop.endedAt * MIN]);
      assert.equal(provider.machines.size, 0, 'the machine is gone');
      assert.equal((await leases.release(lease.id)).result, 'already-gone', 'release is idempotent');
    });

    it(`brokered mode (coordinator): ${stop.name}`, async () => {
      const clock = new ManualClock(T0);
      const h = await harness({ clock });
      try {
        const token = await h.userToken('alice', { expiresInSeconds: 48 * 3600 });
        const created = await h.request('POST', '/v1/leases', { token, body: { sshPublicKey: PUBLIC_KEY, ttlSeconds: stop.ttl * 60, idleTimeoutSeconds: stop.idle * 60, keep: stop.keep } });
        const id = created.json.lease.id as string;
        clock.set(T0 + stop.stopAt * MIN);
        const released = await h.request('POST', `/v1/leases/${id}/release`, { token });
        assert.equal(released.status, 200);
        assert.deepEqual([released.json.lease.state, Date.parse(released.json.lease.endedAt)], [stop.state, T0 + stop.endedAt * MIN]);
        assert.equal(h.provider.machines.size, 0, 'the machine is gone');
        const again = await h.request('POST', `/v1/leases/${id}/release`, { token });
        assert.deepEqual([again.status, again.json.lease.state, again.json.lease.endedAt], [200, stop.state, released.json.lease.endedAt], 'release is idempotent');
        const machine = await h.store.getMachine(created.json.lease.machineId);
        assert.deepEqual([machine?.state, machine?.leaseId], ['deleted', id]);
      } finally {
        await h.close();
      }
    });
  }
});

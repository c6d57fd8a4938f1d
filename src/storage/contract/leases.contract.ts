import assert from 'node:assert/strict';
import { describe } from 'node:test';
import { contractTest, details, HOUR, leaseWithMachine, newLease, T0, type StoreFactory } from './fixtures.ts';

/** LeaseStore: what every backend must do with leases. */
export function leaseContract(name: string, factory: StoreFactory): void {
  const test = contractTest(factory);
  describe(`LeaseStore contract: ${name}`, () => {
    test('creates a provisioning lease once per owner and idempotency key', async (store) => {
      const input = newLease();
      const first = await store.createLease(input);
      assert.equal(first.created, true);
      assert.equal(first.lease.state, 'provisioning');
      const again = await store.createLease({ ...newLease(), idempotencyKey: input.idempotencyKey });
      assert.equal(again.created, false);
      assert.equal(again.lease.id, input.id);
      const otherOwner = await store.createLease({ ...newLease(), owner: 'bob', idempotencyKey: input.idempotencyKey });
      assert.equal(otherOwner.created, true);
    });

    test('activates exactly once, reaching its box through its machine', async (store) => {
      const { leaseId, machineId } = await leaseWithMachine(store);
      await store.setMachineProviderId(machineId, 'p-1');
      const provisioning = await store.getLease(leaseId);
      assert.deepEqual([provisioning?.machineId, provisioning?.providerId, provisioning?.machine], [machineId, 'p-1', undefined]);
      await store.machineReady(machineId, details('p-1'), T0 + 1);
      const active = await store.activateLease(leaseId, { sshUser: 'crabbox', workRoot: '/work/crabbox', type: 'small' });
      assert.equal(active?.state, 'active');
      assert.deepEqual(active?.machine, { provider: 'fake', providerId: 'p-1', host: '127.0.0.1', ports: [2222, 22], sshUser: 'crabbox', workRoot: '/work/crabbox', hostKey: 'ssh-ed25519 AAAAhost', type: 'small', region: 'here' });
      assert.equal(active?.type, 'small');
      assert.equal(await store.activateLease(leaseId, { sshUser: 'crabbox', workRoot: '/work/crabbox' }), undefined);
      assert.deepEqual((await store.listLeases({})).items[0]?.machine?.ports, [2222, 22], 'lists read the machine too');
    });

    test('transitions are conditional: exactly one of three racing releases wins', async (store) => {
      const { lease } = await store.createLease(newLease());
      const results = await Promise.all([1, 2, 3].map((i) => store.transitionLease(lease.id, ['active', 'provisioning'], 'released', { now: T0 + 5, reason: `user-${i}` })));
      assert.equal(results.filter(Boolean).length, 1);
      const released = await store.getLease(lease.id);
      assert.equal(released?.state, 'released');
      assert.equal(released?.endedAt, T0 + 5);
      assert.match(released?.endReason ?? '', /^user-[123]$/);
      assert.equal(await store.touchLease(lease.id, { lastTouchedAt: T0 + 6, idleTimeoutSeconds: 60, expiresAt: T0 + 60_006 }), undefined);
    });

    test('an expiry records when the lease ended and the deadline it ended at', async (store) => {
      const { lease } = await store.createLease(newLease());
      const expired = await store.transitionLease(lease.id, ['provisioning'], 'expired', { now: T0 + HOUR, endedAt: T0 + 1000, expiresAt: T0 + 1000 });
      assert.deepEqual([expired?.state, expired?.endedAt, expired?.expiresAt], ['expired', T0 + 1000, T0 + 1000]);
    });

    test('touch moves the expiry of live leases and records when a heartbeat was logged', async (store) => {
      const { lease } = await store.createLease(newLease());
      const touched = await store.touchLease(lease.id, { lastTouchedAt: T0 + 1000, idleTimeoutSeconds: 600, expiresAt: T0 + 601_000, heartbeatLoggedAt: T0 + 1000 });
      assert.equal(touched?.expiresAt, T0 + 601_000);
      assert.equal(touched?.idleTimeoutSeconds, 600);
      assert.equal(touched?.heartbeatLoggedAt, T0 + 1000);
      const again = await store.touchLease(lease.id, { lastTouchedAt: T0 + 2000, idleTimeoutSeconds: 600, expiresAt: T0 + 602_000 });
      assert.equal(again?.heartbeatLoggedAt, T0 + 1000);
    });

    test('finds leases due for expiry, oldest deadline first, bounded by limit', async (store) => {
      for (const offset of [3, 1, 2, 10]) await store.createLease(newLease({ expiresAt: T0 + offset * 1000 }));
      const due = await store.leasesDueForExpiry(T0 + 5000, 2);
      assert.deepEqual(due.map((l) => l.expiresAt), [T0 + 1000, T0 + 2000]);
      assert.equal((await store.leasesDueForExpiry(T0 + 5000, 10)).length, 3);
      assert.equal(await store.nextDueAt(), T0 + 1000);
    });

    test('finds leases stuck in provisioning since before a time', async (store) => {
      const stuck = await store.createLease(newLease({ createdAt: T0 - HOUR }));
      const fresh = await store.createLease(newLease({ createdAt: T0 }));
      const done = await store.createLease(newLease({ createdAt: T0 - HOUR }));
      await store.activateLease(done.lease.id, { sshUser: 'crabbox', workRoot: '/work' });
      assert.deepEqual((await store.staleProvisioning(T0 - 1, 10)).map((l) => l.id), [stuck.lease.id]);
      assert.equal((await store.staleProvisioning(T0 + 1, 10)).some((l) => l.id === fresh.lease.id), true);
    });

    test('gets by slug within an owner, preferring the live lease', async (store) => {
      const old = await store.createLease(newLease({ slug: 'red-crab', createdAt: T0 - HOUR }));
      await store.transitionLease(old.lease.id, ['provisioning'], 'released', { now: T0 });
      const live = await store.createLease(newLease({ slug: 'red-crab' }));
      await store.createLease(newLease({ slug: 'red-crab', owner: 'bob' }));
      assert.equal((await store.getLeaseBySlug('red-crab', 'alice'))?.id, live.lease.id);
      assert.equal((await store.getLeaseBySlug('red-crab', 'carol')), undefined);
      assert.deepEqual(await store.liveSlugs('alice'), ['red-crab']);
    });

    test('lists leases newest first with a cursor, scoped by owner and state', async (store) => {
      for (let i = 0; i < 7; i++) await store.createLease(newLease({ createdAt: T0 + i, owner: i % 2 ? 'bob' : 'alice' }));
      const seen: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await store.listLeases({ owner: 'alice', limit: 2, cursor });
        assert.ok(page.items.length <= 2);
        seen.push(...page.items.map((l) => l.owner));
        cursor = page.nextCursor;
      } while (cursor);
      assert.deepEqual(seen, ['alice', 'alice', 'alice', 'alice']);
      const all = await store.listLeases({ limit: 100 });
      assert.deepEqual(all.items.map((l) => l.createdAt), [...all.items.map((l) => l.createdAt)].sort((a, b) => b - a));
      assert.equal((await store.listLeases({ states: ['released'] })).items.length, 0);
      await assert.rejects(store.listLeases({ cursor: 'not-a-cursor' }), { code: 'bad_request' });
    });

    test('counts live leases and reserved spend per owner and org, including live leases from last month', async (store) => {
      const monthStart = Date.UTC(2026, 0, 1);
      const monthEnd = Date.UTC(2026, 1, 1);
      await store.createLease(newLease({ owner: 'alice', org: 'acme', reservedCost: 1, createdAt: monthStart - HOUR }));
      const ended = await store.createLease(newLease({ owner: 'alice', org: 'acme', reservedCost: 10, createdAt: monthStart - 2 * HOUR }));
      await store.transitionLease(ended.lease.id, ['provisioning'], 'released', { now: monthStart - HOUR });
      await store.createLease(newLease({ owner: 'alice', org: 'acme', reservedCost: 2, createdAt: T0 }));
      await store.createLease(newLease({ owner: 'bob', org: 'acme', reservedCost: 4, createdAt: T0 }));
      await store.createLease(newLease({ owner: 'carol', org: 'other', reservedCost: 8, createdAt: T0 }));
      assert.equal(await store.countLiveLeases({}), 4);
      assert.equal(await store.countLiveLeases({ owner: 'alice' }), 2);
      assert.equal(await store.countLiveLeases({ org: 'acme' }), 3);
      const spend = (scope: { owner?: string; org?: string }) => store.reservedSpend({ ...scope, from: monthStart, to: monthEnd });
      assert.equal(await spend({}), 15);
      assert.equal(await spend({ owner: 'alice' }), 3);
      assert.equal(await spend({ org: 'acme' }), 7);
      const usage = await store.usage({ from: monthStart, to: monthEnd, now: T0 + HOUR });
      const alice = usage.find((u) => u.owner === 'alice');
      assert.equal(alice?.leases, 2);
      assert.equal(alice?.reservedCost, 3);
      assert.ok((alice?.seconds ?? 0) > 0);
    });

    test('a lease remembers its pool; a run that forwarded env values marks it, once and for good', async (store) => {
      const { lease } = await store.createLease(newLease({ pool: 'warm' }));
      assert.deepEqual([lease.pool, lease.envForwarded], ['warm', false]);
      await store.markEnvForwarded(lease.id);
      await store.markEnvForwarded(lease.id);
      assert.deepEqual([(await store.getLease(lease.id))?.pool, (await store.getLease(lease.id))?.envForwarded], ['warm', true]);
      const cold = await store.createLease(newLease());
      assert.deepEqual([cold.lease.pool, cold.lease.envForwarded], [undefined, false]);
    });

    test('a lease remembers whether its user was granted sudo (default: not)', async (store) => {
      const { lease } = await store.createLease(newLease({ pool: 'warm', sudo: true }));
      assert.equal(lease.sudo, true);
      assert.equal((await store.getLease(lease.id))?.sudo, true);
      assert.equal((await store.createLease(newLease())).lease.sudo, false);
    });
  });
}

import assert from 'node:assert/strict';
import { describe } from 'node:test';
import { contractTest, T0, type StoreFactory } from './fixtures.ts';

/** EventStore: what every backend must do. */
export function eventContract(name: string, factory: StoreFactory): void {
  const test = contractTest(factory);
  describe(`EventStore contract: ${name}`, () => {
    test('events get increasing sequence numbers and list newest first, filtered and paginated', async (store) => {
      const a = await store.appendEvent({ at: T0, type: 'lease.created', actor: 'alice', owner: 'alice', leaseId: 'cbx_000000000001', data: { ttl: 60 } });
      const b = await store.appendEvent({ at: T0 + 1, type: 'lease.released', actor: 'bob', owner: 'bob', leaseId: 'cbx_000000000002' });
      await Promise.all([1, 2, 3, 4].map((i) => store.appendEvent({ at: T0 + 10 + i, type: 'lease.heartbeat', actor: 'alice', owner: 'alice' })));
      assert.ok(b.seq > a.seq);
      const mine = await store.listEvents({ owner: 'alice', limit: 3 });
      assert.equal(mine.items.length, 3);
      assert.ok(mine.items[0]!.seq > mine.items[1]!.seq);
      const rest = await store.listEvents({ owner: 'alice', limit: 3, cursor: mine.nextCursor });
      assert.equal(rest.items.length, 2);
      assert.deepEqual(rest.items[1]?.data, { ttl: 60 });
      assert.equal((await store.listEvents({ type: 'lease.released' })).items.length, 1);
      assert.equal((await store.listEvents({ leaseId: 'cbx_000000000002' })).items[0]?.actor, 'bob');
      await store.appendEvent({ at: T0 + 20, type: 'machine.deleted', actor: 'sweeper', leaseId: 'cbx_000000000002', machineId: 'mch_000000000002', providerId: 'p-1' });
      const machine = (await store.listEvents({ machineId: 'mch_000000000002' })).items;
      assert.deepEqual(machine.map((e) => [e.type, e.machineId, e.providerId, e.leaseId]), [['machine.deleted', 'mch_000000000002', 'p-1', 'cbx_000000000002']]);
      const seqs = (await store.listEvents({ limit: 100 })).items.map((e) => e.seq);
      assert.equal(new Set(seqs).size, 7);
    });

    test('a time window keeps events at or after `since` and before `until`', async (store) => {
      for (const at of [T0, T0 + 10, T0 + 20, T0 + 30]) await store.appendEvent({ at, type: 'lease.heartbeat', actor: 'alice', owner: 'alice' });
      const at = async (q: { since?: number; until?: number }) => (await store.listEvents({ owner: 'alice', ...q })).items.map((e) => e.at - T0);
      assert.deepEqual(await at({ since: T0 + 10 }), [30, 20, 10]);
      assert.deepEqual(await at({ until: T0 + 20 }), [10, 0]);
      assert.deepEqual(await at({ since: T0 + 10, until: T0 + 30 }), [20, 10]);
      assert.deepEqual(await at({ since: T0 + 31 }), []);
    });
  });
}

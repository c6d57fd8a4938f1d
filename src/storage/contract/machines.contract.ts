import assert from 'node:assert/strict';
import { describe } from 'node:test';
import { contractTest, details, HOUR, leaseWithMachine, newMachine, T0, type StoreFactory } from './fixtures.ts';

/** MachineStore: what every backend must do with machines. */
export function machineContract(name: string, factory: StoreFactory): void {
  const test = contractTest(factory);
  describe(`MachineStore contract: ${name}`, () => {
    test('a machine is written provisioning, learns its provider id, then becomes ready exactly once', async (store) => {
      const input = newMachine({ labels: { crabbox: 'true', 'crabbox-machine': 'x' } });
      const created = await store.createMachine(input);
      assert.deepEqual(
        [created.state, created.providerId, created.host, created.assignments, created.labels, created.createdAt, created.stateChangedAt],
        ['provisioning', undefined, undefined, 0, { crabbox: 'true', 'crabbox-machine': 'x' }, T0, T0],
      );
      await store.setMachineProviderId(input.id, 'p-1');
      assert.equal((await store.getMachine(input.id))?.providerId, 'p-1');
      const ready = await store.machineReady(input.id, details('p-1'), T0 + 10);
      assert.deepEqual(
        [ready?.state, ready?.host, ready?.ports, ready?.adminUser, ready?.hostKey, ready?.type, ready?.region, ready?.assignments, ready?.stateChangedAt],
        ['idle', '127.0.0.1', [2222, 22], 'crabbox', 'ssh-ed25519 AAAAhost', 'small', 'here', 0, T0 + 10],
        'a machine made for no lease is idle (a pool machine)',
      );
      assert.equal(await store.machineReady(input.id, details('p-1'), T0 + 11), undefined, 'ready only once');
      assert.equal((await store.getMachineByProviderId('fake', 'p-1'))?.id, input.id);
      assert.equal(await store.getMachineByProviderId('other', 'p-1'), undefined);
    });

    test('a machine made for a lease is assigned when ready, counting the assignment', async (store) => {
      const { leaseId, machineId } = await leaseWithMachine(store);
      const ready = await store.machineReady(machineId, details('p-2'), T0 + 20);
      assert.deepEqual([ready?.state, ready?.leaseId, ready?.assignments, ready?.lastAssignedAt], ['assigned', leaseId, 1, T0 + 20]);
    });

    test('a machine drained while it is made stays draining when ready, with its details', async (store) => {
      const { machineId } = await leaseWithMachine(store);
      assert.equal((await store.transitionMachine(machineId, ['provisioning'], 'draining', { now: T0 + 1, reason: 'drained' }))?.state, 'draining');
      const ready = await store.machineReady(machineId, details('p-3'), T0 + 2);
      assert.deepEqual([ready?.state, ready?.host, ready?.stateReason, ready?.stateChangedAt], ['draining', '127.0.0.1', 'drained', T0 + 1]);
    });

    test('two racing transitions of one machine: exactly one wins', async (store) => {
      const { machineId } = await leaseWithMachine(store);
      await store.machineReady(machineId, details('p-4'), T0);
      const results = await Promise.all([
        store.transitionMachine(machineId, ['assigned'], 'deleting', { now: T0 + 1, reason: 'lease-released' }),
        store.transitionMachine(machineId, ['assigned'], 'draining', { now: T0 + 1, reason: 'drained' }),
        store.transitionMachine(machineId, ['assigned'], 'deleting', { now: T0 + 1, reason: 'lease-expired' }),
      ]);
      assert.equal(results.filter(Boolean).length, 1);
      const winner = results.find(Boolean)!;
      assert.deepEqual([(await store.getMachine(machineId))?.state, (await store.getMachine(machineId))?.stateReason], [winner.state, winner.stateReason]);
    });

    test('a move the machine states do not allow is refused before any write', async (store) => {
      const m = await store.createMachine(newMachine());
      await assert.rejects(store.transitionMachine(m.id, ['provisioning'], 'scrubbing', { now: T0 }), /provisioning -> scrubbing is not an allowed move/);
      await assert.rejects(store.transitionMachine(m.id, ['deleted'], 'assigned', { now: T0, leaseId: 'cbx_000000000001' }), /not an allowed move/);
      assert.equal((await store.getMachine(m.id))?.state, 'provisioning');
    });

    test('assignments count each lease, not an undrain; freeing a machine clears its lease', async (store) => {
      const m = await store.createMachine(newMachine({ pool: 'warm' }));
      await store.machineReady(m.id, details('p-5'), T0);
      const first = await store.transitionMachine(m.id, ['idle'], 'assigned', { now: T0 + 1, leaseId: 'cbx_00000000000a' });
      assert.deepEqual([first?.leaseId, first?.assignments, first?.lastAssignedAt, first?.pool], ['cbx_00000000000a', 1, T0 + 1, 'warm']);
      await store.transitionMachine(m.id, ['assigned'], 'draining', { now: T0 + 2 });
      const undrained = await store.transitionMachine(m.id, ['draining'], 'assigned', { now: T0 + 3 });
      assert.deepEqual([undrained?.leaseId, undrained?.assignments, undrained?.lastAssignedAt], ['cbx_00000000000a', 1, T0 + 1]);
      await store.transitionMachine(m.id, ['assigned'], 'scrubbing', { now: T0 + 4 });
      const idle = await store.transitionMachine(m.id, ['scrubbing'], 'idle', { now: T0 + 5, leaseId: null });
      assert.deepEqual([idle?.state, idle?.leaseId], ['idle', undefined]);
      const second = await store.transitionMachine(m.id, ['idle'], 'assigned', { now: T0 + 6, leaseId: 'cbx_00000000000b' });
      assert.deepEqual([second?.leaseId, second?.assignments], ['cbx_00000000000b', 2]);
    });

    test('deletion queue: claims are exclusive, failures back off, success marks the machine deleted', async (store) => {
      const { machineId } = await leaseWithMachine(store);
      await store.setMachineProviderId(machineId, 'p-6');
      await store.transitionMachine(machineId, ['provisioning'], 'deleting', { now: T0, reason: 'create-failed' });
      await store.setMachineProviderId(machineId, 'p-replacement');
      assert.equal((await store.getMachine(machineId))?.providerId, 'p-6', 'a machine being deleted keeps the id its deletion is for');
      assert.deepEqual((await store.deletionQueue(T0, 10)).map((m) => m.id), [machineId]);
      const claims = await Promise.all([1, 2, 3].map(() => store.claimDeletion(machineId, T0, T0 + 60_000)));
      assert.equal(claims.filter(Boolean).length, 1);
      assert.deepEqual(await store.deletionQueue(T0 + 1, 10), []);
      const failed = await store.recordDeletionAttempt(machineId, { ok: false, error: 'boom', nextAt: T0 + 30_000 });
      assert.deepEqual([failed?.state, failed?.deletion.attempts, failed?.deletion.lastError], ['deleting', 1, 'boom']);
      assert.deepEqual(await store.deletionQueue(T0 + 29_999, 10), []);
      assert.equal((await store.deletionQueue(T0 + 30_000, 10)).length, 1);
      assert.equal(await store.nextDueAt(), T0 + 30_000);
      const done = await store.recordDeletionAttempt(machineId, { ok: true, at: T0 + 31_000 });
      assert.deepEqual([done?.state, done?.deletion.deletedAt, done?.deletion.attempts, done?.deletion.lastError], ['deleted', T0 + 31_000, 2, undefined]);
      assert.deepEqual(await store.deletionQueue(T0 + HOUR, 10), []);
      assert.equal(await store.recordDeletionAttempt(machineId, { ok: true, at: T0 + 32_000 }), undefined, 'recorded once');
      assert.equal(await store.nextDueAt(), T0 + 1800_000, 'only the live lease is due now');
    });

    test('a move to deleting can carry the caller\'s claim: the queue sees it only once the claim lapses', async (store) => {
      const { machineId } = await leaseWithMachine(store);
      await store.machineReady(machineId, details('p-7'), T0);
      await store.transitionMachine(machineId, ['assigned'], 'deleting', { now: T0, deleteAt: T0 + 300_000 });
      assert.deepEqual(await store.deletionQueue(T0 + 1, 10), []);
      assert.equal(await store.claimDeletion(machineId, T0 + 1, T0 + 60_000), false);
      assert.equal((await store.deletionQueue(T0 + 300_000, 10)).length, 1);
    });

    test('lists machines newest first with a cursor, filtered by state, pool and lease; finds machines stuck in a state', async (store) => {
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) ids.push((await store.createMachine(newMachine({ createdAt: T0 + i, pool: i % 2 ? 'warm' : undefined }))).id);
      await store.machineReady(ids[4]!, details('p-8'), T0 + 10);
      const seen: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await store.listMachines({ limit: 2, cursor });
        seen.push(...page.items.map((m) => m.id));
        cursor = page.nextCursor;
      } while (cursor);
      assert.deepEqual(seen, [...ids].reverse());
      assert.deepEqual((await store.listMachines({ states: ['idle'] })).items.map((m) => m.id), [ids[4]]);
      assert.deepEqual((await store.listMachines({ pool: 'warm' })).items.map((m) => m.id), [ids[3], ids[1]]);
      assert.deepEqual((await store.machinesStuckIn('provisioning', T0 + 3, 10)).map((m) => m.id), [ids[0], ids[1], ids[2]]);
      const { leaseId, machineId } = await leaseWithMachine(store);
      assert.deepEqual((await store.listMachines({ leaseId })).items.map((m) => m.id), [machineId]);
      await assert.rejects(store.listMachines({ cursor: 'nope' }), { code: 'bad_request' });
    });

    test('a pool claim takes the oldest idle machine of that pool, once; none idle is undefined', async (store) => {
      const ids: string[] = [];
      for (const [i, pool] of (['warm', 'warm', 'other', 'warm'] as const).entries()) {
        const m = await store.createMachine(newMachine({ pool, createdAt: T0 + 10 - i, hourlyPrice: 0.5, reservedCost: 12, token: `cbx_${String(i).padStart(12, '0')}` }));
        ids.push(m.id);
      }
      for (const id of [ids[0]!, ids[2]!, ids[3]!]) await store.machineReady(id, details(`p-${id}`), T0 + 20);
      const first = await store.claimIdleMachine('warm', 'cbx_0000000000a1', T0 + 30);
      assert.deepEqual([first?.id, first?.state, first?.leaseId, first?.assignments, first?.lastAssignedAt, first?.stateReason], [ids[3], 'assigned', 'cbx_0000000000a1', 1, T0 + 30, 'claimed']);
      const second = await store.claimIdleMachine('warm', 'cbx_0000000000a2', T0 + 31);
      assert.equal(second?.id, ids[0], 'the provisioning one (ids[1]) is not idle yet');
      assert.equal(await store.claimIdleMachine('warm', 'cbx_0000000000a3', T0 + 32), undefined);
      assert.deepEqual([first?.hourlyPrice, first?.reservedCost, first?.token], [0.5, 12, 'cbx_000000000003']);
      assert.deepEqual((await store.poolMachines('warm')).map((m) => m.id), [ids[3], ids[1], ids[0]]);
    });

    test('racing pool claims: each idle machine goes to exactly one lease', async (store) => {
      const idle: string[] = [];
      for (let i = 0; i < 5; i++) {
        const m = await store.createMachine(newMachine({ pool: 'race', createdAt: T0 + i }));
        await store.machineReady(m.id, details(`p-race-${i}`), T0 + 10);
        idle.push(m.id);
      }
      const claims = await Promise.all(Array.from({ length: 20 }, (_, i) => store.claimIdleMachine('race', `cbx_${(0xb00 + i).toString(16).padStart(12, '0')}`, T0 + 20)));
      const won = claims.filter((c) => c !== undefined);
      assert.equal(won.length, 5);
      assert.deepEqual(new Set(won.map((c) => c!.id)), new Set(idle));
      assert.equal(new Set(won.map((c) => c!.leaseId)).size, 5);
    });

    test('pool machines reserve spend: made this month, or alive from earlier; per pool or all pools', async (store) => {
      const month = { from: T0, to: T0 + 30 * 24 * HOUR };
      await store.createMachine(newMachine({ pool: 'a', createdAt: T0 + 1, reservedCost: 5 }));
      await store.createMachine(newMachine({ pool: 'b', createdAt: T0 + 2, reservedCost: 7 }));
      const old = await store.createMachine(newMachine({ pool: 'a', createdAt: T0 - HOUR, reservedCost: 11 }));
      const gone = await store.createMachine(newMachine({ pool: 'a', createdAt: T0 - 2 * HOUR, reservedCost: 100 }));
      await store.transitionMachine(gone.id, ['provisioning'], 'failed', { now: T0 });
      await store.createMachine(newMachine({ createdAt: T0 + 3, reservedCost: 1000 }));
      const never = await store.createMachine(newMachine({ pool: 'b', createdAt: T0 + 4, reservedCost: 500 }));
      await store.transitionMachine(never.id, ['provisioning'], 'failed', { now: T0 + 5 });
      assert.equal(await store.machineReservedSpend(month), 23, 'machines gone before this month, failed ones and machines of no pool do not count');
      assert.equal(await store.machineReservedSpend({ ...month, pool: 'a' }), 16);
      await store.transitionMachine(old.id, ['provisioning'], 'failed', { now: T0 });
      assert.equal(await store.machineReservedSpend({ ...month, pool: 'a' }), 5);
    });
  });
}

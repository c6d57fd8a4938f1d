import assert from 'node:assert/strict';
import { describe } from 'node:test';
import { contractTest, details, HOUR, leaseWithMachine, newLease, newMachine, T0, type StoreFactory } from './fixtures.ts';

/** FleetStore as a whole: transactions across ports, prune, meta, reopening. */
export function fleetContract(name: string, factory: StoreFactory): void {
  const test = contractTest(factory);
  describe(`FleetStore contract: ${name}`, () => {
    test('prune removes old runs, events, ended leases and gone machines, keeping live ones and deletions still due', async (store) => {
      await store.createRun({ id: 'run_00000000000a', leaseId: 'cbx_000000000001', owner: 'a', org: 'o', createdAt: T0 - 10 * HOUR });
      await store.createRun({ id: 'run_00000000000b', leaseId: 'cbx_000000000001', owner: 'a', org: 'o', createdAt: T0 });
      await store.appendEvent({ at: T0 - 10 * HOUR, type: 'x', actor: 'a' });
      await store.appendEvent({ at: T0, type: 'y', actor: 'a' });
      const oldLive = await leaseWithMachine(store, { createdAt: T0 - 10 * HOUR });
      const oldDone = await store.createLease(newLease({ createdAt: T0 - 10 * HOUR }));
      await store.transitionLease(oldDone.lease.id, ['provisioning'], 'released', { now: T0 - 9 * HOUR });
      const oldDeleting = await leaseWithMachine(store, { createdAt: T0 - 10 * HOUR });
      await store.setMachineProviderId(oldDeleting.machineId, 'p-9');
      await store.transitionLease(oldDeleting.leaseId, ['provisioning'], 'expired', { now: T0 - 9 * HOUR });
      await store.transitionMachine(oldDeleting.machineId, ['provisioning'], 'deleting', { now: T0 - 9 * HOUR });
      const oldGone = await leaseWithMachine(store, { createdAt: T0 - 10 * HOUR });
      await store.setMachineProviderId(oldGone.machineId, 'p-10');
      await store.transitionLease(oldGone.leaseId, ['provisioning'], 'released', { now: T0 - 9 * HOUR });
      await store.transitionMachine(oldGone.machineId, ['provisioning'], 'deleting', { now: T0 - 9 * HOUR });
      await store.recordDeletionAttempt(oldGone.machineId, { ok: true, at: T0 - 9 * HOUR });
      const idle = await store.createMachine(newMachine({ createdAt: T0 - 10 * HOUR, pool: 'warm' }));
      await store.machineReady(idle.id, details('p-11'), T0 - 10 * HOUR);
      const result = await store.prune(T0 - HOUR);
      assert.deepEqual(result, { runs: 1, events: 1, leases: 2, machines: 1 });
      assert.equal(await store.getRun('run_00000000000a'), undefined);
      assert.ok(await store.getRun('run_00000000000b'));
      assert.ok(await store.getLease(oldLive.leaseId));
      assert.ok(await store.getMachine(oldLive.machineId));
      assert.equal((await store.getLease(oldDeleting.leaseId))?.providerId, 'p-9', 'a lease whose machine is still being deleted stays, with its machine');
      assert.equal(await store.getLease(oldDone.lease.id), undefined);
      assert.equal(await store.getLease(oldGone.leaseId), undefined);
      assert.equal(await store.getMachine(oldGone.machineId), undefined);
      assert.ok(await store.getMachine(idle.id), 'an idle pool machine is not history');
    });

    test('transactions commit together or not at all', async (store) => {
      const input = newLease();
      await assert.rejects(
        store.withTransaction(async (tx) => {
          await tx.createLease(input);
          await tx.createMachine(newMachine({ id: 'mch_0000000000ab', leaseId: input.id }));
          await tx.appendEvent({ at: T0, type: 'lease.created', actor: 'alice' });
          throw new Error('abort');
        }),
        /abort/,
      );
      assert.equal(await store.getLease(input.id), undefined);
      assert.equal(await store.getMachine('mch_0000000000ab'), undefined);
      assert.equal((await store.listEvents({})).items.length, 0);
      await store.withTransaction(async (tx) => {
        await tx.createLease(input);
        await tx.setMeta('k', 'v');
      });
      assert.ok(await store.getLease(input.id));
    });

    test('serialized check-then-insert transactions never exceed a cap', async (store) => {
      const attempts = Array.from({ length: 20 }, () =>
        store.withTransaction(async (tx) => {
          if ((await tx.countLiveLeases({ owner: 'capped' })) >= 5) return false;
          await tx.createLease(newLease({ owner: 'capped' }));
          return true;
        }),
      );
      assert.equal((await Promise.all(attempts)).filter(Boolean).length, 5);
      assert.equal(await store.countLiveLeases({ owner: 'capped' }), 5);
    });

    test('meta values persist and overwrite', async (store, reopen) => {
      assert.equal(await store.getMeta('installation'), undefined);
      await store.setMeta('installation', 'one');
      await store.setMeta('installation', 'two');
      assert.equal(await store.getMeta('installation'), 'two');
      await store.ping();
      if (reopen) {
        await store.close();
        const again = await reopen();
        try {
          assert.equal(await again.getMeta('installation'), 'two');
        } finally {
          await again.close();
        }
      }
    });
  });
}

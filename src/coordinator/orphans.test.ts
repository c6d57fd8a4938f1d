// Issue 14 item 8: the orphan sweep learns machines. A machine the store knows is never an orphan until the store
// says it is gone; one it does not know is deleted after the safety window, as before.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LABEL, machineLabels } from '../domain/labels.ts';
import { sweep } from './sweeper.ts';
import { generateHostKey } from './host-key.ts';
import { harness, PUBLIC_KEY, type Harness } from './testkit.ts';

const MIN = 60_000;

async function skipReasons(h: Harness, providerId: string): Promise<string[]> {
  return (await h.store.listEvents({ type: 'machine.sweep_skipped', limit: 100 })).items.filter((e) => e.providerId === providerId).map((e) => String(e.data?.reason));
}

/** A machine made at the provider with the given labels, `ageMin` minutes old on the harness clock. */
async function providerMachine(h: Harness, labels: Record<string, string>, ageMin: number): Promise<string> {
  const { providerId } = await h.provider.create({ leaseId: `cbx_${'f'.repeat(8)}${String(h.provider.machines.size).padStart(4, '0')}`, slug: 'x', labels, sshPublicKey: PUBLIC_KEY, hostKey: await generateHostKey('cbx_0000000000f1') });
  h.provider.machines.get(providerId)!.createdAt = h.clock.now() - ageMin * MIN;
  return providerId;
}

describe('orphan sweep with machine records', () => {
  it('never deletes a machine the store knows as idle, though its labels name a lease that ended long ago', async () => {
    await using h = await harness({ config: { orphanSafetyWindowSeconds: 1800 } });
    const alice = await h.userToken('alice');
    const { lease } = (await h.request('POST', '/v1/leases', { token: alice, body: { sshPublicKey: PUBLIC_KEY } })).json;
    // What the warm pool will do at release: the lease ends, its machine is scrubbed and goes back to idle.
    const now = h.clock.now();
    await h.store.transitionLease(lease.id, ['active'], 'released', { now, reason: 'released' });
    await h.store.transitionMachine(lease.machineId, ['assigned'], 'scrubbing', { now });
    await h.store.transitionMachine(lease.machineId, ['scrubbing'], 'idle', { now, leaseId: null });
    const providerId = (await h.store.getMachine(lease.machineId))!.providerId!;
    h.clock.advance(3 * 60 * MIN);
    const stats = await sweep(h.deps, { orphans: true });
    assert.equal(stats.orphansDeleted, 0);
    assert.ok(h.provider.machines.has(providerId), 'the idle machine is still there');
    assert.deepEqual(await skipReasons(h, providerId), ['known-machine:idle']);
    const skipped = (await h.store.listEvents({ type: 'machine.sweep_skipped' })).items[0];
    assert.equal(skipped?.machineId, lease.machineId, 'the skip is recorded against the machine');
  });

  it('a live lease\'s machine and one whose deletion is queued are skipped as such; nothing known is deleted', async () => {
    await using h = await harness({ config: { orphanSafetyWindowSeconds: 1800 } });
    const alice = await h.userToken('alice');
    const live = (await h.request('POST', '/v1/leases', { token: alice, body: { sshPublicKey: PUBLIC_KEY, ttlSeconds: 6 * 3600, idleTimeoutSeconds: 6 * 3600 } })).json.lease;
    const queued = (await h.request('POST', '/v1/leases', { token: alice, body: { sshPublicKey: PUBLIC_KEY, ttlSeconds: 6 * 3600, idleTimeoutSeconds: 6 * 3600 } })).json.lease;
    h.provider.fail({ step: 'delete', times: 10 });
    await h.request('POST', `/v1/leases/${queued.id}/release`, { token: alice });
    h.clock.advance(2 * 60 * MIN);
    await sweep(h.deps, { orphans: true });
    const pid = async (machineId: string) => (await h.store.getMachine(machineId))!.providerId!;
    assert.deepEqual(await skipReasons(h, await pid(live.machineId)), ['live']);
    assert.deepEqual(await skipReasons(h, await pid(queued.machineId)), ['cleanup-queued']);
    assert.equal(h.provider.machines.size, 2);
  });

  it('deletes a machine the store recorded as deleted, and an unknown machine past the safety window; keeps a young unknown one', async () => {
    await using h = await harness({ config: { orphanSafetyWindowSeconds: 1800 } });
    const alice = await h.userToken('alice');
    const { lease } = (await h.request('POST', '/v1/leases', { token: alice, body: { sshPublicKey: PUBLIC_KEY } })).json;
    const machine = (await h.store.getMachine(lease.machineId))!;
    await h.request('POST', `/v1/leases/${lease.id}/release`, { token: alice });
    assert.equal((await h.store.getMachine(lease.machineId))?.state, 'deleted');
    // The provider still has it (a delete that answered success but left the server, or a restore from backup).
    h.provider.machines.set(machine.providerId!, { provider: 'fake', providerId: machine.providerId!, host: '127.0.0.1', ports: [22], sshUser: 'crabbox', workRoot: '/w', hostKey: '', labels: machine.labels, status: 'running', createdAt: h.clock.now() });
    const unknownOld = await providerMachine(h, machineLabels({ machineId: 'mch_00000000beef', installation: 'test-install', createdAt: h.clock.now() - 60 * MIN }), 60);
    const unknownYoung = await providerMachine(h, machineLabels({ machineId: 'mch_00000000cafe', installation: 'test-install', createdAt: h.clock.now() - 5 * MIN }), 5);
    const stats = await sweep(h.deps, { orphans: true });
    assert.equal(stats.orphansDeleted, 2);
    assert.deepEqual([...h.provider.machines.keys()], [unknownYoung]);
    const reasons = (await h.store.listEvents({ type: 'machine.deleted', limit: 100 })).items.filter((e) => String(e.data?.reason).startsWith('orphan:'));
    assert.deepEqual(reasons.map((e) => [e.providerId, e.data?.reason]).sort(), [[machine.providerId, 'orphan:machine-gone'], [unknownOld, 'orphan:unknown-machine']].sort());
    assert.equal(reasons.find((e) => e.providerId === machine.providerId)?.machineId, lease.machineId);
  });

  it('a machine whose create never returned and whose lease is gone is deleted when the provider made it, else marked failed', async () => {
    await using h = await harness();
    const now = h.clock.now();
    const made = await h.store.createMachine({ id: 'mch_0000000000a1', provider: 'fake', pool: 'warm', createdAt: now });
    const pid = await providerMachine(h, machineLabels({ machineId: made.id, installation: 'test-install', createdAt: now }), 0);
    await h.store.setMachineProviderId(made.id, pid);
    const never = await h.store.createMachine({ id: 'mch_0000000000a2', provider: 'fake', pool: 'warm', createdAt: now });
    h.clock.advance(10 * MIN);
    assert.equal((await sweep(h.deps)).stuckMachines, 0, 'a create may still be running');
    h.clock.advance(6 * MIN);
    assert.equal((await sweep(h.deps)).stuckMachines, 2);
    assert.deepEqual([(await h.store.getMachine(made.id))?.state, (await h.store.getMachine(never.id))?.state], ['deleted', 'failed']);
    assert.equal(h.provider.machines.has(pid), false);
    assert.deepEqual((await h.store.listEvents({ machineId: never.id })).items.map((e) => [e.type, e.data?.reason]), [['machine.failed', 'provisioning-timeout']]);
    assert.equal(h.provider.machines.get(pid)?.labels[LABEL.machine], undefined);
  });
});

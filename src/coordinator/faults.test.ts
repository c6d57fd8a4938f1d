import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ManualClock } from '../domain/clock.ts';
import { leaseLabels } from '../domain/labels.ts';
import { FakeProvider } from '../providers/fake/fake-provider.ts';
import { openSqliteStore } from '../storage/sqlite.ts';
import type { FleetStore } from '../storage/store.ts';
import { tempDir } from '../testing/tmp.ts';
import { sweep } from './sweeper.ts';
import { generateHostKey } from './host-key.ts';
import { harness, PUBLIC_KEY } from './testkit.ts';

const MIN = 60_000;
const T0 = Date.UTC(2026, 0, 15, 12);

/** The state of the machine a lease was on. */
async function machineState(store: FleetStore, lease: { machineId?: string | undefined } | undefined): Promise<string | undefined> {
  return lease?.machineId ? (await store.getMachine(lease.machineId))?.state : undefined;
}

async function eventTypes(store: FleetStore, leaseId: string): Promise<string[]> {
  return (await store.listEvents({ leaseId, limit: 100 })).items.map((e) => e.type).reverse();
}

/** A store that freezes (this and every later call hang forever) at `method`, before or after it ran: the process "died" there. */
function dyingStore(store: FleetStore, method: keyof FleetStore, when: 'before' | 'after'): { store: FleetStore; died: Promise<void> } {
  let dead = false;
  let died!: () => void;
  const diedPromise = new Promise<void>((resolve) => (died = resolve));
  const proxy = new Proxy(store, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        if (prop === method && when === 'before') dead = true;
        if (dead) {
          died();
          return new Promise(() => {});
        }
        const result = value.apply(target, args);
        if (prop === method) {
          dead = true;
          void Promise.resolve(result).then(() => died());
        }
        return result;
      };
    },
  });
  return { store: proxy, died: diedPromise };
}

describe('coordinator faults', () => {
  it('create fails after the machine exists: the lease fails and the machine is deleted', async () => {
    await using h = await harness();
    h.provider.fail({ step: 'create-after-id' });
    const res = await h.request('POST', '/v1/leases', { token: await h.userToken('alice'), body: { sshPublicKey: PUBLIC_KEY } });
    assert.equal(res.status, 502);
    assert.equal(res.json.error, 'provider_error');
    assert.equal(h.provider.machines.size, 0);
    const [lease] = (await h.store.listLeases({ states: ['failed'] })).items;
    assert.equal(await machineState(h.store, lease), 'deleted');
    assert.deepEqual(await eventTypes(h.store, lease!.id), ['lease.created', 'provider.error', 'lease.failed', 'machine.deleted']);
  });

  it('create fails before any machine exists: the lease fails, nothing to delete', async () => {
    await using h = await harness();
    h.provider.fail({ step: 'create' });
    const res = await h.request('POST', '/v1/leases', { token: await h.userToken('alice'), body: { sshPublicKey: PUBLIC_KEY } });
    assert.equal(res.status, 502);
    const [lease] = (await h.store.listLeases({ states: ['failed'] })).items;
    assert.equal(await machineState(h.store, lease), 'failed', 'nothing was made: the machine record says so, and nothing is queued');
    assert.deepEqual(await h.store.deletionQueue(h.clock.now() + 3600_000, 10), []);
    assert.equal(h.provider.calls.filter((c) => c.op === 'delete').length, 0);
  });

  it('delete fails twice, then succeeds: retried with backoff by the sweeper', async () => {
    await using h = await harness();
    const alice = await h.userToken('alice');
    const { json } = await h.request('POST', '/v1/leases', { token: alice, body: { sshPublicKey: PUBLIC_KEY } });
    h.provider.fail({ step: 'delete', times: 2 });
    const released = await h.request('POST', `/v1/leases/${json.lease.id}/release`, { token: alice });
    assert.equal(released.status, 200, 'release succeeds even when the provider delete fails; cleanup is queued');
    assert.equal(h.provider.machines.size, 1);
    h.clock.advance(29_000);
    assert.equal((await sweep(h.deps)).deleteFailures, 0, 'not retried before the backoff');
    h.clock.advance(1_000);
    assert.equal((await sweep(h.deps)).deleteFailures, 1);
    h.clock.advance(59_000);
    assert.deepEqual([(await sweep(h.deps)).deleted, h.provider.machines.size], [0, 1]);
    h.clock.advance(1_000);
    assert.equal((await sweep(h.deps)).deleted, 1);
    assert.equal(h.provider.machines.size, 0);
    const lease = await h.store.getLease(json.lease.id);
    const machine = await h.store.getMachine(lease!.machineId!);
    assert.deepEqual([machine?.state, machine?.deletion.attempts], ['deleted', 3]);
    assert.deepEqual(await eventTypes(h.store, json.lease.id), ['lease.created', 'machine.provisioned', 'machine.assigned', 'lease.released', 'provider.error', 'provider.error', 'machine.deleted']);
  });

  it('delete says already gone: counts as deleted', async () => {
    await using h = await harness();
    const alice = await h.userToken('alice');
    const { json } = await h.request('POST', '/v1/leases', { token: alice, body: { sshPublicKey: PUBLIC_KEY } });
    h.provider.machines.clear();
    await h.request('POST', `/v1/leases/${json.lease.id}/release`, { token: alice });
    const lease = await h.store.getLease(json.lease.id);
    assert.equal(await machineState(h.store, lease), 'deleted');
    const deleted = (await h.store.listEvents({ leaseId: json.lease.id, type: 'machine.deleted' })).items[0];
    assert.equal(deleted?.data?.result, 'already-gone');
  });

  for (const when of ['after', 'before'] as const) {
    it(`coordinator killed ${when} storing the provider id, restarted over the same SQLite file: the machine ends deleted`, async () => {
      const dir = tempDir('crabbox-crash-');
      const path = join(dir.path, 'fleet.db');
      const cloud = new FakeProvider({ hourlyPrice: 0.5 });
      const clock = new ManualClock(T0);
      try {
        const first = await openSqliteStore({ path, now: T0 });
        const dying = dyingStore(first, 'setMachineProviderId', when);
        const h1 = await harness({ store: dying.store, provider: cloud, clock });
        // The request never completes: the process is frozen from the store's point of view.
        void h1.request('POST', '/v1/leases', { token: await h1.userToken('alice'), body: { sshPublicKey: PUBLIC_KEY } });
        await dying.died;
        assert.equal(cloud.machines.size, 1, 'the provider made a machine');
        if (when === 'after') assert.ok((await first.listLeases({})).items[0]?.providerId, 'the provider id was stored before the crash');
        else assert.equal((await first.listLeases({})).items[0]?.providerId, undefined);
        assert.equal((await first.listMachines({})).items[0]?.state, 'provisioning', 'the machine was recorded before the provider was asked');
        await first.close();

        clock.advance(16 * MIN);
        await using h2 = await harness({ path, provider: cloud, clock });
        const stats = await sweep(h2.deps, { orphans: true });
        assert.equal(cloud.machines.size, 0, 'the machine was deleted after the restart');
        assert.equal(stats.failedProvisioning, 1);
        const [lease] = (await h2.store.listLeases({ states: ['failed'] })).items;
        assert.ok(lease);
        const types = await eventTypes(h2.store, lease.id);
        assert.deepEqual(types.slice(0, 2), ['lease.created', 'lease.failed']);
        assert.equal(types.at(-1), 'machine.deleted');
      } finally {
        dir.remove();
      }
    });
  }

  it('orphan sweep deletes only machines its labels prove are ours and no live lease needs', async () => {
    await using h = await harness({ config: { orphanSafetyWindowSeconds: 1800 } });
    const make = async (id: string, options: { installation?: string; keep?: boolean; createdAt?: number; drop?: string } = {}) => {
      const createdAt = options.createdAt ?? h.clock.now();
      const labels = leaseLabels({
        lease: { id, slug: 'red-crab', owner: 'ghost', org: 'acme', state: 'active', keep: options.keep ?? false, createdAt, lastTouchedAt: createdAt, ttlSeconds: 7200, idleTimeoutSeconds: 1800, expiresAt: createdAt + 1800_000 },
        installation: options.installation ?? 'test-install',
      });
      if (options.drop) delete labels[options.drop];
      const { providerId } = await h.provider.create({ leaseId: id, slug: 'red-crab', labels, sshPublicKey: PUBLIC_KEY, hostKey: await generateHostKey(id) });
      h.provider.machines.get(providerId)!.createdAt = createdAt; // the fake stamps wall-clock time; this test runs on the manual clock
      return providerId;
    };
    const old = h.clock.now() - 60 * MIN;
    const unknownOld = await make('cbx_00000000000a', { createdAt: old });
    const unknownYoung = await make('cbx_00000000000b');
    const foreign = await make('cbx_00000000000c', { createdAt: old, installation: 'someone-else' });
    const unlabelled = await make('cbx_00000000000d', { createdAt: old, drop: 'crabbox-expires' });
    const keptWithinCap = await make('cbx_00000000000e', { createdAt: old, keep: true });
    const keptPastCap = await make('cbx_00000000000f', { createdAt: old - 2 * 3600_000, keep: true });
    const alice = await h.userToken('alice');
    const live = (await h.request('POST', '/v1/leases', { token: alice, body: { sshPublicKey: PUBLIC_KEY } })).json.lease;

    const stats = await sweep(h.deps, { orphans: true });
    const left = new Set(h.provider.machines.keys());
    assert.equal(left.has(unknownOld), false);
    assert.equal(left.has(keptPastCap), false);
    for (const kept of [unknownYoung, foreign, unlabelled, keptWithinCap]) assert.ok(left.has(kept), `machine ${kept} must survive`);
    assert.ok([...h.provider.machines.values()].some((m) => m.labels['crabbox-lease'] === live.id), 'a live lease keeps its machine');
    assert.equal(stats.orphansDeleted, 2);
    const orphanEvents = (await h.store.listEvents({ type: 'machine.deleted' })).items;
    assert.ok(orphanEvents.every((e) => String(e.data?.reason).startsWith('orphan:')));
  });
});

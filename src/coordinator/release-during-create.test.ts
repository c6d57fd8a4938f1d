// Issue 11 item 1 for every provider: a lease released while its machine is being created leaves nothing behind.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CreateOptions, Machine, MachineSpec } from '../providers/provider.ts';
import { FakeProvider } from '../providers/fake/fake-provider.ts';
import { harness, PUBLIC_KEY, type Harness } from './testkit.ts';

/**
 * A fake cloud whose create goes on after the machine id is known, the way real providers do (a key installed, a
 * daemon started, a firewall attached): whatever it makes then is there again after a delete that ran meanwhile.
 */
class FinishesAfterId extends FakeProvider {
  whenIdKnown: ((leaseId: string) => Promise<void>) | undefined;
  finishes = true;
  override async create(spec: MachineSpec, options: CreateOptions = {}): Promise<Machine> {
    const machine = await super.create(spec, {
      ...options,
      onProviderId: async (id) => {
        await options.onProviderId?.(id);
        await this.whenIdKnown?.(spec.leaseId);
      },
    });
    if (this.finishes) this.machines.set(machine.providerId, structuredClone(machine));
    return machine;
  }
}

async function releaseDuringCreate(h: Harness, provider: FinishesAfterId): Promise<{ status: number; leaseId: string }> {
  const token = await h.userToken('alice');
  let leaseId = '';
  provider.whenIdKnown = async (id) => {
    leaseId = id;
    const released = await h.request('POST', `/v1/leases/${id}/release`, { token });
    assert.equal(released.status, 200, JSON.stringify(released.json));
  };
  const res = await h.request('POST', '/v1/leases', { token, body: { sshPublicKey: PUBLIC_KEY } });
  return { status: res.status, leaseId };
}

describe('coordinator: release while the provider is still creating', () => {
  it('a provider whose create ends at the id (the fake cloud): the release deletes the machine, nothing is left', async () => {
    const provider = new FinishesAfterId({ hourlyPrice: 0.5 });
    provider.finishes = false;
    await using h = await harness({ provider });
    const { status, leaseId } = await releaseDuringCreate(h, provider);
    assert.equal(status, 409);
    assert.equal(provider.machines.size, 0);
    const lease = await h.store.getLease(leaseId);
    assert.equal(lease?.state, 'released');
    assert.equal((await h.store.getMachine(lease!.machineId!))?.state, 'deleted');
  });

  it('a provider whose create goes on after the id: what it made after the release\'s delete is deleted too', async () => {
    const provider = new FinishesAfterId({ hourlyPrice: 0.5 });
    await using h = await harness({ provider });
    const { status, leaseId } = await releaseDuringCreate(h, provider);
    assert.equal(status, 409);
    assert.equal(provider.machines.size, 0, 'no machine outlives its released lease');
    const events = (await h.store.listEvents({ leaseId, limit: 100 })).items.map((e) => [e.type, (e.data as { reason?: string }).reason]);
    assert.ok(events.some(([type, reason]) => type === 'machine.deleted' && reason === 'ended-during-create'), JSON.stringify(events));
  });
});

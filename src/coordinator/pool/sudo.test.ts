// Decision 0060: a lease user gets sudo only where the coordinator's own config grants it (a pool's `sudo`, the
// `sudo.classes` of cold leases), never from a request; a pool machine whose lease had sudo is never reused.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FakeProvider } from '../../providers/fake/fake-provider.ts';
import type { ProviderCapabilities } from '../../providers/provider.ts';
import { harness, PUBLIC_KEY } from '../testkit.ts';
import { parsePools } from './config.ts';
import { buildMachineAccess } from './wiring.ts';
import { poolHarness } from './testkit.ts';

const claim = { sshPublicKey: PUBLIC_KEY, pool: true };

/** The fake provider, able to grant a cold lease user sudo as the cloud bootstraps can. */
class SudoCapableFake extends FakeProvider {
  override readonly capabilities: ProviderCapabilities = { ...new FakeProvider().capabilities, leaseSudo: true };
}

describe('sudo for lease users: only by the coordinator config', () => {
  it('a pool with sudo grants it and deletes the machine after the lease (sudo-granted), never reusing it', async () => {
    await using h = await poolHarness({ pool: { sudo: true } });
    const [first] = await h.fill();
    const token = await h.maintainer();
    const { status, json } = await h.request('POST', '/v1/leases', { token, body: claim });
    assert.equal(status, 201);
    assert.equal((await h.store.getLease(json.lease.id))?.sudo, true);
    assert.deepEqual(h.access.calls.filter((c) => c.op === 'grant').map((c) => c.sudo), [true], 'the grant carries sudo');
    await h.request('POST', `/v1/leases/${json.lease.id}/release`, { token });
    const m = (await h.store.getMachine(first!))!;
    assert.deepEqual([m.state, m.stateReason], ['deleted', 'lease-released:sudo-granted']);
  });

  it('a failed sudo grant deletes the machine too: it may have been half granted', async () => {
    await using h = await poolHarness({ pool: { sudo: true, min: 1 } });
    const [first] = await h.fill();
    h.access.failGrant.add(first!);
    const res = await h.request('POST', '/v1/leases', { token: await h.maintainer(), body: claim });
    assert.equal(res.status, 502);
    const m = (await h.store.getMachine(first!))!;
    assert.notEqual(m.state, 'idle');
    assert.match(m.stateReason ?? '', /sudo-granted/);
  });

  it('a pool without sudo grants none, and a request cannot ask for it (400)', async () => {
    await using h = await poolHarness();
    const [first] = await h.fill();
    const token = await h.maintainer();
    const asked = await h.request('POST', '/v1/leases', { token, body: { ...claim, sudo: true } });
    assert.equal(asked.status, 400);
    const { json } = await h.request('POST', '/v1/leases', { token, body: claim });
    assert.equal((await h.store.getLease(json.lease.id))?.sudo, false);
    assert.deepEqual(h.access.calls.filter((c) => c.op === 'grant').map((c) => c.sudo), [undefined]);
    await h.request('POST', `/v1/leases/${json.lease.id}/release`, { token });
    assert.equal((await h.store.getMachine(first!))?.state, 'idle', 'reused as before');
  });

  it('cold leases: only a class the coordinator names gets sudo, and only from a provider that can grant it', async () => {
    const provider = new SudoCapableFake();
    const h = await harness({ provider, config: { sudo: { classes: ['root-ok'] } } });
    try {
      const token = await h.userToken('ada');
      const named = await h.request('POST', '/v1/leases', { token, body: { sshPublicKey: PUBLIC_KEY, class: 'root-ok' } });
      assert.equal(named.status, 201, JSON.stringify(named.json));
      const other = await h.request('POST', '/v1/leases', { token, body: { sshPublicKey: PUBLIC_KEY, class: 'standard' } });
      assert.equal(other.status, 201);
      assert.deepEqual(provider.specs.map((s) => [s.class, s.leaseSudo === true]), [['root-ok', true], ['standard', false]]);
      assert.equal((await h.store.getLease(named.json.lease.id))?.sudo, true);
      assert.equal((await h.store.getLease(other.json.lease.id))?.sudo, false);
    } finally {
      await h.close();
    }
    const plain = new FakeProvider();
    await using h2 = await harness({ provider: plain, config: { sudo: { classes: ['root-ok'] } } });
    const res = await h2.request('POST', '/v1/leases', { token: await h2.userToken('ada'), body: { sshPublicKey: PUBLIC_KEY, class: 'root-ok' } });
    assert.equal(res.status, 201);
    assert.equal(plain.specs[0]?.leaseSudo, undefined, 'a provider without capabilities.leaseSudo is never asked');
    assert.equal((await h2.store.getLease(res.json.lease.id))?.sudo, false);
  });

  it('a request that names no class is the default class for sudo; an exact type without a class is no class', async () => {
    const provider = new SudoCapableFake();
    await using h = await harness({ provider, config: { sudo: { classes: ['standard'] } } });
    const token = await h.userToken('ada');
    const plain = await h.request('POST', '/v1/leases', { token, body: { sshPublicKey: PUBLIC_KEY } });
    assert.equal(plain.status, 201, JSON.stringify(plain.json));
    const typed = await h.request('POST', '/v1/leases', { token, body: { sshPublicKey: PUBLIC_KEY, type: 'cx22' } });
    assert.equal(typed.status, 201, JSON.stringify(typed.json));
    assert.deepEqual(provider.specs.map((s) => s.leaseSudo === true), [true, false]);
    assert.equal((await h.store.getLease(plain.json.lease.id))?.sudo, true);
    assert.equal((await h.store.getLease(typed.json.lease.id))?.sudo, false);
  });

  it('config: pools.<name>.sudo is a boolean; a pool whose machines outlive a delete (local, ssh) cannot have it, in one line', () => {
    assert.equal(parsePools({ warm: { provider: 'hetzner', min: 0, max: 1, sudo: true } })[0]?.sudo, true);
    assert.equal(parsePools({ warm: { provider: 'hetzner', min: 0, max: 1 } })[0]?.sudo, false);
    assert.throws(() => parsePools({ warm: { provider: 'hetzner', min: 0, max: 1, sudo: 'yes' } }), /pools\.warm\.sudo: /);
    for (const provider of ['local', 'ssh']) {
      const pools = parsePools({ mine: { provider, min: 0, max: 1, sudo: true } });
      const providers = { [provider]: new FakeProvider({ name: provider }), hetzner: new SudoCapableFake({ name: 'hetzner' }) };
      assert.throws(() => buildMachineAccess(pools, providers, { stateDir: '/nonexistent' }), (e: Error & { hint?: string }) => {
        assert.match(e.message, new RegExp(`^pools\\.mine\\.sudo: a ${provider} pool cannot grant sudo`));
        assert.equal(e.message.split('\n').length, 1);
        assert.match(e.hint ?? '', /served here: hetzner/);
        return true;
      });
    }
  });
});

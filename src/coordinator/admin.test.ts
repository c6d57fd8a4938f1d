import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sweep } from './sweeper.ts';
import { generateHostKey } from './host-key.ts';
import { harness, PUBLIC_KEY } from './testkit.ts';

describe('admin actions', () => {
  it('drain releases every live lease, refuses new ones until undrained, and records it all', async () => {
    await using h = await harness();
    const [alice, bob, root] = [await h.userToken('alice'), await h.userToken('bob'), await h.userToken('root')];
    for (const token of [alice, alice, bob]) assert.equal((await h.request('POST', '/v1/leases', { token, body: { sshPublicKey: PUBLIC_KEY } })).status, 201);
    const drained = await h.request('POST', '/v1/admin/drain', { token: root, body: { draining: true } });
    assert.deepEqual(drained.json, { draining: true, released: 3 });
    assert.equal(h.provider.machines.size, 0);
    const refused = await h.request('POST', '/v1/leases', { token: alice, body: { sshPublicKey: PUBLIC_KEY } });
    assert.equal(refused.status, 503);
    assert.match(refused.json.message, /draining/);
    assert.equal((await h.request('POST', '/v1/admin/drain', { token: root, body: { draining: false } })).json.released, 0);
    assert.equal((await h.request('POST', '/v1/leases', { token: alice, body: { sshPublicKey: PUBLIC_KEY } })).status, 201);
    const events = (await h.request('GET', '/v1/admin/events?limit=100', { token: root })).json.events.map((e: { type: string; actor: string }) => `${e.type}/${e.actor}`);
    assert.ok(events.includes('admin.drain/admin:root'));
    assert.ok(events.includes('admin.undrain/admin:root'));
    assert.equal(events.filter((e: string) => e.startsWith('machine.drained/')).length, 3);
    const all = await h.request('GET', '/v1/admin/leases?state=all', { token: root });
    assert.equal(new Set(all.json.leases.map((l: { owner: string }) => l.owner)).size, 2);
    const usage = await h.request('GET', '/v1/admin/usage?month=2026-01', { token: root });
    assert.deepEqual(usage.json.usage.map((u: { owner: string }) => u.owner).sort(), ['alice@example.com', 'bob@example.com']);
  });

  it('force delete ends a lease and deletes its machine; a failing delete stays queued for the sweeper', async () => {
    await using h = await harness();
    const [alice, root] = [await h.userToken('alice'), await h.userToken('root')];
    const { json } = await h.request('POST', '/v1/leases', { token: alice, body: { sshPublicKey: PUBLIC_KEY } });
    h.provider.fail({ step: 'delete' });
    const res = await h.request('DELETE', `/v1/admin/leases/${json.lease.id}`, { token: root });
    assert.equal(res.status, 200);
    assert.equal(res.json.lease.state, 'released');
    assert.equal(h.provider.machines.size, 1);
    h.clock.advance(30_000);
    await sweep(h.deps);
    assert.equal(h.provider.machines.size, 0);
    assert.equal((await h.request('DELETE', `/v1/admin/leases/${json.lease.id}`, { token: root })).status, 200, 'idempotent');
  });

  it('a heartbeat that extends the idle timeout re-checks the spend caps; a plain heartbeat does not', async () => {
    await using h = await harness();
    const alice = await h.userToken('alice');
    const { json } = await h.request('POST', '/v1/leases', { token: alice, body: { sshPublicKey: PUBLIC_KEY, idleTimeoutSeconds: 600 } });
    // The cap was lowered (a restart with a new config) below what this lease already reserves.
    h.deps.config.caps.monthlySpend.owner = 0.1;
    const extend = await h.request('POST', `/v1/leases/${json.lease.id}/heartbeat`, { token: alice, body: { idleTimeoutSeconds: 1800 } });
    assert.equal(extend.status, 429);
    assert.match(extend.json.message, /owner monthly spend cap/);
    assert.equal((await h.request('POST', `/v1/leases/${json.lease.id}/heartbeat`, { token: alice })).status, 200);
  });
});

describe('admin: per-machine drain', () => {
  it('drain while assigned: the lease goes on, and the machine is deleted at the lease\'s release, not before', async () => {
    await using h = await harness();
    const [alice, root] = [await h.userToken('alice'), await h.userToken('root')];
    const { lease } = (await h.request('POST', '/v1/leases', { token: alice, body: { sshPublicKey: PUBLIC_KEY } })).json;
    const drained = await h.request('POST', `/v1/admin/machines/${lease.machineId}/drain`, { token: root });
    assert.equal(drained.status, 200, JSON.stringify(drained.json));
    assert.deepEqual([drained.json.machine.state, drained.json.machine.leaseId, drained.json.changed], ['draining', lease.id, true]);
    assert.equal(h.provider.machines.size, 1, 'not deleted while its lease is live');
    h.clock.advance(60_000);
    assert.equal((await h.request('POST', `/v1/leases/${lease.id}/heartbeat`, { token: alice })).status, 200, 'the lease goes on');
    await sweep(h.deps, { orphans: true });
    assert.equal(h.provider.machines.size, 1, 'the sweeper leaves a draining machine with a live lease alone');
    const again = await h.request('POST', `/v1/admin/machines/${lease.machineId}/drain`, { token: root });
    assert.deepEqual([again.status, again.json.machine.state, again.json.changed], [200, 'draining', false], 'drain is idempotent');
    assert.equal((await h.request('POST', `/v1/leases/${lease.id}/release`, { token: alice })).status, 200);
    assert.equal(h.provider.machines.size, 0, 'deleted once free');
    const machine = await h.request('GET', `/v1/admin/machines/${lease.machineId}`, { token: root });
    assert.deepEqual([machine.json.machine.state, machine.json.machine.stateReason], ['deleted', 'lease-released']);
    const events = (await h.request('GET', `/v1/admin/events?machineId=${lease.machineId}`, { token: root })).json.events.map((e: { type: string; actor: string }) => `${e.type}/${e.actor}`);
    assert.deepEqual(events, ['machine.deleted/alice@example.com', 'machine.sweep_skipped/sweeper', 'machine.drained/admin:root', 'machine.assigned/alice@example.com', 'machine.provisioned/alice@example.com']);
    const refused = await h.request('POST', '/v1/leases', { token: alice, body: { sshPublicKey: PUBLIC_KEY } });
    assert.equal(refused.status, 201, 'a drained machine does not drain the fleet');
  });

  it('drain of a free machine deletes it now; undrain brings a draining machine back and refuses a deleted one', async () => {
    await using h = await harness();
    const [alice, root] = [await h.userToken('alice'), await h.userToken('root')];
    // A free machine, as the warm pool will keep them: made for no lease, ready, idle.
    const now = h.clock.now();
    const idle = await h.store.createMachine({ id: 'mch_0000000000f1', provider: 'fake', pool: 'warm', createdAt: now });
    const { providerId } = await h.provider.create({ leaseId: 'cbx_0000000000f1', slug: 'x', labels: { crabbox: 'true' }, sshPublicKey: PUBLIC_KEY, hostKey: await generateHostKey('cbx_0000000000f1') });
    await h.store.machineReady(idle.id, { providerId, host: '127.0.0.1', ports: [22], adminUser: 'crabbox', workRoot: '/w', hostKey: 'k' }, now);
    const drained = await h.request('POST', `/v1/admin/machines/${idle.id}/drain`, { token: root });
    assert.deepEqual([drained.status, drained.json.machine.state, drained.json.machine.stateReason], [200, 'deleted', 'drained']);
    assert.equal(h.provider.machines.has(providerId), false);
    const refused = await h.request('POST', `/v1/admin/machines/${idle.id}/undrain`, { token: root });
    assert.deepEqual([refused.status, refused.json.error], [409, 'conflict']);
    assert.match(refused.json.message, /is deleted; it cannot be undrained/);

    const { lease } = (await h.request('POST', '/v1/leases', { token: alice, body: { sshPublicKey: PUBLIC_KEY } })).json;
    await h.request('POST', `/v1/admin/machines/${lease.machineId}/drain`, { token: root });
    const back = await h.request('POST', `/v1/admin/machines/${lease.machineId}/undrain`, { token: root });
    assert.deepEqual([back.status, back.json.machine.state, back.json.changed], [200, 'assigned', true]);
    const noop = await h.request('POST', `/v1/admin/machines/${lease.machineId}/undrain`, { token: root });
    assert.deepEqual([noop.status, noop.json.machine.state, noop.json.changed], [200, 'assigned', false]);
    assert.equal((await h.store.listEvents({ machineId: lease.machineId, type: 'machine.undrained' })).items.length, 1);
  });

  it('lists machines with state, age, lease and assignments, newest first and paginated; bad input is a 400, an unknown machine a 404', async () => {
    await using h = await harness();
    const [alice, root] = [await h.userToken('alice'), await h.userToken('root')];
    const leases = [];
    for (let i = 0; i < 3; i++) {
      leases.push((await h.request('POST', '/v1/leases', { token: alice, body: { sshPublicKey: PUBLIC_KEY } })).json.lease);
      h.clock.advance(60_000);
    }
    await h.request('POST', `/v1/leases/${leases[0].id}/release`, { token: alice });
    const first = await h.request('GET', '/v1/admin/machines?limit=1', { token: root });
    assert.equal(first.status, 200);
    assert.deepEqual(first.json.machines.map((m: { id: string }) => m.id), [leases[2].machineId]);
    const m = first.json.machines[0];
    assert.deepEqual([m.state, m.leaseId, m.assignments, m.ageSeconds, m.provider, m.host], ['assigned', leases[2].id, 1, 60, 'fake', '127.0.0.1']);
    const second = await h.request('GET', `/v1/admin/machines?limit=1&cursor=${first.json.nextCursor}`, { token: root });
    assert.deepEqual(second.json.machines.map((x: { id: string }) => x.id), [leases[1].machineId]);
    const live = await h.request('GET', '/v1/admin/machines', { token: root });
    assert.equal(live.json.machines.length, 2, 'the default is live machines');
    const all = await h.request('GET', '/v1/admin/machines?state=all', { token: root });
    assert.equal(all.json.machines.length, 3);
    const deleted = await h.request('GET', '/v1/admin/machines?state=deleted', { token: root });
    assert.deepEqual(deleted.json.machines.map((x: { id: string; deletion: { deletedAt: string } }) => [x.id, typeof x.deletion.deletedAt]), [[leases[0].machineId, 'string']]);
    for (const [path, pattern] of [
      ['/v1/admin/machines?state=sleeping', /state/],
      ['/v1/admin/machines/not-a-machine', /expected a machine id/],
      ['/v1/admin/machines/mch_../../etc', /expected a machine id|no route/],
    ] as const) {
      const bad = await h.request('GET', path, { token: root });
      assert.ok(bad.status === 400 || bad.status === 404, `${path}: ${bad.status}`);
      assert.match(bad.json.message, pattern);
    }
    const missing = await h.request('POST', '/v1/admin/machines/mch_ffffffffffff/drain', { token: root });
    assert.deepEqual([missing.status, missing.json.error], [404, 'not_found']);
  });
});

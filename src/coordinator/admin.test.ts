import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sweep } from './sweeper.ts';
import { harness, PUBLIC_KEY } from './testkit.ts';

describe('admin actions', () => {
  it('drain releases every live lease, refuses new ones until undrained, and records it all', async () => {
    const h = await harness();
    try {
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
    } finally {
      await h.close();
    }
  });

  it('force delete ends a lease and deletes its machine; a failing delete stays queued for the sweeper', async () => {
    const h = await harness();
    try {
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
    } finally {
      await h.close();
    }
  });

  it('a heartbeat that extends the idle timeout re-checks the spend caps; a plain heartbeat does not', async () => {
    const h = await harness();
    try {
      const alice = await h.userToken('alice');
      const { json } = await h.request('POST', '/v1/leases', { token: alice, body: { sshPublicKey: PUBLIC_KEY, idleTimeoutSeconds: 600 } });
      // The cap was lowered (a restart with a new config) below what this lease already reserves.
      h.deps.config.caps.monthlySpend.owner = 0.1;
      const extend = await h.request('POST', `/v1/leases/${json.lease.id}/heartbeat`, { token: alice, body: { idleTimeoutSeconds: 1800 } });
      assert.equal(extend.status, 429);
      assert.match(extend.json.message, /owner monthly spend cap/);
      assert.equal((await h.request('POST', `/v1/leases/${json.lease.id}/heartbeat`, { token: alice })).status, 200);
    } finally {
      await h.close();
    }
  });
});

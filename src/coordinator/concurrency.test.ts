import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ManualClock } from '../domain/clock.ts';
import { FakeProvider } from '../providers/fake/fake-provider.ts';
import { tempDir } from '../testing/tmp.ts';
import { harness, PUBLIC_KEY } from './testkit.ts';

describe('coordinator concurrency', () => {
  it('50 parallel creates against a cap of 10 yield exactly 10 leases; the rest are 429 naming the cap', async () => {
    await using h = await harness({ config: { caps: { activeLeases: { owner: 10 }, monthlySpend: {} } } });
    const token = await h.userToken('alice');
    const results = await Promise.all(Array.from({ length: 50 }, () => h.request('POST', '/v1/leases', { token, body: { sshPublicKey: PUBLIC_KEY } })));
    const statuses = results.map((r) => r.status);
    assert.equal(statuses.filter((s) => s === 201).length, 10);
    assert.equal(statuses.filter((s) => s === 429).length, 40);
    const refused = results.find((r) => r.status === 429)!;
    assert.equal(refused.json.error, 'cap_reached');
    assert.match(refused.json.message, /owner cap on active leases \(10\)/);
    assert.equal(h.provider.machines.size, 10);
    assert.equal(await h.store.countLiveLeases({ owner: 'alice@example.com' }), 10);
    const ids = new Set(results.filter((r) => r.status === 201).map((r) => r.json.lease.id));
    assert.equal(ids.size, 10);
  });

  it('two coordinators on one SQLite file still never pass the cap together', async () => {
    const dir = tempDir('crabbox-conc-');
    const path = join(dir.path, 'fleet.db');
    const clock = new ManualClock(Date.UTC(2026, 0, 15));
    const cloud = new FakeProvider();
    const config = { caps: { activeLeases: { global: 10 }, monthlySpend: {} } };
    const a = await harness({ path, clock, provider: cloud, config });
    const b = await harness({ path, clock, provider: cloud, config });
    try {
      const [ta, tb] = [await a.userToken('alice'), await b.userToken('bob')];
      const results = await Promise.all(Array.from({ length: 30 }, (_, i) => (i % 2 ? a : b).request('POST', '/v1/leases', { token: i % 2 ? ta : tb, body: { sshPublicKey: PUBLIC_KEY } })));
      assert.equal(results.filter((r) => r.status === 201).length, 10);
      assert.equal(cloud.machines.size, 10);
    } finally {
      await a.close();
      await b.close();
      dir.remove();
    }
  });

  it('20 parallel releases of one lease delete its machine exactly once, and all succeed', async () => {
    await using h = await harness();
    const token = await h.userToken('alice');
    const { json } = await h.request('POST', '/v1/leases', { token, body: { sshPublicKey: PUBLIC_KEY } });
    const providerId = [...h.provider.machines.keys()][0]!;
    const results = await Promise.all(Array.from({ length: 20 }, () => h.request('POST', `/v1/leases/${json.lease.id}/release`, { token })));
    assert.ok(results.every((r) => r.status === 200));
    assert.equal(h.provider.deletions(providerId), 1);
    assert.equal(h.provider.machines.size, 0);
    assert.equal((await h.store.listEvents({ leaseId: json.lease.id, type: 'lease.released' })).items.length, 1);
  });

  it('monthly spend caps count leases still live from last month and refuse with 429', async () => {
    await using h = await harness({ config: { caps: { activeLeases: {}, monthlySpend: { org: 2 } } } });
    h.clock.set(Date.UTC(2026, 0, 31, 23));
    const token = await h.userToken('alice', { expiresInSeconds: 86_400 });
    // 0.5 $/h x 2h = $1 each.
    assert.equal((await h.request('POST', '/v1/leases', { token, body: { sshPublicKey: PUBLIC_KEY, ttlSeconds: 7200 } })).status, 201);
    h.clock.set(Date.UTC(2026, 1, 1, 0, 10));
    assert.equal((await h.request('POST', '/v1/leases', { token, body: { sshPublicKey: PUBLIC_KEY, ttlSeconds: 7200 } })).status, 201);
    const third = await h.request('POST', '/v1/leases', { token, body: { sshPublicKey: PUBLIC_KEY, ttlSeconds: 7200 } });
    assert.equal(third.status, 429);
    assert.match(third.json.message, /org monthly spend cap/);
    const usage = await h.request('GET', '/v1/usage', { token });
    assert.equal(usage.json.caps.monthlySpend.org.limit, 2);
    assert.equal(usage.json.caps.monthlySpend.org.current, 2);
  });
});

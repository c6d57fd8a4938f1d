// Cloud faults as the coordinator meets them: the real Hetzner provider against the fake Hetzner Cloud API, on a
// manual clock (every retry wait and poll is on the injected clock, nothing sleeps). For each fault the user gets a
// clear answer, no lease is lost, and once the sweeps have run no server, key or firewall is left.
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { createApp } from '../../src/coordinator/app.ts';
import { coordinatorConfig } from '../../src/coordinator/config.ts';
import type { CoordinatorDeps } from '../../src/coordinator/deps.ts';
import { sweep } from '../../src/coordinator/sweeper.ts';
import { startFakeHetznerProvider, type FakeHetznerSetup } from '../../src/providers/hetzner/fake/harness.ts';
import type { RunningFakeHetzner } from '../../src/providers/hetzner/fake/serve.ts';
import { generateKeyPair } from '../../src/providers/hetzner/fake/keys.ts';
import { openSqliteStore } from '../../src/storage/sqlite.ts';
import { nodePeerAddress } from '../../src/coordinator/entry/node-peer.ts';

const TOKEN = 'provider-faults-token-0123456789abcdef';
const MIN = 60_000;

interface Fixture {
  fake: RunningFakeHetzner;
  clock: FakeHetznerSetup['clock'];
  deps: CoordinatorDeps;
  /** Every wait the provider and its client asked for (backoff, polls), in ms: on the injected clock, never real. */
  waits: number[];
  request(method: string, path: string, body?: unknown): Promise<{ status: number; json: any }>;
  create(): Promise<{ status: number; json: any }>;
  cloud(): string[];
  events(leaseId: string): Promise<string[]>;
  machineState(leaseId: string): Promise<string | undefined>;
}

async function fixture(t: TestContext, options: { attempts?: number; readyTimeoutMs?: number } = {}): Promise<Fixture> {
  // The provider, its client and the fake share one manual clock that jumps to each wait (main's harness).
  const setup = await startFakeHetznerProvider({ client: { attempts: options.attempts ?? 3 }, readyTimeoutMs: options.readyTimeoutMs ?? 5 * MIN });
  const { fake, clock } = setup;
  const store = await openSqliteStore({ path: ':memory:', now: clock.now() });
  const deps: CoordinatorDeps = { store, providers: { hetzner: setup.provider }, clock, config: coordinatorConfig({ installation: 'faults', defaultProvider: 'hetzner', auth: { sharedToken: TOKEN } }), hostKeys: async () => generateKeyPair('host'), peerAddress: nodePeerAddress };
  const app = createApp(deps);
  t.after(async () => {
    await store.close();
    await setup.close();
  });
  const request = async (method: string, path: string, body?: unknown) => {
    const res = await app.request(
      path,
      { method, headers: { authorization: `Bearer ${TOKEN}`, 'x-crabbox-owner': 'ada', 'content-type': 'application/json' }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) },
      { incoming: { socket: { remoteAddress: '198.51.100.7', remotePort: 50000, remoteFamily: 'IPv4' } } },
    );
    return { status: res.status, json: (await res.json()) as any };
  };
  return {
    fake, clock, deps, waits: setup.sleeps, request,
    create: () => request('POST', '/v1/leases', { sshPublicKey: generateKeyPair('lease').publicKey, ttlSeconds: 3600 }),
    cloud: () => setup.leftovers(),
    events: async (leaseId) => (await store.listEvents({ leaseId, limit: 100 })).items.map((e) => e.type).reverse(),
    machineState: async (leaseId) => {
      const lease = await store.getLease(leaseId);
      return lease?.machineId ? (await store.getMachine(lease.machineId))?.state : undefined;
    },
  };
}

/** The one lease in the store (the failed create's response carries no lease). */
async function onlyLease(f: Fixture): Promise<{ id: string; state: string }> {
  const leases = (await f.deps.store.listLeases({ limit: 10 })).items;
  assert.equal(leases.length, 1, 'exactly one lease on record');
  return leases[0]!;
}

describe('cloud provider faults through the coordinator (Hetzner provider, fake Hetzner API, manual clock)', () => {
  for (const [status, code] of [[503, 'unavailable'], [500, 'server_error'], [429, 'rate_limit_exceeded']] as const) {
    it(`create answered ${status} once: retried safely on the injected clock, one server, the lease is active`, async (t) => {
      const f = await fixture(t);
      f.fake.state.failNext({ method: 'POST', pathPrefix: '/servers', status, code });
      const res = await f.create();
      assert.equal(res.status, 201, JSON.stringify(res.json));
      assert.equal(res.json.lease.state, 'active');
      assert.equal(f.fake.state.servers.size, 1, 'no second server from the retry');
      assert.ok(f.waits.length > 0, 'the retry waited on the injected clock');
    });
  }

  // (A 429 is waited out, paced by the answer's RateLimit headers: rate limits end; see the test above.)
  for (const [status, code] of [[503, 'unavailable'], [500, 'server_error']] as const) {
    it(`create answered ${status} on every attempt: the user gets a one-line 502 that says to try again, the lease is failed, nothing is left at the cloud`, async (t) => {
      const f = await fixture(t);
      f.fake.state.failNext({ method: 'POST', pathPrefix: '/servers', status, code, times: 20 });
      const res = await f.create();
      assert.equal(res.status, 502, JSON.stringify(res.json));
      assert.equal(res.json.error, 'provider_error');
      assert.match(res.json.message, new RegExp(code));
      assert.match(res.json.hint, /try again/);
      assert.doesNotMatch(res.json.message, /\n/);
      const lease = await onlyLease(f);
      assert.equal(lease.state, 'failed');
      assert.deepEqual(f.cloud(), [], 'the key and firewall made before the server are removed');
      assert.ok((await f.events(lease.id)).includes('lease.failed'));
      f.fake.state.faults.errors.length = 0;
      assert.equal((await f.create()).status, 201, 'the next try works');
    });
  }

  it('create rate limited (429) twenty times in a row: waited out on the injected clock, the lease is active', async (t) => {
    const f = await fixture(t);
    f.fake.state.failNext({ method: 'POST', pathPrefix: '/servers', status: 429, code: 'rate_limit_exceeded', times: 20 });
    const res = await f.create();
    assert.equal(res.status, 201, JSON.stringify(res.json));
    assert.equal(f.fake.state.servers.size, 1);
    assert.ok(f.waits.length >= 20, `each 429 waited on the injected clock: ${f.waits.length} waits`);
  });

  it('release answered 429, then 503: the delete is retried on the injected clock within the release', async (t) => {
    const f = await fixture(t);
    const created = await f.create();
    assert.equal(created.status, 201);
    f.waits.length = 0;
    f.fake.state.failNext({ method: 'DELETE', pathPrefix: '/servers/', status: 429, code: 'rate_limit_exceeded' });
    f.fake.state.failNext({ method: 'DELETE', pathPrefix: '/servers/', status: 503, code: 'unavailable' });
    const released = await f.request('POST', `/v1/leases/${created.json.lease.id}/release`);
    assert.equal(released.status, 200);
    assert.ok(f.waits.length >= 2, `backoff waits on the injected clock: ${f.waits}`);
    assert.deepEqual(f.cloud(), []);
    assert.equal(await f.machineState(created.json.lease.id), 'deleted');
  });

  it('create times out (the server never gets an address): the user gets a timeout, server, key and firewall are deleted', async (t) => {
    const f = await fixture(t, { readyTimeoutMs: 5 * MIN });
    f.fake.state.faults.slowIp = true;
    const res = await f.create();
    assert.ok(res.status >= 500 && res.status < 600 && res.status !== 500, `status ${res.status}: ${JSON.stringify(res.json)}`);
    assert.match(res.json.message, /got no IPv4 address .*within 300s/);
    assert.ok(f.waits.reduce((a, b) => a + b, 0) >= 5 * MIN, 'waited the whole deadline on the injected clock');
    const lease = await onlyLease(f);
    assert.equal(lease.state, 'failed');
    assert.deepEqual(f.cloud(), []);
    assert.ok((await f.events(lease.id)).includes('lease.failed'));
  });

  it('delete answered 5xx: the release succeeds, the sweeper retries with backoff until the server, key and firewall are gone', async (t) => {
    const f = await fixture(t, { attempts: 1 });
    const created = await f.create();
    assert.equal(created.status, 201);
    f.fake.state.failNext({ method: 'DELETE', pathPrefix: '/servers/', status: 502, code: 'server_error', times: 2 });
    const released = await f.request('POST', `/v1/leases/${created.json.lease.id}/release`);
    assert.equal(released.status, 200, 'the user\'s release is done; the delete is queued');
    assert.equal(released.json.lease.state, 'released');
    assert.equal(f.fake.state.servers.size, 1);
    f.clock.advance(30_000);
    assert.equal((await sweep(f.deps)).deleteFailures, 1, 'the first retry fails too');
    f.clock.advance(60_000);
    assert.equal((await sweep(f.deps)).deleted, 1);
    assert.deepEqual(f.cloud(), []);
    const events = await f.events(created.json.lease.id);
    assert.deepEqual(events.filter((e) => e === 'provider.error' || e === 'machine.deleted'), ['provider.error', 'provider.error', 'machine.deleted']);
  });

  it('delete answered 404 (the server was deleted behind Crabbox\'s back): the release counts it as gone, the key and firewall go with the dangling sweep', async (t) => {
    const f = await fixture(t);
    const created = await f.create();
    assert.equal(created.status, 201);
    const server = [...f.fake.state.servers.values()][0]!;
    f.fake.state.servers.delete(server.id);
    for (const fw of f.fake.state.firewalls.values()) fw.applied_to = [];
    const released = await f.request('POST', `/v1/leases/${created.json.lease.id}/release`);
    assert.equal(released.status, 200);
    const record = await f.deps.store.getLease(created.json.lease.id);
    assert.deepEqual([record?.state, await f.machineState(created.json.lease.id)], ['released', 'deleted']);
    assert.ok(f.cloud().length > 0, 'its per-lease key and firewall outlive the server');
    f.clock.advance(31 * MIN);
    await sweep(f.deps, { orphans: true });
    assert.deepEqual(f.cloud(), []);
  });
});

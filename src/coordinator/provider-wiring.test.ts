import { describe, it, before, after } from 'node:test';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { ManualClock } from '../domain/clock.ts';
import { LABEL } from '../domain/labels.ts';
import { HetznerClient } from '../providers/hetzner/client.ts';
import { HetznerProvider } from '../providers/hetzner/provider.ts';
import { startFakeHetzner, type RunningFakeHetzner } from '../providers/hetzner/fake/serve.ts';
import { generateKeyPair } from '../providers/hetzner/fake/keys.ts';
import { openSqliteStore } from '../storage/sqlite.ts';
import type { FleetEvent, FleetStore } from '../storage/store.ts';
import { createApp } from './app.ts';
import { coordinatorConfig } from './config.ts';
import type { CoordinatorDeps } from './deps.ts';
import { createProviderEventSink } from './provider-events.ts';
import { sweep } from './sweeper.ts';
import { PUBLIC_KEY, SHARED_TOKEN, SESSION_SECRET } from './testkit.ts';
import { startCoordinator } from './entry/node.ts';
import { loadServeSettings } from './load-config.ts';
import { FakeProvider } from '../providers/fake/fake-provider.ts';
import { tempDir } from '../testing/tmp.ts';
import { nodePeerAddress } from './entry/node-peer.ts';

/**
 * The coordinator wired to the real Hetzner provider speaking to the fake Hetzner Cloud API: caller CIDRs reach the
 * firewall, provider fallbacks reach the audit trail, the launched type is recorded, and the sweeper removes
 * per-lease keys and firewalls whose server is gone, with an event per deletion and per skip.
 */
describe('coordinator + hetzner provider (fake Hetzner API)', () => {
  let fake: RunningFakeHetzner;
  let store: FleetStore;
  let deps: CoordinatorDeps;
  let app: ReturnType<typeof createApp>;
  const clock = new ManualClock(Date.UTC(2026, 3, 1, 12));
  const sink = createProviderEventSink();
  let stopClock = (): void => undefined;

  before(async () => {
    fake = await startFakeHetzner({ clock });
    stopClock = clock.autoAdvance(); // the fake's actions run on this clock; waits jump straight to their end
    const provider = new HetznerProvider({ client: new HetznerClient({ token: fake.token, baseUrl: fake.url, clock }), clock, locations: ['fsn1'], onEvent: sink.onEvent });
    store = await openSqliteStore({ path: ':memory:', now: clock.now() });
    const config = coordinatorConfig({ installation: 'wired-install', defaultProvider: 'hetzner', auth: { sharedToken: SHARED_TOKEN, sessionSecret: SESSION_SECRET, admins: ['root'] } });
    deps = { store, providers: { hetzner: provider }, clock, config, hostKeys: async () => generateKeyPair('host'), peerAddress: nodePeerAddress };
    app = createApp(deps);
    sink.attach({ store, clock });
  });
  after(async () => {
    stopClock();
    await store.close();
    await fake.close();
  });

  const create = async (body: Record<string, unknown>, remoteAddress = '::ffff:198.51.100.7') => {
    const res = await app.request(
      '/v1/leases',
      { method: 'POST', headers: { authorization: `Bearer ${SHARED_TOKEN}`, 'x-crabbox-owner': 'ada@example.com', 'content-type': 'application/json' }, body: JSON.stringify({ sshPublicKey: generateKeyPair('lease').publicKey, ttlSeconds: 7200, idleTimeoutSeconds: 7200, ...body }) },
      { incoming: { socket: { remoteAddress, remotePort: 50000, remoteFamily: 'IPv6' } } },
    );
    return { status: res.status, json: (await res.json()) as any };
  };
  const firewallSources = (leaseId: string): string[] => {
    const fw = [...fake.state.firewalls.values()].find((f) => f.labels[LABEL.lease] === leaseId);
    assert.ok(fw, `a firewall for ${leaseId}`);
    return [...new Set(fw.rules.flatMap((r) => r.source_ips))];
  };
  const events = async (type: string): Promise<FleetEvent[]> => (await store.listEvents({ type, limit: 500 })).items;

  it('opens SSH to the request source when the CLI sent no address, records the launched type and audits the capacity fallback', async () => {
    fake.state.faults.capacityTypes.add('ccx33');
    const res = await create({});
    fake.state.faults.capacityTypes.clear();
    assert.equal(res.status, 201, JSON.stringify(res.json));
    const lease = res.json.lease;
    assert.deepEqual(firewallSources(lease.id), ['198.51.100.7/32']);
    assert.equal(lease.type, 'cpx62', 'the type that actually launched, not the first of the class');
    assert.equal(lease.machine.type, 'cpx62');
    assert.equal(lease.machine.readyCommand, 'crabbox-ready', 'the CLI is told to wait for the bootstrap');
    assert.equal((await store.getLease(lease.id))?.machine?.type, 'cpx62');
    await sink.flush();
    const fallback = (await events('provider.fallback')).filter((e) => e.leaseId === lease.id);
    assert.equal(fallback.length, 1);
    assert.equal(fallback[0]!.data?.type, 'ccx33');
    assert.equal(fallback[0]!.actor, 'provider');
    assert.doesNotMatch(JSON.stringify(fallback[0]), new RegExp(fake.token), 'no token in the event');
  });

  it('prefers the address the CLI detected over the source address', async () => {
    const res = await create({ callerCidr: '203.0.113.9/32' });
    assert.equal(res.status, 201, JSON.stringify(res.json));
    assert.deepEqual(firewallSources(res.json.lease.id), ['203.0.113.9/32']);
  });

  it('refuses a world-open or malformed callerCidr with a 400 and creates nothing', async () => {
    const before = fake.state.servers.size;
    for (const bad of ['0.0.0.0/0', '::/0', '10.0.0.0/4', 'not-an-ip', '1.2.3.4/33', '1.2.3.4/32; rm -rf /']) {
      const res = await create({ callerCidr: bad });
      assert.equal(res.status, 400, bad);
      assert.match(res.json.message, /callerCidr/);
    }
    assert.equal(fake.state.servers.size, before);
  });

  it('sweeps keys and firewalls whose server is gone and audits every deletion and every skip with its reason', async () => {
    const gone = (await create({})).json.lease;
    const kept = (await create({})).json.lease;
    // An interrupted delete: the server vanished, its key and firewall stayed.
    const goneServer = [...fake.state.servers.values()].find((s) => s.labels[LABEL.lease] === gone.id)!;
    fake.state.servers.delete(goneServer.id);
    for (const fw of fake.state.firewalls.values()) fw.applied_to = fw.applied_to.filter((a) => fake.state.servers.has(a.server!.id));

    await sweep(deps, { orphans: true });
    const young = (await events('machine.sweep_skipped')).filter((e) => e.data?.leaseId === gone.id);
    assert.deepEqual(young.map((e) => e.data?.reason).sort(), ['dangling:too young (a create may be in progress)', 'dangling:too young (a create may be in progress)']);
    assert.ok([...fake.state.sshKeys.values()].some((k) => k.labels[LABEL.lease] === gone.id), 'young objects stay');

    clock.advance(31 * 60_000);
    const stats = await sweep(deps, { orphans: true });
    assert.equal(stats.danglingDeleted, 2);
    const deleted = (await events('machine.deleted')).filter((e) => e.data?.leaseId === gone.id);
    assert.deepEqual(deleted.map((e) => `${e.data?.object}:${e.data?.reason}`).sort(), ['firewall:dangling:server gone', 'ssh_key:dangling:server gone']);
    assert.ok(![...fake.state.sshKeys.values()].some((k) => k.labels[LABEL.lease] === gone.id));
    assert.ok(![...fake.state.firewalls.values()].some((f) => f.labels[LABEL.lease] === gone.id));
    assert.ok([...fake.state.sshKeys.values()].some((k) => k.labels[LABEL.lease] === kept.id), 'a live lease keeps its key');
    const skipped = (await events('machine.sweep_skipped')).filter((e) => e.data?.leaseId === kept.id).map((e) => e.data?.reason);
    assert.ok(skipped.includes('live'), `the live machine is a skipped candidate: ${skipped.join(', ')}`);
    assert.ok(skipped.includes('dangling:its server exists'));
  });
});

describe('coordinator on a real loopback socket: the source address fallback', () => {
  it('passes the TCP peer address as /32 when the CLI sent none', async () => {
    const dir = tempDir('crabbox-wiring-');
    const provider = new FakeProvider();
    const settings = loadServeSettings({ CRABBOX_SHARED_TOKEN: SHARED_TOKEN }, { port: 0, database: join(dir.path, 'c.sqlite') });
    settings.config.defaultProvider = 'fake';
    const running = await startCoordinator({ settings, providers: { fake: provider }, clock: new ManualClock(Date.UTC(2026, 3, 1)), hostKeys: async () => generateKeyPair('host') });
    try {
      const res = await fetch(`${running.url}/v1/leases`, { method: 'POST', headers: { authorization: `Bearer ${SHARED_TOKEN}`, 'x-crabbox-owner': 'ada@example.com', 'content-type': 'application/json' }, body: JSON.stringify({ sshPublicKey: PUBLIC_KEY }) });
      assert.equal(res.status, 201, await res.clone().text());
      assert.deepEqual(provider.specs[0]!.allowedCidrs, ['127.0.0.1/32']);
    } finally {
      await running.close();
      dir.remove();
    }
  });
});

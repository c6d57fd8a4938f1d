import { describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../domain/clock.ts';
import { LABEL, machineLabels, type Labels } from '../domain/labels.ts';
import { decideOrphan, type KnownFleet, type KnownLease, type KnownMachine } from './orphans.ts';
import { HetznerClient } from '../providers/hetzner/client.ts';
import { HetznerProvider } from '../providers/hetzner/provider.ts';
import { startFakeHetzner, type RunningFakeHetzner } from '../providers/hetzner/fake/serve.ts';
import { generateKeyPair } from '../providers/hetzner/fake/keys.ts';
import { baseSpec } from '../providers/provider.contract.ts';
import { newLeaseId } from '../domain/ids.ts';
import { createApp } from '../coordinator/app.ts';
import { coordinatorConfig } from '../coordinator/config.ts';
import type { CoordinatorDeps } from '../coordinator/deps.ts';
import { sweep } from '../coordinator/sweeper.ts';
import { SHARED_TOKEN } from '../coordinator/testkit.ts';
import { cleanupExpired } from '../leases/cleanup.ts';
import { openSqliteStore } from '../storage/sqlite.ts';
import type { FleetEvent } from '../storage/store.ts';
import { tempDir } from '../testing/tmp.ts';
import { nodePeerAddress } from '../coordinator/entry/node-peer.ts';

const NOW = Date.UTC(2026, 5, 1, 12);
const MIN = 60_000;
const INSTALL = 'coord-prod';

/** Lease labels as Crabbox writes them, `ageMin` minutes old, expiring `expiresInMin` from now. */
function labels(id: string, options: { ageMin: number; expiresInMin: number; state?: string; keep?: boolean; ttlMin?: number; installation?: string }): Labels {
  const s = (ms: number) => String(Math.floor(ms / 1000));
  return {
    [LABEL.marker]: 'true',
    [LABEL.lease]: id,
    [LABEL.slug]: 'blue-crab',
    [LABEL.owner]: 'alice',
    [LABEL.org]: 'acme',
    [LABEL.state]: options.state ?? 'active',
    [LABEL.keep]: options.keep ? 'true' : 'false',
    [LABEL.created]: s(NOW - options.ageMin * MIN),
    [LABEL.touched]: s(NOW - 5 * MIN),
    [LABEL.ttl]: String((options.ttlMin ?? 90) * 60),
    [LABEL.idle]: '1800',
    [LABEL.expires]: s(NOW + options.expiresInMin * MIN),
    [LABEL.installation]: options.installation ?? INSTALL,
  };
}

const id = (n: number) => `cbx_${n.toString(16).padStart(12, '0')}`;

describe('orphan decision', () => {
  const policy = { installation: INSTALL, now: NOW };
  const decide = (l: Labels, leases?: Map<string, KnownLease>) => decideOrphan({ providerId: '1', labels: l }, policy, leases);

  it('deletes expired and terminal leases, skips live ones', () => {
    assert.equal(decide(labels(id(1), { ageMin: 60, expiresInMin: -1 })).reason, 'expired');
    assert.equal(decide(labels(id(1), { ageMin: 60, expiresInMin: 10, state: 'released' })).reason, 'terminal');
    assert.deepEqual(decide(labels(id(1), { ageMin: 10, expiresInMin: 20 })).action, 'skip');
  });

  it('skips kept machines until their TTL cap, then deletes them', () => {
    assert.equal(decide(labels(id(1), { ageMin: 60, expiresInMin: -5, keep: true })).reason, 'kept');
    assert.equal(decide(labels(id(1), { ageMin: 100, expiresInMin: -5, keep: true })).reason, 'past-ttl-cap');
  });

  it('gives provisioning machines an extra stale window', () => {
    assert.equal(decide(labels(id(1), { ageMin: 40, expiresInMin: -5, state: 'provisioning' })).reason, 'within-stale-window');
    assert.equal(decide(labels(id(1), { ageMin: 60, expiresInMin: -15, state: 'provisioning' })).reason, 'expired');
  });

  it('never touches what the labels do not prove', () => {
    const good = labels(id(1), { ageMin: 600, expiresInMin: -500 });
    assert.equal(decide({}).reason, 'not-crabbox');
    assert.equal(decide({ ...good, [LABEL.lease]: 'cbx_nothex' }).reason, 'not-crabbox');
    assert.equal(decide({ ...good, [LABEL.expires]: 'soon' }).reason, 'not-crabbox');
    assert.equal(decide({ ...good, [LABEL.marker]: 'yes' }).reason, 'not-crabbox');
    assert.equal(decide({ ...good, [LABEL.installation]: 'someone-else' }).reason, 'other-installation');
    const noInstallation = { ...good };
    delete noInstallation[LABEL.installation];
    assert.equal(decide(noInstallation).reason, 'other-installation');
  });

  it('with a lease store: the record wins; unknown leases wait out the safety window', () => {
    const l = labels(id(7), { ageMin: 10, expiresInMin: 20 });
    const store = new Map<string, KnownLease>([[id(7), { id: id(7), state: 'released', keep: false, createdAt: NOW - 10 * MIN, ttlSeconds: 5400, expiresAt: NOW + 20 * MIN, lastTouchedAt: NOW }]]);
    assert.equal(decide(l, store).reason, 'terminal');
    assert.equal(decide(l, new Map()).reason, 'unknown-within-safety-window');
    assert.equal(decide(labels(id(7), { ageMin: 45, expiresInMin: 20 }), new Map()).reason, 'unknown-lease');
    // The provider's own creation time also counts: a back-dated label cannot shorten the window.
    assert.equal(decideOrphan({ providerId: '1', labels: labels(id(7), { ageMin: 45, expiresInMin: 20 }), createdAt: NOW - 5 * MIN }, policy, new Map()).reason, 'unknown-within-safety-window');
  });
});

describe('orphan decision with the machine store', () => {
  const policy = { installation: INSTALL, now: NOW };
  const mch = (n: number) => `mch_${n.toString(16).padStart(12, '0')}`;
  const fleet = (machines: KnownMachine[], leases: KnownLease[] = [], byProviderId: [string, KnownMachine][] = []): KnownFleet => ({
    leases: new Map(leases.map((l) => [l.id, l])), machines: new Map(machines.map((m) => [m.id, m])), machinesByProviderId: new Map(byProviderId),
  });
  const withMachine = (l: Labels, n: number): Labels => ({ ...l, [LABEL.machine]: mch(n) });
  const endedLease: KnownLease = { id: id(1), state: 'released', keep: false, createdAt: NOW - 600 * MIN, ttlSeconds: 5400, expiresAt: NOW - 500 * MIN, lastTouchedAt: NOW - 600 * MIN };

  it('a machine the store knows, in any state but deleted or failed, is never an orphan, whatever its lease labels say', () => {
    const expiredLabels = withMachine(labels(id(1), { ageMin: 600, expiresInMin: -500 }), 1);
    for (const state of ['provisioning', 'idle', 'assigned', 'scrubbing', 'draining', 'deleting'] as const) {
      const d = decideOrphan({ providerId: '1', labels: expiredLabels }, policy, fleet([{ id: mch(1), state }], [endedLease]));
      assert.deepEqual([d.action, d.reason, d.machineId], ['skip', 'known-machine', mch(1)], state);
    }
  });

  it('a machine the store recorded as gone that still exists is deleted', () => {
    for (const state of ['deleted', 'failed'] as const) {
      const d = decideOrphan({ providerId: '1', labels: withMachine(labels(id(1), { ageMin: 10, expiresInMin: 20 }), 1) }, policy, fleet([{ id: mch(1), state }]));
      assert.deepEqual([d.action, d.reason], ['delete', 'machine-gone'], state);
    }
  });

  it('a machine made before machines had labels is known by its provider id', () => {
    const d = decideOrphan({ providerId: '77', labels: labels(id(1), { ageMin: 600, expiresInMin: -500 }) }, policy, fleet([], [endedLease], [['77', { id: mch(9), state: 'deleting' }]]));
    assert.deepEqual([d.action, d.reason], ['skip', 'known-machine']);
  });

  it('a machine with only machine labels (a pool machine): unknown ones wait out the safety window, then go; direct mode never touches them', () => {
    const young = machineLabels({ machineId: mch(2), installation: INSTALL, createdAt: NOW - 10 * MIN });
    const old = machineLabels({ machineId: mch(2), installation: INSTALL, createdAt: NOW - 60 * MIN });
    assert.equal(decideOrphan({ providerId: '2', labels: young }, policy, fleet([])).reason, 'unknown-within-safety-window');
    assert.deepEqual([decideOrphan({ providerId: '2', labels: old }, policy, fleet([])).action, decideOrphan({ providerId: '2', labels: old }, policy, fleet([])).reason], ['delete', 'unknown-machine']);
    assert.equal(decideOrphan({ providerId: '2', labels: old, createdAt: NOW - 5 * MIN }, policy, fleet([])).reason, 'unknown-within-safety-window', 'the provider\'s creation time counts too');
    assert.equal(decideOrphan({ providerId: '2', labels: old }, policy, fleet([{ id: mch(2), state: 'idle' }])).reason, 'known-machine');
    assert.equal(decideOrphan({ providerId: '2', labels: old }, policy).reason, 'not-a-lease');
    assert.equal(decideOrphan({ providerId: '2', labels: { ...old, [LABEL.installation]: 'coord-staging' } }, policy, fleet([])).reason, 'other-installation');
    assert.equal(decideOrphan({ providerId: '2', labels: { ...old, [LABEL.machine]: 'mch_nothex' } }, policy, fleet([])).reason, 'not-crabbox');
  });
});

/**
 * The sweeps production runs, over the real Hetzner provider against the fake Hetzner Cloud API: the coordinator's
 * `sweep` (lease records plus the label sweep) and direct mode's `cleanupExpired` (labels are the only record).
 */
describe('orphan sweeps over a fake Hetzner account', () => {
  /** A fake Hetzner account of the test's own on a manual clock at NOW that jumps over the provider's waits. */
  async function account(t: TestContext): Promise<{ fake: RunningFakeHetzner; clock: ManualClock; provider: HetznerProvider }> {
    const clock = new ManualClock(NOW);
    const fake = await startFakeHetzner({ clock });
    const stop = clock.autoAdvance();
    t.after(async () => {
      stop();
      await fake.close();
    });
    const provider = new HetznerProvider({ client: new HetznerClient({ token: fake.token, baseUrl: fake.url, clock, attempts: 1 }), clock, locations: ['fsn1'] });
    return { fake, clock, provider };
  }

  /** A coordinator on its own store, with the Hetzner provider on the account's clock. */
  async function coordinator(t: TestContext): Promise<{ fake: RunningFakeHetzner; deps: CoordinatorDeps; clock: ManualClock; provider: HetznerProvider; create(body: Record<string, unknown>): Promise<{ id: string; providerId: string }>; events(): Promise<FleetEvent[]>; close(): Promise<void> }> {
    const { fake, clock, provider } = await account(t);
    const store = await openSqliteStore({ path: ':memory:', now: NOW });
    const config = coordinatorConfig({ installation: INSTALL, defaultProvider: 'hetzner', orphanSafetyWindowSeconds: 30 * 60, auth: { sharedToken: SHARED_TOKEN } });
    const deps: CoordinatorDeps = { store, providers: { hetzner: provider }, clock, config, hostKeys: async () => generateKeyPair('host'), peerAddress: nodePeerAddress };
    const app = createApp(deps);
    return {
      fake, deps, clock, provider,
      async create(body) {
        const res = await app.request(
          '/v1/leases',
          { method: 'POST', headers: { authorization: `Bearer ${SHARED_TOKEN}`, 'x-crabbox-owner': 'alice', 'content-type': 'application/json' }, body: JSON.stringify({ sshPublicKey: generateKeyPair('lease').publicKey, ...body }) },
          { incoming: { socket: { remoteAddress: '198.51.100.7', remotePort: 50000, remoteFamily: 'IPv4' } } },
        );
        const json = (await res.json()) as { lease: { id: string } };
        assert.equal(res.status, 201, JSON.stringify(json));
        const providerId = (await store.getLease(json.lease.id))?.machine?.providerId;
        assert.ok(providerId, 'the lease records its server');
        return { id: json.lease.id, providerId };
      },
      events: async () => (await store.listEvents({ limit: 500 })).items,
      close: () => store.close(),
    };
  }

  it('coordinator sweep: deletes exactly ours-expired and ours-unknown-and-old, and records every decision', async (t) => {
    const c = await coordinator(t);
    t.after(() => c.close());
    const s = c.fake.state;
    const expiring = await c.create({ ttlSeconds: 7200, idleTimeoutSeconds: 600 });
    const kept = await c.create({ ttlSeconds: 7200, idleTimeoutSeconds: 600, keep: true });
    const live = await c.create({ ttlSeconds: 7200, idleTimeoutSeconds: 7200 });
    const created = new Date(NOW - 120 * MIN).toISOString();
    const unknownOld = s.addServer({ name: 'crabbox-unknown', labels: labels(id(4), { ageMin: 60, expiresInMin: 20 }), created });
    const unlabeled = s.addServer({ name: 'web-1', labels: {}, created });
    const lookAlike = s.addServer({ name: 'crabbox-blue-crab-000000000005', labels: { crabbox: 'true', env: 'prod' }, created });
    const otherInstall = s.addServer({ name: 'crabbox-other', labels: labels(id(6), { ageMin: 600, expiresInMin: -500, installation: 'coord-staging' }), created });
    c.clock.advance(15 * MIN); // the expiring lease idled out; the kept and the live one did not

    const stats = await sweep(c.deps, { orphans: true });
    const remaining = new Set([...s.servers.keys()].map(String));
    assert.deepEqual([expiring.providerId, String(unknownOld.id)].filter((x) => remaining.has(x)), [], 'the expired lease\'s server and the unknown old one are deleted');
    for (const [name, pid] of [['kept', kept.providerId], ['live', live.providerId], ['unlabeled', unlabeled.id], ['look-alike', lookAlike.id], ['other installation', otherInstall.id]] as const) assert.ok(remaining.has(String(pid)), `${name} is left alone`);
    assert.deepEqual([stats.expired, stats.deleted, stats.orphansDeleted], [1, 1, 1]);
    assert.equal([...s.sshKeys.values()].some((k) => k.labels[LABEL.lease] === expiring.id), false, 'the expired lease\'s key goes with its server');

    const events = await c.events();
    const decisions = events.filter((e) => e.type === 'machine.deleted' || e.type === 'machine.sweep_skipped');
    const about = (pid: string | number) => decisions.filter((e) => e.providerId === String(pid)).map((e) => `${e.type}:${String(e.data?.reason ?? '')}`);
    assert.deepEqual(about(String(unknownOld.id)), ['machine.deleted:orphan:unknown-lease']);
    assert.deepEqual(about(kept.providerId), ['machine.sweep_skipped:live']);
    assert.deepEqual(about(live.providerId), ['machine.sweep_skipped:live']);
    assert.ok(events.some((e) => e.type === 'lease.expired' && e.leaseId === expiring.id), 'the expiry is recorded');
    assert.ok(events.some((e) => e.type === 'machine.deleted' && e.leaseId === expiring.id), 'the deletion is recorded');
    for (const pid of [unlabeled.id, lookAlike.id, otherInstall.id]) assert.deepEqual(events.filter((e) => e.providerId === String(pid)), [], 'machines the labels do not prove ours are never even listed');
  });

  it('a machine no lease record knows (a crash before the record, or a pruned record): the sweep waits out the safety window, then deletes server, key and firewall', async (t) => {
    const c = await coordinator(t);
    t.after(() => c.close());
    const s = c.fake.state;
    const leaseId = newLeaseId();
    const born = Math.floor(NOW / 1000);
    const spec = baseSpec(leaseId, { sshPublicKey: generateKeyPair('lease').publicKey, hostKey: generateKeyPair('host') }, { [LABEL.installation]: INSTALL, [LABEL.created]: String(born), [LABEL.touched]: String(born), [LABEL.expires]: String(born + 1800) });
    const machine = await c.provider.create({ ...spec, allowedCidrs: ['198.51.100.7/32'] });
    assert.equal(s.servers.size + s.sshKeys.size + s.firewalls.size, 3, 'a server, its key and its firewall');

    const early = await sweep(c.deps, { orphans: true });
    assert.deepEqual([early.orphansDeleted, early.orphansSkipped], [0, 1]);
    c.clock.advance(31 * MIN);
    const later = await sweep(c.deps, { orphans: true });
    assert.equal(later.orphansDeleted, 1);
    assert.equal(s.servers.size + s.sshKeys.size + s.firewalls.size, 0, 'server, key and firewall are all gone');
    const trail = (await c.events()).filter((e) => e.providerId === machine.providerId && (e.type === 'machine.deleted' || e.type === 'machine.sweep_skipped')).map((e) => `${e.type}:${String(e.data?.reason)}`).reverse();
    assert.deepEqual(trail, ['machine.sweep_skipped:unknown-within-safety-window', 'machine.deleted:orphan:unknown-lease']);
  });

  it('direct mode (labels only): cleanup deletes the expired one and keeps the rest; a failed delete does not stop the others, is reported and retried next time', async (t) => {
    const { fake, clock, provider } = await account(t);
    const s = fake.state;
    const state = tempDir('crabbox-orphans-direct-');
    t.after(() => state.remove());
    const mine = (n: number, o: Parameters<typeof labels>[1]) => ({ ...labels(id(n), o), [LABEL.owner]: 'alice', [LABEL.installation]: 'cli' });
    const failing = s.addServer({ name: 'crabbox-a', labels: mine(11, { ageMin: 60, expiresInMin: -10 }) });
    const expired = s.addServer({ name: 'crabbox-b', labels: mine(12, { ageMin: 60, expiresInMin: -10 }) });
    const live = s.addServer({ name: 'crabbox-c', labels: mine(13, { ageMin: 10, expiresInMin: 20 }) });
    const bobs = s.addServer({ name: 'crabbox-d', labels: { ...mine(14, { ageMin: 60, expiresInMin: -10 }), [LABEL.owner]: 'bob' } });
    s.failNext({ method: 'DELETE', pathPrefix: `/servers/${failing.id}`, status: 500, code: 'server_error', times: 1 });
    const base = { provider, clock, stateDir: state.path, owner: 'alice' };

    const first = await cleanupExpired(base);
    assert.deepEqual(first.failed.map((f) => f.id), [id(11)]);
    assert.match(first.failed[0]!.reason, /server_error/, 'the failure says why');
    assert.deepEqual(first.deleted.map((d) => d.id), [id(12)], 'the failure did not stop the next delete');
    assert.deepEqual(first.skipped.map((d) => [d.id, d.reason]), [[id(13), 'live']]);
    assert.ok(s.servers.has(failing.id) && !s.servers.has(expired.id));

    const second = await cleanupExpired(base);
    assert.deepEqual([second.deleted.map((d) => d.id), second.failed], [[id(11)], []]);
    assert.deepEqual([...s.servers.keys()].sort(), [live.id, bobs.id].sort(), 'only the live lease and another owner\'s machine are left');
  });
});

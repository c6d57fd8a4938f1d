import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { LABEL, machineLabels, type Labels } from '../domain/labels.ts';
import { decideOrphan, type KnownFleet, type KnownLease, type KnownMachine } from './orphans.ts';
import { sweepOrphans, type SweepEvent } from './sweep-orphans.ts';
import { HetznerClient } from '../providers/hetzner/client.ts';
import { HetznerProvider } from '../providers/hetzner/provider.ts';
import { startFakeHetzner, type RunningFakeHetzner } from '../providers/hetzner/fake/serve.ts';
import { generateKeyPair } from '../providers/hetzner/fake/keys.ts';
import { baseSpec } from '../providers/provider.contract.ts';
import { newLeaseId } from '../domain/ids.ts';

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

describe('orphan sweep over a fake Hetzner account', () => {
  let fake: RunningFakeHetzner;
  let provider: HetznerProvider;
  before(async () => {
    fake = await startFakeHetzner();
    provider = new HetznerProvider({ client: new HetznerClient({ token: fake.token, baseUrl: fake.url }) });
  });
  after(() => fake.close());

  it('deletes exactly ours-expired and ours-unknown-and-old, and records every decision', async () => {
    const s = fake.state;
    s.servers.clear();
    const created = new Date(NOW - 120 * MIN).toISOString();
    const expired = s.addServer({ name: 'crabbox-expired', labels: labels(id(1), { ageMin: 60, expiresInMin: -10 }), created });
    const kept = s.addServer({ name: 'crabbox-kept', labels: labels(id(2), { ageMin: 60, expiresInMin: -10, keep: true }), created });
    const live = s.addServer({ name: 'crabbox-live', labels: labels(id(3), { ageMin: 10, expiresInMin: 20 }), created });
    const unknownOld = s.addServer({ name: 'crabbox-unknown', labels: labels(id(4), { ageMin: 60, expiresInMin: 20 }), created });
    const unlabeled = s.addServer({ name: 'web-1', labels: {}, created });
    const lookAlike = s.addServer({ name: 'crabbox-blue-crab-000000000005', labels: { crabbox: 'true', env: 'prod' }, created });
    const otherInstall = s.addServer({ name: 'crabbox-other', labels: labels(id(6), { ageMin: 600, expiresInMin: -500, installation: 'coord-staging' }), created });
    const leases = new Map<string, KnownLease>(
      [1, 2, 3].map((n) => {
        const l = labels(id(n), { ageMin: n === 3 ? 10 : 60, expiresInMin: n === 3 ? 20 : -10, keep: n === 2 });
        return [id(n), { id: id(n), state: 'active', keep: n === 2, createdAt: Number(l[LABEL.created]) * 1000, ttlSeconds: 5400, expiresAt: Number(l[LABEL.expires]) * 1000, lastTouchedAt: NOW - 5 * MIN }];
      }),
    );
    const events: SweepEvent[] = [];
    const result = await sweepOrphans({ provider, policy: { installation: INSTALL, now: NOW }, leases, onEvent: (e) => void events.push(e) });

    const remaining = new Set([...s.servers.keys()]);
    assert.deepEqual([expired.id, unknownOld.id].filter((x) => remaining.has(x)), [], 'the orphans are deleted');
    for (const keep of [kept, live, unlabeled, lookAlike, otherInstall]) assert.ok(remaining.has(keep.id), `${keep.name} is left alone`);
    assert.deepEqual(result.deleted.map((d) => [d.leaseId, d.reason]).sort(), [[id(1), 'expired'], [id(4), 'unknown-lease']]);
    const byServer = new Map(events.map((e) => [e.providerId, e]));
    assert.equal(byServer.get(String(kept.id))?.reason, 'kept');
    assert.equal(byServer.get(String(live.id))?.reason, 'live');
    assert.equal(byServer.get(String(lookAlike.id))?.reason, 'not-crabbox');
    assert.equal(byServer.get(String(otherInstall.id))?.reason, 'other-installation');
    assert.equal(byServer.has(String(unlabeled.id)), false, 'unlabelled machines are never even listed');
    assert.equal(events.filter((e) => e.type === 'machine.deleted').length, 2);
  });

  it('direct mode (labels only) deletes the expired one and keeps the rest; a failed delete is reported and retried next time', async () => {
    const s = fake.state;
    s.servers.clear();
    const expired = s.addServer({ name: 'crabbox-a', labels: labels(id(11), { ageMin: 60, expiresInMin: -10 }) });
    const live = s.addServer({ name: 'crabbox-b', labels: labels(id(12), { ageMin: 10, expiresInMin: 20 }) });
    s.failNext({ method: 'DELETE', pathPrefix: `/servers/${expired.id}`, status: 500, code: 'server_error', times: 3 });
    const flaky = new HetznerProvider({ client: new HetznerClient({ token: fake.token, baseUrl: fake.url, attempts: 1 }) });
    const first = await sweepOrphans({ provider: flaky, policy: { installation: INSTALL, now: NOW } });
    assert.equal(first.failed.length, 1);
    assert.ok(s.servers.has(expired.id));
    s.faults.errors.length = 0;
    const second = await sweepOrphans({ provider: flaky, policy: { installation: INSTALL, now: NOW } });
    assert.deepEqual(second.deleted.map((d) => d.leaseId), [id(11)]);
    assert.deepEqual([...s.servers.keys()], [live.id]);
  });

  it('a coordinator that dies right after the provider create: the next sweep finds and deletes the server, key and firewall', async () => {
    const s = fake.state;
    s.servers.clear();
    const leaseId = newLeaseId();
    const spec = baseSpec(leaseId, { sshPublicKey: generateKeyPair().publicKey, hostKey: generateKeyPair() }, { [LABEL.installation]: INSTALL });
    // The create succeeds and the id is handed over, but the process dies before the lease record is written.
    await provider.create(spec, { onProviderId: () => void 0 });
    const events: SweepEvent[] = [];
    const early = await sweepOrphans({ provider, policy: { installation: INSTALL, now: Date.now() }, leases: new Map(), onEvent: (e) => void events.push(e) });
    assert.deepEqual(early.skipped.map((d) => d.reason), ['unknown-within-safety-window']);
    const later = await sweepOrphans({ provider, policy: { installation: INSTALL, now: Date.now() + 31 * MIN }, leases: new Map(), onEvent: (e) => void events.push(e) });
    assert.deepEqual(later.deleted.map((d) => [d.leaseId, d.reason]), [[leaseId, 'unknown-lease']]);
    assert.equal(s.servers.size + s.sshKeys.size + s.firewalls.size, 0, 'server, key and firewall are all gone');
    assert.deepEqual(events.map((e) => [e.type, e.reason]), [['machine.sweep_skipped', 'unknown-within-safety-window'], ['machine.deleted', 'unknown-lease']]);
  });
});

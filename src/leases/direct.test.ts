import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { FakeProvider } from '../providers/fake/fake-provider.ts';
import { ManualClock } from '../domain/clock.ts';
import { isCrabboxError } from '../domain/errors.ts';
import { baseSlug, newLeaseId } from '../domain/ids.ts';
import { tempDir } from '../testing/tmp.ts';
import { createDirectLeaseService } from './direct.ts';
import { cleanupExpired } from './cleanup.ts';
import { sweepIfDue } from './sweep.ts';
import { leaseKeyDir } from '../ssh/index.ts';
import { readIndexEntry } from './lease-index.ts';

const MIN = 60_000;

function setup(overrides: { ttl?: number; idle?: number; keep?: boolean; coordinator?: boolean; ids?: string[]; notReady?: Error } = {}) {
  const dir = tempDir();
  const provider = new FakeProvider();
  const clock = new ManualClock(Date.UTC(2026, 0, 1));
  /** What the readiness probe saw when it ran: the target, the machine's lease state then, and the pinned host key. */
  const ready: string[] = [];
  const atReadiness: { state: string | undefined; pinned: string }[] = [];
  const config = {
    owner: 'Alice@example.com',
    org: 'local',
    lease: { ttlSeconds: overrides.ttl ?? 5400, idleTimeoutSeconds: overrides.idle ?? 1800, keep: overrides.keep ?? false },
    ssh: { port: 2222, fallbackPorts: [22], connectTimeoutSeconds: 5 },
    paths: { userConfig: join(dir.path, 'config.yaml'), stateDir: dir.path },
    coordinator: overrides.coordinator ? { url: 'https://coord.example', tokenKind: 'shared' as const } : undefined,
  };
  const ids = overrides.ids ? [...overrides.ids] : undefined;
  const waitReady = async (target: { host: string; knownHostsFile: string }): Promise<void> => {
    ready.push(target.host);
    const machine = [...provider.machines.values()].at(-1);
    atReadiness.push({ state: machine?.labels['crabbox-state'], pinned: existsSync(target.knownHostsFile) ? readFileSync(target.knownHostsFile, 'utf8') : '' });
    if (overrides.notReady) throw overrides.notReady;
  };
  const leases = createDirectLeaseService({ config, provider, clock, waitReady, newId: ids ? () => ids.shift()! : undefined });
  return { dir, provider, clock, leases, ready, atReadiness, config };
}

const code = (error: unknown): string => (isCrabboxError(error) ? error.code : String(error));

describe('direct lease service', () => {
  const made: { remove(): void }[] = [];
  after(() => made.forEach((d) => d.remove()));
  const fresh = (o?: Parameters<typeof setup>[0]) => {
    const s = setup(o);
    made.push(s.dir);
    return s;
  };

  it('creates a lease with keys, a pinned known_hosts and active labels, after proving readiness', async () => {
    const { leases, dir, ready, atReadiness, clock, provider } = fresh();
    const { lease, target, fresh: isFresh } = await leases.create();
    assert.equal(isFresh, true);
    assert.equal(lease.state, 'active');
    assert.equal(lease.slug, baseSlug(lease.id));
    assert.equal(lease.expiresAt, clock.now() + 30 * MIN);
    assert.deepEqual(ready, ['127.0.0.1']);
    // Readiness was asked for while the machine still said provisioning, over the pinned host key; active came after.
    const machine = provider.machines.get(lease.machine!.providerId)!;
    assert.deepEqual(atReadiness, [{ state: 'provisioning', pinned: readFileSync(target.knownHostsFile, 'utf8') }]);
    assert.match(atReadiness[0]!.pinned, new RegExp(machine.hostKey.split(' ')[1]!.replace(/[+/]/g, '\\$&')));
    assert.equal(machine.labels['crabbox-state'], 'active');
    assert.ok(existsSync(target.identityFile));
    assert.ok(existsSync(target.knownHostsFile));
    assert.equal(target.knownHostsFile, join(leaseKeyDir(dir.path, lease.id), 'known_hosts'));
    assert.equal((await leases.resolve(lease.slug)).id, lease.id);
    assert.equal((await leases.resolve(lease.id.toUpperCase())).id, lease.id);
    // One machine per lease, named beside the lease labels; a touch rewrites the labels and keeps it.
    const labels = [...provider.machines.values()][0]!.labels;
    assert.match(labels['crabbox-machine'] ?? '', /^mch_[0-9a-f]{12}$/);
    assert.equal(lease.machineId, labels['crabbox-machine']);
    clock.advance(MIN);
    await leases.touch(lease.id);
    assert.equal([...provider.machines.values()][0]!.labels['crabbox-machine'], lease.machineId);
  });

  it('gives a second lease with the same base slug a suffixed slug', async () => {
    const first = newLeaseId();
    let second = newLeaseId();
    while (baseSlug(second) !== baseSlug(first) || second === first) second = newLeaseId();
    const { leases } = fresh({ ids: [first, second] });
    const a = await leases.create();
    const b = await leases.create();
    assert.equal(a.lease.slug, baseSlug(first));
    assert.match(b.lease.slug, new RegExp(`^${baseSlug(first)}-[0-9a-f]{4}$`));
    assert.equal((await leases.resolve(b.lease.slug)).id, second);
  });

  it('touch moves the idle deadline but never past the TTL cap, and is refused once expired', async () => {
    const { leases, clock } = fresh({ ttl: 3600, idle: 1800 });
    const { lease } = await leases.create();
    clock.advance(20 * MIN);
    assert.equal((await leases.touch(lease.id)).expiresAt, clock.now() + 30 * MIN);
    clock.advance(25 * MIN);
    assert.equal((await leases.touch(lease.slug)).expiresAt, lease.createdAt + 60 * MIN, 'capped at created + ttl');
    clock.advance(16 * MIN);
    await assert.rejects(leases.touch(lease.id), (e) => code(e) === 'lease_expired');
  });

  it('release is idempotent: an already-gone id or a slug it released is success, an unknown slug is not found', async () => {
    const { leases, provider, dir } = setup();
    after(() => dir.remove());
    const { lease } = await leases.create();
    assert.deepEqual(await leases.release(lease.id), { leaseId: lease.id, slug: lease.slug, result: 'released' });
    assert.equal(provider.machines.size, 0);
    assert.ok(!existsSync(leaseKeyDir(dir.path, lease.id)));
    assert.equal((await leases.release(lease.id)).result, 'already-gone');
    assert.deepEqual(await leases.release(lease.slug), { leaseId: lease.id, slug: lease.slug, result: 'already-gone' });
    await assert.rejects(leases.release('missing-otter'), (e) => code(e) === 'lease_not_found');
    await assert.rejects(leases.resolve('cbx_000000000000'), (e) => code(e) === 'lease_not_found');
    await assert.rejects(leases.resolve('../x'), (e) => code(e) === 'bad_request');
  });

  it('a box that never proves ready is never active: the create fails, machine and keys are removed', async () => {
    const { leases, provider, dir, atReadiness } = fresh({ notReady: new Error('ssh never answered') });
    await assert.rejects(leases.create(), /ssh never answered/);
    assert.deepEqual(atReadiness.map((r) => r.state), ['provisioning']);
    assert.equal(provider.machines.size, 0);
    assert.equal(provider.calls.some((c) => c.op === 'setLabels'), false, 'the labels never said active');
    assert.deepEqual(readdirSync(join(dir.path, 'leases')), []);
  });

  it('a failed create removes the machine and the keys', async () => {
    const { leases, provider, dir } = fresh();
    provider.fail({ step: 'setLabels' });
    await assert.rejects(leases.create());
    assert.equal(provider.machines.size, 0);
    assert.deepEqual(await import('node:fs').then((fs) => fs.readdirSync(join(dir.path, 'leases'))), []);
  });

  it('acquire by ref touches the existing lease instead of creating one', async () => {
    const { leases, provider, clock } = fresh();
    const { lease } = await leases.create();
    clock.advance(10 * MIN);
    const again = await leases.acquire(lease.slug);
    assert.equal(again.fresh, false);
    assert.equal(again.lease.lastTouchedAt, clock.now());
    assert.equal(provider.machines.size, 1);
  });
});

describe('direct cleanup and sweep', () => {
  const made: { remove(): void }[] = [];
  after(() => made.forEach((d) => d.remove()));

  it('deletes expired leases, keeps live and kept ones until their cap, and honours --dry-run', async () => {
    const s = setup();
    made.push(s.dir);
    const live = await s.leases.create();
    const expiring = await s.leases.create();
    const kept = await s.leases.create({ keep: true });
    s.clock.advance(25 * MIN);
    await s.leases.touch(live.lease.id);
    s.clock.advance(10 * MIN); // expiring: idle 30m passed; live: touched 10m ago
    const base = { provider: s.provider, clock: s.clock, stateDir: s.dir.path, owner: s.config.owner };
    const dry = await cleanupExpired({ ...base, dryRun: true });
    assert.deepEqual(dry.deleted.map((d) => d.id).sort(), [expiring.lease.id]);
    assert.equal(s.provider.machines.size, 3, 'dry run deletes nothing');
    const real = await cleanupExpired(base);
    assert.deepEqual(real.deleted.map((d) => [d.id, d.reason]), [[expiring.lease.id, 'expired']]);
    assert.deepEqual(real.skipped.map((d) => d.reason).sort(), ['kept', 'live']);
    assert.ok(!existsSync(leaseKeyDir(s.dir.path, expiring.lease.id)));
    s.clock.advance(60 * MIN); // past the 90m TTL cap of the kept lease
    const later = await cleanupExpired(base);
    assert.deepEqual(later.deleted.map((d) => d.id).sort(), [live.lease.id, kept.lease.id].sort());
  });

  it('never touches machines of another owner or without full lease labels', async () => {
    const s = setup();
    made.push(s.dir);
    await s.leases.create();
    const machine = [...s.provider.machines.values()][0]!;
    machine.labels['crabbox-owner'] = 'bob';
    s.clock.advance(24 * 60 * MIN);
    const report = await cleanupExpired({ provider: s.provider, clock: s.clock, stateDir: s.dir.path, owner: s.config.owner });
    assert.deepEqual([report.deleted, report.skipped, report.failed], [[], [], []], 'not even considered');
    assert.equal(s.provider.machines.size, 1);
  });

  it('removes orphaned key dirs only after the stale window', async () => {
    const s = setup();
    made.push(s.dir);
    const { lease } = await s.leases.create();
    s.provider.machines.clear(); // as if the machine vanished and only keys are left
    const keyDir = leaseKeyDir(s.dir.path, lease.id);
    utimesSync(keyDir, new Date(s.clock.now()), new Date(s.clock.now()));
    const base = { provider: s.provider, clock: s.clock, stateDir: s.dir.path, owner: s.config.owner };
    assert.deepEqual((await cleanupExpired(base)).orphanKeys, []);
    s.clock.advance(11 * MIN);
    assert.deepEqual((await cleanupExpired(base)).orphanKeys, [lease.id]);
    assert.ok(!existsSync(keyDir));
  });

  it('refuses when a coordinator is configured; the sweep then does nothing', async () => {
    const s = setup({ coordinator: true });
    made.push(s.dir);
    const base = { provider: s.provider, clock: s.clock, stateDir: s.dir.path, owner: s.config.owner, coordinator: s.config.coordinator };
    await assert.rejects(cleanupExpired(base), (e) => code(e) === 'bad_request');
    assert.equal(await sweepIfDue(base), undefined);
  });

  it('sweeps at most once a minute', async () => {
    const s = setup();
    made.push(s.dir);
    const base = { provider: s.provider, clock: s.clock, stateDir: s.dir.path, owner: s.config.owner };
    assert.ok(await sweepIfDue(base));
    s.clock.advance(30_000);
    assert.equal(await sweepIfDue(base), undefined);
    s.clock.advance(31_000);
    assert.ok(await sweepIfDue(base));
  });

  it('indexes a new lease and resolves it by id and by slug with one provider.get, never a list', async () => {
    const { leases, provider, dir } = setup();
    after(() => dir.remove());
    const { lease } = await leases.create();
    const entry = await readIndexEntry(dir.path, lease.id);
    assert.equal(entry?.provider, provider.name);
    assert.equal(entry?.providerId, lease.machine?.providerId);
    for (const ref of [lease.id, lease.slug]) {
      provider.calls.length = 0;
      assert.equal((await leases.resolve(ref)).id, lease.id);
      assert.deepEqual(provider.calls.map((c) => c.op), ['get'], ref);
    }
    await leases.release(lease.id);
    assert.equal(await readIndexEntry(dir.path, lease.id), undefined, 'release removes the index entry with the keys');
    // What is left is its tombstone: the lease, ended, without a machine.
    const ended = await leases.resolve(lease.id);
    assert.deepEqual([ended.state, ended.machine], ['released', undefined]);
    await assert.rejects(leases.touch(lease.id), (e) => code(e) === 'lease_not_active');
  });

  it('acquires a lease touched here moments ago with no provider call; a tenth of the idle timeout later it touches it', async () => {
    const { leases, provider, clock, dir } = setup({ idle: 600 });
    after(() => dir.remove());
    const { lease } = await leases.create();
    const before = provider.calls.length;
    for (const ref of [lease.id, lease.slug]) {
      const handle = await leases.acquire(ref);
      assert.equal(handle.recent, true);
      assert.equal(handle.lease.id, lease.id);
      assert.equal(handle.lease.machine?.host, lease.machine?.host);
    }
    assert.deepEqual(provider.calls.slice(before), [], 'no get, no setLabels');
    clock.advance(MIN);
    const later = await leases.acquire(lease.slug);
    assert.equal(later.recent, undefined);
    assert.deepEqual(provider.calls.slice(before).map((c) => c.op), ['get', 'setLabels']);
    assert.equal(later.lease.lastTouchedAt, clock.now());
    // Touched again: the next acquire within the minute asks nothing.
    assert.equal((await leases.acquire(lease.id)).recent, true);
    assert.equal(provider.calls.slice(before).length, 2);
  });
});

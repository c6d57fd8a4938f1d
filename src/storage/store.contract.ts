import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FleetStore, NewLease } from './store.ts';

/** Makes a fresh, empty, migrated store; `reopen` (when given) opens the same data again, as after a restart. */
export interface StoreFactory {
  make(): Promise<{ store: FleetStore; reopen?: () => Promise<FleetStore>; cleanup?: () => Promise<void> | void }>;
}

const T0 = Date.UTC(2026, 0, 15, 12);
const HOUR = 3_600_000;
let counter = 0;

/** A provisioning lease with sensible defaults. */
export function newLease(overrides: Partial<NewLease> = {}): NewLease {
  counter++;
  const id = `cbx_${counter.toString(16).padStart(12, '0')}`;
  return {
    id, slug: `blue-crab-${counter.toString(16).padStart(4, '0').slice(-4)}`, owner: 'alice', org: 'acme', provider: 'fake', keep: false,
    ttlSeconds: 5400, idleTimeoutSeconds: 1800, createdAt: T0, expiresAt: T0 + 1800_000, idempotencyKey: `key-${id}`, hourlyPrice: 0.1,
    reservedCost: 0.15, ...overrides,
  };
}

const machine = (providerId: string) => ({ provider: 'fake', providerId, host: '127.0.0.1', ports: [2222, 22], sshUser: 'crabbox', workRoot: '/work/crabbox', hostKey: 'ssh-ed25519 AAAAhost', type: 'small' });

async function withStore(factory: StoreFactory, fn: (store: FleetStore, reopen?: () => Promise<FleetStore>) => Promise<void>): Promise<void> {
  const { store, reopen, cleanup } = await factory.make();
  try {
    await fn(store, reopen);
  } finally {
    await store.close().catch(() => {});
    await cleanup?.();
  }
}

/** The behaviour every FleetStore backend must show. Call it from each backend's test file. */
export function runStoreContract(name: string, factory: StoreFactory): void {
  const test = (title: string, fn: (store: FleetStore, reopen?: () => Promise<FleetStore>) => Promise<void>) => it(title, () => withStore(factory, fn));

  describe(`FleetStore contract: ${name}`, () => {
    test('creates a provisioning lease once per owner and idempotency key', async (store) => {
      const input = newLease();
      const first = await store.createLease(input);
      assert.equal(first.created, true);
      assert.equal(first.lease.state, 'provisioning');
      assert.equal(first.lease.cleanup.state, 'none');
      const again = await store.createLease({ ...newLease(), idempotencyKey: input.idempotencyKey });
      assert.equal(again.created, false);
      assert.equal(again.lease.id, input.id);
      const otherOwner = await store.createLease({ ...newLease(), owner: 'bob', idempotencyKey: input.idempotencyKey });
      assert.equal(otherOwner.created, true);
    });

    test('records the provider id, then activates with the machine exactly once', async (store) => {
      const { lease } = await store.createLease(newLease());
      await store.setProviderId(lease.id, 'p-1');
      assert.equal((await store.getLease(lease.id))?.providerId, 'p-1');
      assert.equal((await store.getLease(lease.id))?.machine, undefined);
      const active = await store.activateLease(lease.id, machine('p-1'));
      assert.equal(active?.state, 'active');
      assert.deepEqual(active?.machine?.ports, [2222, 22]);
      assert.equal(active?.machine?.hostKey, 'ssh-ed25519 AAAAhost');
      assert.equal(await store.activateLease(lease.id, machine('p-1')), undefined);
      assert.equal((await store.getLeaseByProviderId('fake', 'p-1'))?.id, lease.id);
    });

    test('transitions are conditional: exactly one of two racing releases wins', async (store) => {
      const { lease } = await store.createLease(newLease());
      await store.setProviderId(lease.id, 'p-2');
      await store.activateLease(lease.id, machine('p-2'));
      const results = await Promise.all([1, 2, 3].map(() => store.transitionLease(lease.id, ['active', 'provisioning'], 'released', { now: T0 + 5, queueCleanup: true, reason: 'user' })));
      assert.equal(results.filter(Boolean).length, 1);
      const released = await store.getLease(lease.id);
      assert.equal(released?.state, 'released');
      assert.equal(released?.endedAt, T0 + 5);
      assert.equal(released?.endReason, 'user');
      assert.equal(released?.cleanup.state, 'pending');
      assert.equal(await store.touchLease(lease.id, { lastTouchedAt: T0 + 6, idleTimeoutSeconds: 60, expiresAt: T0 + 60_006 }), undefined);
    });

    test('a lease without a provider id is not queued for cleanup', async (store) => {
      const { lease } = await store.createLease(newLease());
      const failed = await store.transitionLease(lease.id, ['provisioning'], 'failed', { now: T0, queueCleanup: true });
      assert.equal(failed?.cleanup.state, 'none');
      assert.deepEqual(await store.cleanupQueue(T0 + HOUR, 10), []);
    });

    test('touch moves the expiry of live leases and records when a heartbeat was logged', async (store) => {
      const { lease } = await store.createLease(newLease());
      const touched = await store.touchLease(lease.id, { lastTouchedAt: T0 + 1000, idleTimeoutSeconds: 600, expiresAt: T0 + 601_000, heartbeatLoggedAt: T0 + 1000 });
      assert.equal(touched?.expiresAt, T0 + 601_000);
      assert.equal(touched?.idleTimeoutSeconds, 600);
      assert.equal(touched?.heartbeatLoggedAt, T0 + 1000);
      const again = await store.touchLease(lease.id, { lastTouchedAt: T0 + 2000, idleTimeoutSeconds: 600, expiresAt: T0 + 602_000 });
      assert.equal(again?.heartbeatLoggedAt, T0 + 1000);
    });

    test('finds leases due for expiry, oldest deadline first, bounded by limit', async (store) => {
      for (const offset of [3, 1, 2, 10]) await store.createLease(newLease({ expiresAt: T0 + offset * 1000 }));
      const due = await store.leasesDueForExpiry(T0 + 5000, 2);
      assert.deepEqual(due.map((l) => l.expiresAt), [T0 + 1000, T0 + 2000]);
      assert.equal((await store.leasesDueForExpiry(T0 + 5000, 10)).length, 3);
      assert.equal(await store.nextDueAt(), T0 + 1000);
    });

    test('finds leases stuck in provisioning since before a time', async (store) => {
      const stuck = await store.createLease(newLease({ createdAt: T0 - HOUR }));
      const fresh = await store.createLease(newLease({ createdAt: T0 }));
      const done = await store.createLease(newLease({ createdAt: T0 - HOUR }));
      await store.activateLease(done.lease.id, machine('p-5'));
      assert.deepEqual((await store.staleProvisioning(T0 - 1, 10)).map((l) => l.id), [stuck.lease.id]);
      assert.equal((await store.staleProvisioning(T0 + 1, 10)).some((l) => l.id === fresh.lease.id), true);
    });

    test('cleanup queue: claims are exclusive, failures back off, success ends the queue entry', async (store) => {
      const { lease } = await store.createLease(newLease());
      await store.setProviderId(lease.id, 'p-3');
      await store.transitionLease(lease.id, ['provisioning'], 'failed', { now: T0, queueCleanup: true });
      assert.deepEqual((await store.cleanupQueue(T0, 10)).map((l) => l.id), [lease.id]);
      const claims = await Promise.all([1, 2, 3].map(() => store.claimCleanup(lease.id, T0, T0 + 60_000)));
      assert.equal(claims.filter(Boolean).length, 1);
      assert.deepEqual(await store.cleanupQueue(T0 + 1, 10), []);
      const failed = await store.recordCleanupAttempt(lease.id, { ok: false, error: 'boom', nextAt: T0 + 30_000 });
      assert.equal(failed?.cleanup.attempts, 1);
      assert.equal(failed?.cleanup.lastError, 'boom');
      assert.deepEqual(await store.cleanupQueue(T0 + 29_999, 10), []);
      assert.equal((await store.cleanupQueue(T0 + 30_000, 10)).length, 1);
      assert.equal(await store.nextDueAt(), T0 + 30_000);
      const done = await store.recordCleanupAttempt(lease.id, { ok: true, at: T0 + 31_000 });
      assert.equal(done?.cleanup.state, 'done');
      assert.equal(done?.machineDeletedAt, T0 + 31_000);
      assert.deepEqual(await store.cleanupQueue(T0 + HOUR, 10), []);
      assert.equal(await store.nextDueAt(), undefined);
    });

    test('queueCleanup queues an ended lease whose machine still exists', async (store) => {
      const { lease } = await store.createLease(newLease());
      await store.setProviderId(lease.id, 'p-4');
      await store.transitionLease(lease.id, ['provisioning'], 'released', { now: T0 });
      assert.deepEqual(await store.cleanupQueue(T0, 10), []);
      await store.queueCleanup(lease.id, T0 + 1);
      assert.equal((await store.cleanupQueue(T0 + 1, 10)).length, 1);
    });

    test('gets by slug within an owner, preferring the live lease', async (store) => {
      const old = await store.createLease(newLease({ slug: 'red-crab', createdAt: T0 - HOUR }));
      await store.transitionLease(old.lease.id, ['provisioning'], 'released', { now: T0 });
      const live = await store.createLease(newLease({ slug: 'red-crab' }));
      await store.createLease(newLease({ slug: 'red-crab', owner: 'bob' }));
      assert.equal((await store.getLeaseBySlug('red-crab', 'alice'))?.id, live.lease.id);
      assert.equal((await store.getLeaseBySlug('red-crab', 'carol')), undefined);
      assert.deepEqual(await store.liveSlugs('alice'), ['red-crab']);
    });

    test('lists leases newest first with a cursor, scoped by owner and state', async (store) => {
      for (let i = 0; i < 7; i++) await store.createLease(newLease({ createdAt: T0 + i, owner: i % 2 ? 'bob' : 'alice' }));
      const seen: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await store.listLeases({ owner: 'alice', limit: 2, cursor });
        assert.ok(page.items.length <= 2);
        seen.push(...page.items.map((l) => l.owner));
        cursor = page.nextCursor;
      } while (cursor);
      assert.deepEqual(seen, ['alice', 'alice', 'alice', 'alice']);
      const all = await store.listLeases({ limit: 100 });
      assert.deepEqual(all.items.map((l) => l.createdAt), [...all.items.map((l) => l.createdAt)].sort((a, b) => b - a));
      assert.equal((await store.listLeases({ states: ['released'] })).items.length, 0);
      await assert.rejects(store.listLeases({ cursor: 'not-a-cursor' }), { code: 'bad_request' });
    });

    test('counts live leases and reserved spend per owner and org, including live leases from last month', async (store) => {
      const monthStart = Date.UTC(2026, 0, 1);
      const monthEnd = Date.UTC(2026, 1, 1);
      await store.createLease(newLease({ owner: 'alice', org: 'acme', reservedCost: 1, createdAt: monthStart - HOUR }));
      const ended = await store.createLease(newLease({ owner: 'alice', org: 'acme', reservedCost: 10, createdAt: monthStart - 2 * HOUR }));
      await store.transitionLease(ended.lease.id, ['provisioning'], 'released', { now: monthStart - HOUR });
      await store.createLease(newLease({ owner: 'alice', org: 'acme', reservedCost: 2, createdAt: T0 }));
      await store.createLease(newLease({ owner: 'bob', org: 'acme', reservedCost: 4, createdAt: T0 }));
      await store.createLease(newLease({ owner: 'carol', org: 'other', reservedCost: 8, createdAt: T0 }));
      assert.equal(await store.countLiveLeases({}), 4);
      assert.equal(await store.countLiveLeases({ owner: 'alice' }), 2);
      assert.equal(await store.countLiveLeases({ org: 'acme' }), 3);
      const spend = (scope: { owner?: string; org?: string }) => store.reservedSpend({ ...scope, from: monthStart, to: monthEnd });
      assert.equal(await spend({}), 15);
      assert.equal(await spend({ owner: 'alice' }), 3);
      assert.equal(await spend({ org: 'acme' }), 7);
      const usage = await store.usage({ from: monthStart, to: monthEnd, now: T0 + HOUR });
      const alice = usage.find((u) => u.owner === 'alice');
      assert.equal(alice?.leases, 2);
      assert.equal(alice?.reservedCost, 3);
      assert.ok((alice?.seconds ?? 0) > 0);
    });

    test('runs: create, finish once, get, list newest first without log tails, scoped and paginated', async (store) => {
      const run = await store.createRun({ id: 'run_000000000001', leaseId: 'cbx_000000000001', owner: 'alice', org: 'acme', command: 'npm test', createdAt: T0 });
      assert.equal(run.state, 'running');
      const finished = await store.finishRun(run.id, { exitCode: 2, endedAt: T0 + 5000, timings: { sync: 10, run: 4000 }, logTail: 'tail', logTruncated: true, junit: { tests: 3, failures: 1, errors: 0, skipped: 0, failed: ['a'] } });
      assert.equal(finished?.state, 'failed');
      assert.equal(finished?.exitCode, 2);
      assert.deepEqual(finished?.timings, { sync: 10, run: 4000 });
      assert.equal(finished?.logTail, 'tail');
      assert.equal(finished?.junit?.failures, 1);
      assert.equal(await store.finishRun(run.id, { exitCode: 0, endedAt: T0 + 6000 }), undefined);
      for (let i = 2; i <= 6; i++) await store.createRun({ id: `run_00000000000${i}`, leaseId: 'cbx_000000000001', owner: i % 2 ? 'bob' : 'alice', org: 'acme', createdAt: T0 + i });
      const page = await store.listRuns({ owner: 'alice', limit: 2 });
      assert.deepEqual(page.items.map((r) => r.id), ['run_000000000006', 'run_000000000004']);
      assert.equal(page.items[0]?.logTail, undefined);
      const next = await store.listRuns({ owner: 'alice', limit: 2, cursor: page.nextCursor });
      assert.deepEqual(next.items.map((r) => r.id), ['run_000000000002', 'run_000000000001']);
      assert.equal(next.nextCursor, undefined);
    });

    test('runs keep slug, provider, who exited, the interrupting signal and the command\'s own code; lists filter by state', async (store) => {
      const base = { leaseId: 'cbx_000000000001', slug: 'blue-crab', provider: 'fake', owner: 'alice', org: 'acme' };
      const a = await store.createRun({ ...base, id: 'run_0000000000a1', createdAt: T0 });
      assert.deepEqual([a.slug, a.provider], ['blue-crab', 'fake']);
      const junit = { tests: 1, passed: 0, failures: 1, errors: 0, skipped: 0, time: 0.5, files: [], failed: [{ kind: 'failure', suite: 's', name: 'n', line: 7 }], failedOmitted: 0, warnings: [] };
      const interrupted = await store.finishRun(a.id, { exitCode: 143, state: 'interrupted', source: 'crabbox', interrupted: 'SIGTERM', remoteExitCode: 9, syncSkipped: true, endedAt: T0 + 10, junit });
      assert.deepEqual(
        [interrupted?.state, interrupted?.exitCode, interrupted?.source, interrupted?.interrupted, interrupted?.remoteExitCode, interrupted?.syncSkipped],
        ['interrupted', 143, 'crabbox', 'SIGTERM', 9, true],
      );
      assert.deepEqual(interrupted?.junit, junit, 'the JUnit summary round-trips with its failed cases as objects');
      const b = await store.createRun({ ...base, id: 'run_0000000000a2', createdAt: T0 + 1 });
      await store.finishRun(b.id, { exitCode: 74, state: 'error', source: 'crabbox', endedAt: T0 + 20 });
      const c = await store.createRun({ ...base, id: 'run_0000000000a3', createdAt: T0 + 2 });
      await store.finishRun(c.id, { exitCode: 0, endedAt: T0 + 30 });
      const states = async (state?: 'interrupted' | 'error' | 'succeeded') => (await store.listRuns({ owner: 'alice', state })).items.map((r) => [r.id, r.state]);
      assert.deepEqual(await states('interrupted'), [[a.id, 'interrupted']]);
      assert.deepEqual(await states('error'), [[b.id, 'error']]);
      assert.deepEqual(await states('succeeded'), [[c.id, 'succeeded']]);
      const listed = (await store.listRuns({ owner: 'alice', state: 'interrupted' })).items[0];
      assert.deepEqual([listed?.slug, listed?.provider, listed?.interrupted, listed?.remoteExitCode, listed?.logTail], ['blue-crab', 'fake', 'SIGTERM', 9, undefined]);
    });

    test('events get increasing sequence numbers and list newest first, filtered and paginated', async (store) => {
      const a = await store.appendEvent({ at: T0, type: 'lease.created', actor: 'alice', owner: 'alice', leaseId: 'cbx_000000000001', data: { ttl: 60 } });
      const b = await store.appendEvent({ at: T0 + 1, type: 'lease.released', actor: 'bob', owner: 'bob', leaseId: 'cbx_000000000002' });
      await Promise.all([1, 2, 3, 4].map((i) => store.appendEvent({ at: T0 + 10 + i, type: 'lease.heartbeat', actor: 'alice', owner: 'alice' })));
      assert.ok(b.seq > a.seq);
      const mine = await store.listEvents({ owner: 'alice', limit: 3 });
      assert.equal(mine.items.length, 3);
      assert.ok(mine.items[0]!.seq > mine.items[1]!.seq);
      const rest = await store.listEvents({ owner: 'alice', limit: 3, cursor: mine.nextCursor });
      assert.equal(rest.items.length, 2);
      assert.deepEqual(rest.items[1]?.data, { ttl: 60 });
      assert.equal((await store.listEvents({ type: 'lease.released' })).items.length, 1);
      assert.equal((await store.listEvents({ leaseId: 'cbx_000000000002' })).items[0]?.actor, 'bob');
      const seqs = (await store.listEvents({ limit: 100 })).items.map((e) => e.seq);
      assert.equal(new Set(seqs).size, 6);
    });

    test('prune removes old runs, events and finished leases, keeping live ones and pending cleanups', async (store) => {
      await store.createRun({ id: 'run_00000000000a', leaseId: 'cbx_000000000001', owner: 'a', org: 'o', createdAt: T0 - 10 * HOUR });
      await store.createRun({ id: 'run_00000000000b', leaseId: 'cbx_000000000001', owner: 'a', org: 'o', createdAt: T0 });
      await store.appendEvent({ at: T0 - 10 * HOUR, type: 'x', actor: 'a' });
      await store.appendEvent({ at: T0, type: 'y', actor: 'a' });
      const oldLive = await store.createLease(newLease({ createdAt: T0 - 10 * HOUR }));
      const oldDone = await store.createLease(newLease({ createdAt: T0 - 10 * HOUR }));
      await store.transitionLease(oldDone.lease.id, ['provisioning'], 'released', { now: T0 - 9 * HOUR });
      const oldPending = await store.createLease(newLease({ createdAt: T0 - 10 * HOUR }));
      await store.setProviderId(oldPending.lease.id, 'p-9');
      await store.transitionLease(oldPending.lease.id, ['provisioning'], 'expired', { now: T0 - 9 * HOUR, queueCleanup: true });
      const result = await store.prune(T0 - HOUR);
      assert.deepEqual(result, { runs: 1, events: 1, leases: 1 });
      assert.equal(await store.getRun('run_00000000000a'), undefined);
      assert.ok(await store.getRun('run_00000000000b'));
      assert.ok(await store.getLease(oldLive.lease.id));
      assert.ok(await store.getLease(oldPending.lease.id));
      assert.equal(await store.getLease(oldDone.lease.id), undefined);
    });

    test('transactions commit together or not at all', async (store) => {
      const input = newLease();
      await assert.rejects(
        store.withTransaction(async (tx) => {
          await tx.createLease(input);
          await tx.appendEvent({ at: T0, type: 'lease.created', actor: 'alice' });
          throw new Error('abort');
        }),
        /abort/,
      );
      assert.equal(await store.getLease(input.id), undefined);
      assert.equal((await store.listEvents({})).items.length, 0);
      await store.withTransaction(async (tx) => {
        await tx.createLease(input);
        await tx.setMeta('k', 'v');
      });
      assert.ok(await store.getLease(input.id));
    });

    test('serialized check-then-insert transactions never exceed a cap', async (store) => {
      const attempts = Array.from({ length: 20 }, () =>
        store.withTransaction(async (tx) => {
          if ((await tx.countLiveLeases({ owner: 'capped' })) >= 5) return false;
          await tx.createLease(newLease({ owner: 'capped' }));
          return true;
        }),
      );
      assert.equal((await Promise.all(attempts)).filter(Boolean).length, 5);
      assert.equal(await store.countLiveLeases({ owner: 'capped' }), 5);
    });

    test('meta values persist and overwrite', async (store, reopen) => {
      assert.equal(await store.getMeta('installation'), undefined);
      await store.setMeta('installation', 'one');
      await store.setMeta('installation', 'two');
      assert.equal(await store.getMeta('installation'), 'two');
      await store.ping();
      if (reopen) {
        await store.close();
        const again = await reopen();
        try {
          assert.equal(await again.getMeta('installation'), 'two');
        } finally {
          await again.close();
        }
      }
    });

    test('pending logins are bounded in total and per source, and long-expired ones are pruned', async (store) => {
      const now = Date.UTC(2026, 0, 15);
      const login = (id: string, source: string, at = now) => ({ id, stateHash: `state-${id}`, secretHash: `secret-${id}`, source, port: 4567, createdAt: at, expiresAt: at + 600_000 });
      const limits = { maxPending: 3, maxPendingPerSource: 2, now };
      assert.equal(await store.createLogin(login('l1', 'a'), limits), 'created');
      assert.equal(await store.createLogin(login('l2', 'a'), limits), 'created');
      assert.equal(await store.createLogin(login('l3', 'a'), limits), 'too-many-from-source');
      // Finishing a login (even as denied) does not free its slot before it expires.
      await store.updateLogin('l2', ['pending'], { status: 'denied', message: 'no' });
      assert.equal(await store.createLogin(login('l3', 'a'), limits), 'too-many-from-source');
      assert.equal(await store.createLogin(login('l4', 'b'), limits), 'created');
      assert.equal(await store.createLogin(login('l5', 'c'), limits), 'too-many');
      const got = await store.getLogin('l1');
      assert.deepEqual(got, { ...login('l1', 'a'), address: undefined, phrase: undefined, confirmedAt: undefined, browserHash: undefined, status: 'pending', owner: undefined, org: undefined, login: undefined, message: undefined, codeHash: undefined });
      assert.equal((await store.getLoginByState('state-l2'))?.id, 'l2');
      assert.equal(await store.getLogin('l3'), undefined);
      // Two hours later the old rows are gone and the bounds are free again.
      const later = { ...limits, now: now + 2 * 3_600_000 };
      assert.equal(await store.createLogin(login('l6', 'a', later.now), later), 'created');
      assert.equal(await store.getLogin('l1'), undefined);
    });

    test('a login keeps its address and phrase, and is confirmed once, by one browser, only while pending', async (store) => {
      const now = Date.UTC(2026, 0, 15);
      const limits = { maxPending: 10, maxPendingPerSource: 10, now };
      const base = { secretHash: 'h', source: '2001:db8:1:2::/64', address: '2001:db8:1:2::7', phrase: 'otter-maple-reef', createdAt: now, expiresAt: now + 600_000 };
      await store.createLogin({ ...base, id: 'lc', stateHash: 'sc' }, limits);
      assert.deepEqual([(await store.getLogin('lc'))?.address, (await store.getLogin('lc'))?.phrase, (await store.getLogin('lc'))?.confirmedAt], ['2001:db8:1:2::7', 'otter-maple-reef', undefined]);
      const confirmed = await store.confirmLogin('lc', { browserHash: 'b1', now: now + 5 });
      assert.deepEqual([confirmed?.confirmedAt, confirmed?.browserHash, confirmed?.status], [now + 5, 'b1', 'pending']);
      assert.equal(await store.confirmLogin('lc', { browserHash: 'b2', now: now + 6 }), undefined, 'a second browser cannot take it over');
      assert.equal((await store.getLogin('lc'))?.browserHash, 'b1');
      await store.createLogin({ ...base, id: 'ld', stateHash: 'sd' }, limits);
      await store.updateLogin('ld', ['pending'], { status: 'denied', message: 'no' });
      assert.equal(await store.confirmLogin('ld', { browserHash: 'b3', now }), undefined, 'only a pending login');
      assert.equal(await store.confirmLogin('nope', { browserHash: 'b4', now }), undefined);
    });

    test('a login moves on only from the expected status (compare-and-set)', async (store) => {
      const now = Date.UTC(2026, 0, 15);
      await store.createLogin({ id: 'lx', stateHash: 'sx', secretHash: 'hx', source: 's', createdAt: now, expiresAt: now + 600_000 }, { maxPending: 10, maxPendingPerSource: 10, now });
      const checking = await store.updateLogin('lx', ['pending'], { status: 'checking' });
      assert.equal(checking?.status, 'checking');
      assert.equal(checking?.port, undefined);
      assert.equal(await store.updateLogin('lx', ['pending'], { status: 'checking' }), undefined);
      const approved = await store.updateLogin('lx', ['checking'], { status: 'approved', owner: 'github-1', org: 'acme', login: 'alice', codeHash: 'c0de' });
      assert.deepEqual([approved?.status, approved?.owner, approved?.org, approved?.login, approved?.codeHash], ['approved', 'github-1', 'acme', 'alice', 'c0de']);
      assert.equal(await store.updateLogin('lx', ['pending', 'checking'], { status: 'denied', message: 'late' }), undefined);
      assert.equal((await store.updateLogin('lx', ['approved'], { status: 'delivered' }))?.owner, 'github-1');
      assert.equal(await store.updateLogin('lx', ['approved'], { status: 'delivered' }), undefined);
    });
  });
}

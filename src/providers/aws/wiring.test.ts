import { describe, it, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { baseSpec } from '../provider.contract.ts';
import { isCrabboxError } from '../../domain/errors.ts';
import { openSqliteStore } from '../../storage/sqlite.ts';
import { coordinatorConfig } from '../../coordinator/config.ts';
import { createProviderEventSink } from '../../coordinator/provider-events.ts';
import { sweep } from '../../coordinator/sweeper.ts';
import { startFakeAws, type FakeAwsSetup } from './fake/harness.ts';
import { toProviderEvent } from './events.ts';

const keys = { sshPublicKey: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGZhdWx0ZmF1bHRmYXVsdA user@host', hostKey: { privateKey: 'unused', publicKey: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGhvc3Q root@box' } };
const spec = (leaseId: string) => ({ ...baseSpec(leaseId, keys, { [`crabbox-installation`]: 'wired' }), allowedCidrs: ['203.0.113.7/32'] });

let setup: FakeAwsSetup | undefined;
afterEach(async () => {
  await setup?.stop();
  setup = undefined;
});

/** The AWS provider's events and dangling key pairs, through the coordinator's audit sink and sweeper (fake EC2). */
describe('aws provider wired to the coordinator', () => {
  it('capacity fallbacks become provider.fallback and an IP timeout becomes provider.error audit events', async () => {
    const store = await openSqliteStore({ path: ':memory:', now: Date.UTC(2026, 0, 1) });
    const sink = createProviderEventSink();
    setup = await startFakeAws({
      onEvent: (event) => {
        const mapped = toProviderEvent(event);
        if (mapped) sink.onEvent(mapped);
      },
    });
    sink.attach({ store, clock: setup.clock });
    setup.fake.noCapacity('c7a.2xlarge').noCapacity('c7i.2xlarge');
    const machine = await setup.provider.create(spec('cbx_0000000000d1'));
    assert.equal(machine.type, 'c6a.2xlarge');
    await setup.stop();
    setup = await startFakeAws({ ipWaitMs: 10_000, pollMs: 5000, fake: { ipAfterDescribes: Infinity }, onEvent: (event) => void (toProviderEvent(event) && sink.onEvent(toProviderEvent(event)!)) });
    await assert.rejects(setup.provider.create(spec('cbx_0000000000d2')), (e: unknown) => isCrabboxError(e) && e.code === 'timeout');
    await sink.flush();
    const events = (await store.listEvents({ limit: 100 })).items;
    const fallbacks = events.filter((e) => e.type === 'provider.fallback');
    assert.deepEqual(fallbacks.map((e) => `${e.data?.type}:${e.data?.code}`).sort(), ['c7a.2xlarge:InsufficientInstanceCapacity', 'c7i.2xlarge:InsufficientInstanceCapacity']);
    const errors = events.filter((e) => e.type === 'provider.error');
    assert.equal(errors.length, 1);
    assert.equal(errors[0]!.data?.cleanup, 'terminated');
    assert.match(String(errors[0]!.providerId), /^i-/);
    assert.doesNotMatch(JSON.stringify(events), /fake-secret|AKIDFAKE/, 'no credentials in events');
    await store.close();
  });

  it('the sweeper removes key pairs whose instance is gone through the port and audits deletions and skips', async () => {
    setup = await startFakeAws();
    const store = await openSqliteStore({ path: ':memory:', now: setup.clock.now() });
    const live = await setup.provider.create(spec('cbx_0000000000e1'));
    const old = new Date(setup.clock.now() - 2 * 3600_000);
    setup.fake.account.keyPairs.set('crabbox-cbx_0000000000e2', { id: 'key-e2', name: 'crabbox-cbx_0000000000e2', publicKey: 'ssh-ed25519 AAAAx', fingerprint: 'x', tags: new Map([['crabbox', 'true']]), createdAt: old });
    setup.fake.account.keyPairs.set('crabbox-prod', { id: 'key-p', name: 'crabbox-prod', publicKey: 'ssh-ed25519 AAAAx', fingerprint: 'x', tags: new Map([['crabbox', 'true']]), createdAt: old });
    const deps = { store, providers: { aws: setup.provider }, clock: setup.clock, config: coordinatorConfig({ installation: 'wired', defaultProvider: 'aws' }) };
    const stats = await sweep(deps, { orphans: true });
    assert.equal(stats.danglingDeleted, 1);
    assert.deepEqual([...setup.fake.account.keyPairs.keys()].sort(), ['crabbox-cbx_0000000000e1', 'crabbox-prod']);
    const events = (await store.listEvents({ limit: 100 })).items;
    const deleted = events.filter((e) => e.type === 'machine.deleted').map((e) => `${e.data?.name}:${e.data?.reason}`);
    assert.deepEqual(deleted, ['crabbox-cbx_0000000000e2:dangling:instance gone']);
    const skipped = events.filter((e) => e.type === 'machine.sweep_skipped').map((e) => `${e.data?.name ?? e.providerId}:${e.data?.reason}`).sort();
    assert.deepEqual(skipped, [`${live.providerId}:unknown-within-safety-window`, 'crabbox-cbx_0000000000e1:dangling:its instance exists'].sort());
    await store.close();
  });
});

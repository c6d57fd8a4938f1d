import { describe, it, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { baseSpec } from '../provider.contract.ts';
import { CrabboxError } from '../../domain/errors.ts';
import { LABEL } from '../../domain/labels.ts';
import { newLeaseId } from '../../domain/ids.ts';
import type { MachineSpec } from '../provider.ts';
import { nextRequestInMs, readRateLimit } from './client.ts';
import { firewallName } from './firewall.ts';
import { startFakeHetznerProvider, type FakeHetznerSetup } from './fake/harness.ts';
import { generateKeyPair } from './fake/keys.ts';

function specFor(leaseId: string, extra: Partial<MachineSpec> = {}): MachineSpec {
  return { ...baseSpec(leaseId, { sshPublicKey: generateKeyPair('lease').publicKey, hostKey: generateKeyPair('host') }), ...extra };
}
const posts = (s: FakeHetznerSetup) => s.fake.state.requests.filter((r) => r.method === 'POST' && r.path === '/servers');

let setup: FakeHetznerSetup | undefined;
afterEach(async () => {
  await setup?.close();
  setup = undefined;
});

describe('hetzner API drift', () => {
  it('the region comes from server.location (servers no longer carry datacenter)', async () => {
    setup = await startFakeHetznerProvider({ locations: ['nbg1'] });
    const machine = await setup.provider.create(specFor(newLeaseId()));
    assert.equal(machine.region, 'nbg1');
    assert.equal((await setup.provider.get(machine.providerId))?.region, 'nbg1');
    assert.deepEqual((await setup.provider.list({ [LABEL.lease]: machine.labels[LABEL.lease]! })).map((m) => m.region), ['nbg1']);
    const answer = setup.fake.state.responses.find((r) => r.route === 'GET /servers/:id')!.body as { server: Record<string, unknown> };
    assert.ok(!('datacenter' in answer.server), 'the fake answers like the current API');
  });
});

describe('hetzner error answers', () => {
  it('invalid_input "unsupported location for server type" moves on to the next location', async () => {
    setup = await startFakeHetznerProvider({ locations: ['fsn1', 'nbg1'] });
    setup.fake.state.faults.unsupported.add('ccx33@fsn1');
    const machine = await setup.provider.create(specFor(newLeaseId(), { class: 'standard' }));
    assert.deepEqual(posts(setup).map((r) => `${(r.body as { server_type: string }).server_type}@${(r.body as { location: string }).location}`), ['ccx33@fsn1', 'ccx33@nbg1']);
    assert.equal(machine.region, 'nbg1');
    assert.deepEqual(setup.events.filter((e) => e.type === 'provider.fallback').map((e) => [e.data.kind, e.data.code]), [['unsupported', 'invalid_input']]);
  });

  it('a retried POST /firewalls whose first answer was lost adopts the firewall it made (uniqueness_error)', async () => {
    setup = await startFakeHetznerProvider({ client: { attempts: 3 } });
    setup.fake.state.failNext({ method: 'POST', pathPrefix: '/firewalls', status: 503, code: 'service_error', afterApply: true });
    const leaseId = newLeaseId();
    const machine = await setup.provider.create(specFor(leaseId, { allowedCidrs: ['198.51.100.7'] }));
    const firewalls = [...setup.fake.state.firewalls.values()];
    assert.equal(firewalls.length, 1);
    assert.equal(firewalls[0]!.name, firewallName(leaseId));
    assert.ok(setup.fake.state.requests.some((r) => r.method === 'POST' && r.path === '/firewalls' && r.code === 'uniqueness_error'), 'the retry was told the name is taken');
    assert.deepEqual(firewalls[0]!.applied_to.map((a) => a.server?.id), [Number(machine.providerId)]);
  });

  it('a firewall of the lease\'s name that belongs to no lease of ours is refused, not adopted', async () => {
    setup = await startFakeHetznerProvider();
    const leaseId = newLeaseId();
    setup.fake.state.firewalls.set(7, { id: 7, name: firewallName(leaseId), labels: {}, created: new Date(0).toISOString(), rules: [], applied_to: [] });
    await assert.rejects(setup.provider.create(specFor(leaseId)), (e: unknown) => e instanceof CrabboxError && e.code === 'conflict');
    assert.equal(setup.fake.state.servers.size, 0);
    assert.deepEqual([...setup.fake.state.firewalls.keys()], [7]);
  });

  it('a release while the create action runs waits out `locked` and deletes the server', async () => {
    setup = await startFakeHetznerProvider({ fake: { createActionMs: 90_000 } });
    const provider = setup.provider;
    let deleting: Promise<string> | undefined;
    await provider.create(specFor(newLeaseId()), { onProviderId: (id) => void (deleting = provider.delete(id)) }).catch((e: unknown) => assert.ok(e instanceof CrabboxError, String(e)));
    assert.equal(await deleting, 'deleted');
    assert.equal(setup.fake.state.servers.size, 0, 'deleted now, not left to the sweep');
    const deletes = setup.fake.state.requests.filter((r) => r.method === 'DELETE' && r.path.startsWith('/servers/'));
    assert.ok(deletes.filter((r) => r.code === 'locked').length > 2, 'it was locked for longer than the old 1.5 s budget');
    assert.equal(setup.fake.state.sshKeys.size + setup.fake.state.firewalls.size, 0);
  });

  it('429 waits as long as the RateLimit-* headers say a request takes to come back, then goes on', async () => {
    setup = await startFakeHetznerProvider();
    setup.fake.state.setRateLimit(6); // six an hour: one back every 10 minutes
    const machine = await setup.provider.create(specFor(newLeaseId()));
    assert.ok(machine.host);
    assert.ok(setup.fake.state.requests.some((r) => r.status === 429) || setup.sleeps.some((ms) => ms >= 500_000), 'the budget ran out');
    const long = setup.sleeps.filter((ms) => ms >= 500_000);
    assert.ok(long.length > 0, `waited about one refill interval (600 s), not 0.5 s: ${setup.sleeps.join(', ')}`);
    assert.ok(long.every((ms) => ms <= 3_600_000));
  });

  it('reads the RateLimit-* headers and spaces requests over the refill', () => {
    const headers = new Headers({ 'RateLimit-Limit': '3600', 'RateLimit-Remaining': '0', 'RateLimit-Reset': String(Date.UTC(2026, 0, 1, 1) / 1000) });
    const state = readRateLimit(headers)!;
    assert.deepEqual(state, { limit: 3600, remaining: 0, resetAt: Date.UTC(2026, 0, 1, 1) });
    assert.equal(nextRequestInMs(state, Date.UTC(2026, 0, 1)), 1000, '3600 an hour: one a second');
    assert.equal(readRateLimit(new Headers()), undefined);
  });

  it('POST /servers that fails before it applied is retried once nothing carries the lease label; one server results', async () => {
    setup = await startFakeHetznerProvider();
    setup.fake.state.failNext({ method: 'POST', pathPrefix: '/servers', status: 503, code: 'service_error', times: 2 });
    const seen: string[] = [];
    const machine = await setup.provider.create(specFor(newLeaseId()), { onProviderId: (id) => void seen.push(id) });
    assert.equal(posts(setup).length, 3);
    assert.equal(setup.fake.state.servers.size, 1);
    assert.deepEqual(seen, [machine.providerId]);
    const lookups = setup.fake.state.requests.filter((r) => r.method === 'GET' && r.path.startsWith('/servers?') && r.path.includes('crabbox-lease'));
    assert.ok(lookups.length >= 3, 'looked for the lease label before each retry');
  });

  it('POST /servers whose answer was lost after it applied adopts the server instead of making a second', async () => {
    setup = await startFakeHetznerProvider();
    setup.fake.state.failNext({ method: 'POST', pathPrefix: '/servers', status: 503, code: 'service_error', afterApply: true });
    const machine = await setup.provider.create(specFor(newLeaseId()));
    assert.equal(posts(setup).length, 1);
    assert.equal(setup.fake.state.servers.size, 1);
    assert.equal(String([...setup.fake.state.servers.keys()][0]), machine.providerId);
  });

  it('a create action that ends in placement_error deletes that server and tries the next candidate', async () => {
    setup = await startFakeHetznerProvider({ locations: ['fsn1', 'nbg1'] });
    setup.fake.state.faults.createActionErrors.push('placement_error');
    const seen: string[] = [];
    const machine = await setup.provider.create(specFor(newLeaseId()), { onProviderId: (id) => void seen.push(id) });
    assert.equal(seen.length, 2);
    assert.equal(seen.at(-1), machine.providerId);
    assert.deepEqual([...setup.fake.state.servers.keys()].map(String), [machine.providerId], 'the failed server is gone');
    assert.equal(machine.region, 'nbg1');
  });

  it('a create action that ends in another error fails the create and leaves nothing', async () => {
    setup = await startFakeHetznerProvider();
    setup.fake.state.faults.createActionErrors.push('server_error');
    await assert.rejects(setup.provider.create(specFor(newLeaseId())), (e: unknown) => e instanceof CrabboxError && /server_error/.test(e.message));
    assert.equal(setup.fake.state.servers.size + setup.fake.state.sshKeys.size + setup.fake.state.firewalls.size, 0);
  });
});

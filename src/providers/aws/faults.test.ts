import { describe, it, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { ImportKeyPairCommand, RunInstancesCommand } from '@aws-sdk/client-ec2';
import { baseSpec } from '../provider.contract.ts';
import { isCrabboxError } from '../../domain/errors.ts';
import { startFakeAws, type FakeAwsSetup } from './fake/harness.ts';
import { makeEc2Client } from './client.ts';
import { q } from './fake/query.ts';

const keys = { sshPublicKey: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGZhdWx0ZmF1bHRmYXVsdA user@host', hostKey: { privateKey: 'unused', publicKey: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGhvc3Q root@box' } };
const spec = (leaseId: string) => ({ ...baseSpec(leaseId, keys), allowedCidrs: ['203.0.113.7/32'] });

let setup: FakeAwsSetup | undefined;
afterEach(async () => {
  await setup?.stop();
  setup = undefined;
});

describe('aws faults', () => {
  it('create succeeds but the IP never comes: the instance is terminated, its key removed, and the id was reported first', async () => {
    setup = await startFakeAws({ ipWaitMs: 60_000, pollMs: 5000, fake: { ipAfterDescribes: Infinity } });
    const seen: string[] = [];
    await assert.rejects(setup.provider.create(spec('cbx_0000000000a1'), { onProviderId: (id) => void seen.push(id) }), (e: unknown) => isCrabboxError(e) && e.code === 'timeout');
    assert.equal(seen.length, 1);
    const instance = setup.fake.account.instances.get(seen[0]!)!;
    assert.equal(instance.state, 'shutting-down');
    assert.equal(setup.fake.account.keyPairs.size, 0);
    const polls = setup.sleeps.filter((ms) => ms === 5000);
    assert.ok(polls.length >= 11 && polls.length <= 13, `polled every 5 s on the injected clock, bounded by the deadline (${polls.length} polls)`);
    assert.deepEqual(setup.events.at(-1), { event: 'aws.ip.timeout', leaseId: 'cbx_0000000000a1', instanceId: seen[0], cleanup: 'terminated' });
  });

  it('when the IP wait fails and terminate fails too, the instance stays recorded and tagged for the sweep, and is deleted later', async () => {
    setup = await startFakeAws({ ipWaitMs: 10_000, pollMs: 5000, fake: { ipAfterDescribes: Infinity } });
    setup.fake.fail({ action: 'TerminateInstances', code: 'InternalError', times: 3 });
    const recorded: string[] = [];
    await assert.rejects(setup.provider.create(spec('cbx_0000000000a2'), { onProviderId: (id) => void recorded.push(id) }));
    assert.equal(recorded.length, 1, 'the caller holds the id');
    const swept = await setup.provider.list({ 'crabbox-lease': 'cbx_0000000000a2' });
    assert.deepEqual(swept.map((m) => m.providerId), recorded, 'the labels still prove it is ours');
    assert.deepEqual(setup.events.at(-1), { event: 'aws.ip.timeout', leaseId: 'cbx_0000000000a2', instanceId: recorded[0], cleanup: 'terminate-failed' });
    assert.equal(await setup.provider.delete(recorded[0]!), 'deleted');
    assert.deepEqual(await setup.provider.list({ 'crabbox-lease': 'cbx_0000000000a2' }), []);
    assert.equal(setup.fake.account.keyPairs.size, 0);
  });

  it('a slow public IP is waited for', async () => {
    setup = await startFakeAws({ pollMs: 2000, fake: { ipAfterDescribes: 4 } });
    const m = await setup.provider.create(spec('cbx_0000000000a3'));
    assert.match(m.host, /^198\.51\.100\.\d+$/);
    // Three polls until the address, plus one while the new instance was not yet visible (eventual consistency).
    assert.deepEqual(setup.sleeps.filter((ms) => ms === 2000), [2000, 2000, 2000, 2000]);
  });

  it('delete survives two failed terminates and succeeds on the third', async () => {
    setup = await startFakeAws();
    const m = await setup.provider.create(spec('cbx_0000000000a4'));
    setup.fake.fail({ action: 'TerminateInstances', code: 'InternalError', times: 2 });
    const before = setup.sleeps.length;
    assert.equal(await setup.provider.delete(m.providerId), 'deleted');
    assert.equal(setup.fake.calls('TerminateInstances').length, 3);
    assert.deepEqual(setup.sleeps.slice(before), [500, 1000], 'exponential backoff on the injected clock');
    assert.equal(setup.fake.account.instances.get(m.providerId)!.state, 'shutting-down');
  });

  it('terminate of an instance EC2 no longer knows is already-gone', async () => {
    setup = await startFakeAws();
    assert.equal(await setup.provider.delete('i-0123456789abcdef0'), 'already-gone');
    assert.equal(await setup.provider.get('i-0123456789abcdef0'), undefined);
    assert.equal(await setup.provider.delete('i-; rm -rf /'), 'already-gone');
    assert.equal(setup.fake.calls('TerminateInstances').length, 1, 'a malformed id never reaches the API');
  });

  it('when the caller cannot record the id, the instance does not outlive create', async () => {
    setup = await startFakeAws();
    await assert.rejects(setup.provider.create(spec('cbx_0000000000a5'), { onProviderId: () => Promise.reject(new Error('database is gone')) }), /database is gone/);
    const [instance] = [...setup.fake.account.instances.values()];
    assert.equal(instance?.state, 'shutting-down');
    assert.equal(setup.fake.account.keyPairs.size, 0);
  });

  it('throttling and 5xx on reads are retried a bounded number of times', async () => {
    setup = await startFakeAws();
    setup.fake.fail({ action: 'DescribeInstances', code: 'RequestLimitExceeded', message: 'Request limit exceeded.' });
    assert.deepEqual(await setup.provider.list({ crabbox: 'true' }), []);
    setup.fake.fail({ action: 'DescribeInstances', code: 'Unavailable', times: 5 });
    await assert.rejects(setup.provider.list({ crabbox: 'true' }), (e: unknown) => isCrabboxError(e) && e.code === 'provider_error' && e.message.includes('Unavailable'));
    assert.equal(setup.fake.calls('DescribeInstances').length, 2 + 3);
  });

  it('lists across pages with NextToken and leaves out terminated machines', async () => {
    setup = await startFakeAws({ fake: { pageSize: 1 } });
    const ids: string[] = [];
    for (const lease of ['cbx_0000000000b1', 'cbx_0000000000b2', 'cbx_0000000000b3']) ids.push((await setup.provider.create(spec(lease))).providerId);
    await setup.provider.delete(ids[1]!);
    const listed = await setup.provider.list({ crabbox: 'true' });
    assert.deepEqual(listed.map((m) => m.providerId).sort(), [ids[0], ids[2]].sort());
    assert.ok(setup.fake.calls('DescribeInstances').some((p) => q.str(p.NextToken)), 'followed NextToken');
  });

  it('delete removes only key pairs named by its own scheme', async () => {
    setup = await startFakeAws();
    const raw = makeEc2Client({ region: 'us-east-1', endpoint: setup.fake.url, credentials: { accessKeyId: 'AKIDFAKEFAKEFAKE', secretAccessKey: 'x' } });
    await raw.send(new ImportKeyPairCommand({ KeyName: 'prod-deploy', PublicKeyMaterial: new TextEncoder().encode('ssh-ed25519 AAAAprod') }));
    setup.clock.advance(5000); // past the key pair's propagation delay
    const out = await raw.send(new RunInstancesCommand({ ImageId: 'ami-0ubuntu0amd64new', InstanceType: 't3.micro', MinCount: 1, MaxCount: 1, KeyName: 'prod-deploy' }));
    raw.destroy();
    setup.clock.advance(5000); // launched by someone else: visible everywhere once EC2 has caught up
    assert.equal(await setup.provider.delete(out.Instances![0]!.InstanceId!), 'deleted');
    assert.ok(setup.fake.account.keyPairs.has('prod-deploy'));
    assert.equal(setup.fake.calls('DeleteKeyPair').length, 0);
  });

  it('requests without an Authorization header are refused by the fake, like EC2', async () => {
    setup = await startFakeAws();
    const res = await fetch(setup.fake.url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'Action=DescribeInstances&Version=2016-11-15' });
    assert.equal(res.status, 401);
    assert.match(await res.text(), /<Response><Errors><Error><Code>AuthFailure<\/Code>.*<RequestID>/);
  });
});

describe('aws key pair sweep', () => {
  it('deletes only old, tagged, scheme-named key pairs whose lease has no live instance', async () => {
    setup = await startFakeAws();
    const live = await setup.provider.create(spec('cbx_0000000000c1'));
    const old = new Date(Date.now() - 2 * 3600_000);
    const add = (name: string, tags: Record<string, string>, createdAt: Date) => setup!.fake.account.keyPairs.set(name, { id: `key-${name}`, name, publicKey: 'ssh-ed25519 AAAAx', fingerprint: 'x', tags: new Map(Object.entries(tags)), createdAt });
    add('crabbox-cbx_0000000000c2', { crabbox: 'true' }, old); // crashed mid-create: goes
    add('crabbox-cbx_0000000000c3', { crabbox: 'true' }, new Date()); // a create in progress: stays
    add('crabbox-prod', { crabbox: 'true' }, old); // look-alike name: stays
    add('crabbox-cbx_0000000000c4', {}, old); // not tagged as ours: stays
    setup.clock.set(Date.now());
    const result = await setup.provider.sweepKeyPairs(3600_000);
    assert.deepEqual(result.deleted, ['crabbox-cbx_0000000000c2']);
    assert.deepEqual(result.kept.map((k) => `${k.name}:${k.reason}`).sort(), ['crabbox-cbx_0000000000c1:lease-live', 'crabbox-cbx_0000000000c3:too-young']);
    assert.deepEqual([...setup.fake.account.keyPairs.keys()].sort(), ['crabbox-cbx_0000000000c1', 'crabbox-cbx_0000000000c3', 'crabbox-cbx_0000000000c4', 'crabbox-prod']);
    assert.ok(live.providerId);
  });
});

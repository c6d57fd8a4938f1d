import { describe, it, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { baseSpec } from '../provider.contract.ts';
import { isCrabboxError } from '../../domain/errors.ts';
import { startFakeAws, type FakeAwsSetup } from './fake/harness.ts';
import { launchCandidates } from './launch.ts';
import { q } from './fake/query.ts';
import { cloudUserCa } from '../cloud-capabilities.ts';
import type { MachineSpec } from '../provider.ts';

const keys = { sshPublicKey: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGxhdW5jaGxhdW5jaGxhdW5jaA user@host', hostKey: { privateKey: 'unused', publicKey: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGhvc3Q root@box' } };
const spec = (leaseId: string) => ({ ...baseSpec(leaseId, keys), allowedCidrs: ['203.0.113.7/32'] });
const runTypes = (s: FakeAwsSetup) => s.fake.judged('RunInstances').map((p) => `${q.str(p.InstanceType)}/${p.InstanceMarketOptions ? 'spot' : 'on-demand'}`);

let setup: FakeAwsSetup | undefined;
afterEach(async () => {
  await setup?.stop();
  setup = undefined;
});

describe('aws launch candidates', () => {
  it('tries every type on Spot, then every type on-demand, without duplicates', () => {
    assert.deepEqual(launchCandidates(['a.x', 'b.x', 'a.x'], 'spot', true).map((c) => `${c.type}/${c.market}`), ['a.x/spot', 'b.x/spot', 'a.x/on-demand', 'b.x/on-demand']);
    assert.deepEqual(launchCandidates(['a.x'], 'spot', false).map((c) => c.market), ['spot']);
    assert.deepEqual(launchCandidates(['a.x'], 'on-demand', false).map((c) => c.market), ['on-demand']);
  });
});

describe('aws launch', () => {
  it('puts tags on instance, volume and spot request, with an encrypted gp3 root, IMDSv2 and the user data', async () => {
    setup = await startFakeAws({ rootVolumeGiB: 64 });
    const m = await setup.provider.create(spec('cbx_00000000000a'));
    const i = setup.fake.account.instances.get(m.providerId)!;
    for (const tags of [i.tags, i.volume.tags, i.spotRequestTags]) assert.equal(tags.get('crabbox-lease'), 'cbx_00000000000a');
    assert.deepEqual({ size: i.volume.sizeGiB, type: i.volume.type, encrypted: i.volume.encrypted, del: i.volume.deleteOnTermination }, { size: 64, type: 'gp3', encrypted: true, del: true });
    assert.equal(i.market, 'spot');
    assert.equal(q.str(q.obj(q.obj(setup.fake.calls('RunInstances')[0]!.InstanceMarketOptions).SpotOptions).SpotInstanceType), 'one-time');
    assert.equal(i.metadataHttpTokens, 'required');
    assert.equal(i.shutdownBehavior, 'terminate');
    assert.equal(i.userData, '#cloud-config\n# lease cbx_00000000000a\n');
    assert.equal(i.clientToken, 'cbx_00000000000a');
    assert.equal(i.imageId, 'ami-0ubuntu0amd64new', 'newest Canonical image, never the look-alike from another owner');
    assert.equal(m.type, 'c7a.2xlarge');
    assert.equal(m.host, i.publicIp);
    assert.deepEqual({ user: m.sshUser, work: m.workRoot, admin: m.adminUser }, { user: 'cbx-00000000000a', work: '/var/lib/crabbox/leases/cbx-00000000000a/work', admin: 'crabbox' }, 'the lease logs in as its own user');
  });

  it('with the coordinator user CA, imports no key pair and launches without KeyName; the box gets the CA through its user data', async () => {
    const rendered: MachineSpec[] = [];
    setup = await startFakeAws({ userData: (s) => (rendered.push(s), `#cloud-config\n# lease ${s.leaseId}\n`) });
    const userCa = { publicKeys: ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGNhY2FjYWNhY2FjYWNhY2FjYWNhY2FjYWNhY2Fj ca'], principal: 'cbx-00000000000c' };
    const m = await setup.provider.create({ ...spec('cbx_00000000000c'), userCa });
    assert.equal(setup.fake.account.keyPairs.size, 0, 'no per-lease key pair');
    assert.equal(setup.fake.calls('ImportKeyPair').length, 0);
    assert.equal(setup.fake.calls('RunInstances')[0]!.KeyName, undefined);
    assert.deepEqual(cloudUserCa(rendered[0]!), userCa, 'the user data is rendered with the CA and the principal');
    assert.equal(await setup.provider.delete(m.providerId), 'deleted');
    // The same create without a CA still imports the lease's key pair.
    await setup.provider.create(spec('cbx_00000000000d'));
    assert.equal(setup.fake.account.keyPairs.size, 1);
  });

  it('uses aws.ami when given and the arm64 image for Graviton types', async () => {
    setup = await startFakeAws({ classes: { standard: { aws: ['c7g.2xlarge'] } } });
    const m = await setup.provider.create(spec('cbx_00000000000b'));
    assert.equal(setup.fake.account.instances.get(m.providerId)!.imageId, 'ami-0ubuntu0arm64new');
    await setup.stop();
    setup = await startFakeAws({ ami: 'ami-0ubuntu0amd64old' });
    const n = await setup.provider.create(spec('cbx_00000000000c'));
    assert.equal(setup.fake.account.instances.get(n.providerId)!.imageId, 'ami-0ubuntu0amd64old');
    assert.equal(setup.fake.calls('DescribeImages').length, 0);
  });

  it('moves past capacity errors on the first two types to the third at once, one request each', async () => {
    setup = await startFakeAws();
    setup.fake.noCapacity('c7a.2xlarge').noCapacity('c7i.2xlarge');
    const m = await setup.provider.create(spec('cbx_00000000000d'));
    assert.equal(m.type, 'c6a.2xlarge');
    assert.deepEqual(runTypes(setup), ['c7a.2xlarge/spot', 'c7i.2xlarge/spot', 'c6a.2xlarge/spot']);
    const firstTry = (type: string) => setup!.fake.requests.find((r) => r.action === 'RunInstances' && r.params.InstanceType === type)!.at;
    assert.equal(firstTry('c7i.2xlarge'), firstTry('c7a.2xlarge'), 'no backoff between candidates');
    assert.equal(firstTry('c6a.2xlarge'), firstTry('c7a.2xlarge'), 'no backoff between candidates');
    const story = setup.events.filter((e) => e.event === 'aws.launch.attempt').map((e) => (e.event === 'aws.launch.attempt' ? `${e.attempt.type}:${e.attempt.code ?? e.attempt.outcome}` : ''));
    assert.deepEqual(story, ['c7a.2xlarge:InsufficientInstanceCapacity', 'c7i.2xlarge:InsufficientInstanceCapacity', 'c6a.2xlarge:launched']);
    assert.equal(setup.fake.account.instances.size, 1);
  });

  it('falls back from Spot to on-demand when every Spot candidate lacks capacity', async () => {
    setup = await startFakeAws();
    for (const t of ['c7a.2xlarge', 'c7i.2xlarge', 'c6a.2xlarge']) setup.fake.noCapacity(t, 'spot');
    const m = await setup.provider.create(spec('cbx_00000000000e'));
    assert.deepEqual(runTypes(setup), ['c7a.2xlarge/spot', 'c7i.2xlarge/spot', 'c6a.2xlarge/spot', 'c7a.2xlarge/on-demand']);
    const i = setup.fake.account.instances.get(m.providerId)!;
    assert.equal(i.market, 'on-demand');
    assert.equal(i.spotRequestTags.size, 0);
    assert.equal(i.tags.get('crabbox-lease'), 'cbx_00000000000e');
  });

  it('skips the remaining Spot candidates on a Spot-only quota and moves on for vCPU quotas', async () => {
    setup = await startFakeAws();
    setup.fake.fail({ action: 'RunInstances', code: 'MaxSpotInstanceCountExceeded', message: 'Max spot instance count exceeded' });
    setup.fake.fail({ action: 'RunInstances', code: 'VcpuLimitExceeded', message: 'You have requested more vCPU capacity than your current vCPU limit' });
    const m = await setup.provider.create(spec('cbx_00000000000f'));
    assert.deepEqual(runTypes(setup), ['c7a.2xlarge/spot', 'c7a.2xlarge/on-demand', 'c7i.2xlarge/on-demand']);
    assert.equal(m.type, 'c7i.2xlarge');
  });

  it('does not fall back on a fatal error, and removes the key pair it imported', async () => {
    setup = await startFakeAws();
    setup.fake.fail({ action: 'RunInstances', code: 'InvalidParameterValue', message: 'Value (bogus) for parameter instanceType is invalid.' });
    await assert.rejects(setup.provider.create(spec('cbx_000000000010')), (e: unknown) => isCrabboxError(e) && e.code === 'provider_error' && /InvalidParameterValue/.test(e.message));
    assert.deepEqual(runTypes(setup), ['c7a.2xlarge/spot']);
    assert.equal(setup.fake.account.instances.size, 0);
    assert.equal(setup.fake.account.keyPairs.size, 0);
  });

  it('gives up with a capacity error naming every attempt when Spot-only has no room', async () => {
    setup = await startFakeAws({ onDemandFallback: false });
    for (const t of ['c7a.2xlarge', 'c7i.2xlarge', 'c6a.2xlarge']) setup.fake.noCapacity(t);
    await assert.rejects(setup.provider.create(spec('cbx_000000000011')), (e: unknown) => isCrabboxError(e) && e.code === 'provider_capacity' && e.message.includes('c6a.2xlarge/spot: InsufficientInstanceCapacity'));
    assert.equal(runTypes(setup).filter((t) => t.endsWith('on-demand')).length, 0);
    assert.equal(setup.fake.account.keyPairs.size, 0);
  });

  it('retries a lost RunInstances response with the same client token and gets one instance', async () => {
    setup = await startFakeAws();
    setup.fake.fail({ action: 'RunInstances', code: 'InternalError', afterApply: true });
    const m = await setup.provider.create(spec('cbx_000000000012'));
    const calls = setup.fake.judged('RunInstances');
    assert.equal(calls.length, 2);
    assert.deepEqual(calls.map((p) => q.str(p.ClientToken)), ['cbx_000000000012', 'cbx_000000000012']);
    assert.equal(setup.fake.account.instances.size, 1);
    assert.equal([...setup.fake.account.instances.keys()][0], m.providerId);
  });

  it('adopts the instance an earlier request launched when the token is reused with other parameters', async () => {
    setup = await startFakeAws();
    // The first launch happens, but its answer arrives as a capacity error: the walk moves to the next type.
    setup.fake.fail({ action: 'RunInstances', code: 'InsufficientInstanceCapacity', afterApply: true });
    const m = await setup.provider.create(spec('cbx_000000000013'));
    assert.equal(setup.fake.account.instances.size, 1);
    assert.equal(m.providerId, [...setup.fake.account.instances.keys()][0]);
    assert.equal(m.type, 'c7a.2xlarge');
  });

  it('a second create for the same lease finds the first instance instead of launching', async () => {
    setup = await startFakeAws();
    const first = await setup.provider.create(spec('cbx_000000000014'));
    const second = await setup.provider.create(spec('cbx_000000000014'));
    assert.equal(second.providerId, first.providerId);
    assert.equal(setup.fake.judged('RunInstances').length, 1);
  });

  it('refuses a key pair of the same name holding a different public key', async () => {
    setup = await startFakeAws();
    await setup.provider.create(spec('cbx_000000000015')).then((m) => setup!.provider.delete(m.providerId));
    // A stale key pair of our name but with a different key (e.g. from another installation).
    setup.fake.account.keyPairs.set('crabbox-cbx_000000000016', { id: 'key-1', name: 'crabbox-cbx_000000000016', publicKey: 'ssh-ed25519 AAAAother', fingerprint: 'x', tags: new Map(), createdAt: new Date() });
    await assert.rejects(setup.provider.create(spec('cbx_000000000016')), (e: unknown) => isCrabboxError(e) && e.code === 'conflict');
    assert.equal(setup.fake.judged('RunInstances').length, 1, 'nothing launched for the conflicting lease');
  });

  it('accepts its own key pair left by an earlier attempt of the same lease', async () => {
    setup = await startFakeAws();
    setup.fake.account.keyPairs.set('crabbox-cbx_000000000017', { id: 'key-2', name: 'crabbox-cbx_000000000017', publicKey: keys.sshPublicKey.split(' ').slice(0, 2).join(' '), fingerprint: 'x', tags: new Map(), createdAt: new Date() });
    const m = await setup.provider.create(spec('cbx_000000000017'));
    assert.ok(m.providerId.startsWith('i-'));
    assert.equal(setup.fake.calls('DescribeKeyPairs').length, 1, 'the duplicate was checked, not trusted blindly');
  });
  it('when the lease token is bound by a request that left nothing alive, the candidate launches once under its own token', async () => {
    setup = await startFakeAws();
    setup.fake.fail({ action: 'RunInstances', code: 'IdempotentParameterMismatch', times: Infinity, match: (p) => p.ClientToken === 'cbx_000000000018' });
    setup.fake.fail({ action: 'RunInstances', code: 'InternalError', afterApply: true, match: (p) => p.ClientToken !== 'cbx_000000000018' });
    const m = await setup.provider.create(spec('cbx_000000000018'));
    assert.deepEqual(setup.fake.judged('RunInstances').map((p) => q.str(p.ClientToken)), ['cbx_000000000018', 'cbx_000000000018.spot.c7a.2xlarge', 'cbx_000000000018.spot.c7a.2xlarge']);
    assert.equal(setup.fake.account.instances.size, 1);
    assert.equal(m.type, 'c7a.2xlarge');
  });
});

describe('aws networking', () => {
  it('with aws.subnetId the group lives in that subnet\'s VPC and the instance gets a public IP on its interface', async () => {
    setup = await startFakeAws({ subnetId: 'subnet-0default000000' });
    const m = await setup.provider.create(spec('cbx_00000000001a'));
    const run = setup.fake.calls('RunInstances')[0]!;
    const nic = q.objs(run.NetworkInterface)[0]!;
    assert.deepEqual({ subnet: q.str(nic.SubnetId), publicIp: q.str(nic.AssociatePublicIpAddress), groups: q.strings(nic.SecurityGroupId).length }, { subnet: 'subnet-0default000000', publicIp: 'true', groups: 1 });
    assert.equal(run.SecurityGroupId, undefined, 'groups go on the interface, not the instance');
    assert.equal(q.str(setup.fake.calls('DescribeSecurityGroups')[0]!.Filter && q.objs(setup.fake.calls('DescribeSecurityGroups')[0]!.Filter)[1]?.Name), 'vpc-id');
    assert.ok(m.host);
  });

  it('an unknown subnet is a one-line config error and nothing is created', async () => {
    setup = await startFakeAws({ subnetId: 'subnet-0123456789abcdef0' });
    await assert.rejects(setup.provider.create(spec('cbx_00000000001b')), (e: unknown) => isCrabboxError(e) && /InvalidSubnetID\.NotFound/.test(e.message));
    assert.equal(setup.fake.account.groups.size + setup.fake.account.keyPairs.size + setup.fake.account.instances.size, 0);
  });
});

describe('aws bad input', () => {
  it('a hostile --type is refused before anything is created', async () => {
    setup = await startFakeAws();
    await assert.rejects(setup.provider.create({ ...spec('cbx_000000000019'), type: 'c7a.2xlarge&Action=TerminateInstances' }), (e: unknown) => isCrabboxError(e) && e.code === 'bad_request' && !e.message.includes('\n'));
    assert.deepEqual(setup.fake.requests, []);
  });
});

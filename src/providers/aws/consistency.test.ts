import { describe, it, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { baseSpec } from '../provider.contract.ts';
import { isCrabboxError } from '../../domain/errors.ts';
import { startFakeAws, type FakeAwsSetup } from './fake/harness.ts';
import { q } from './fake/query.ts';
import { MAX_EC2_USER_DATA_BYTES } from './provider.ts';
import { MAX_USER_DATA_BYTES, renderUserData } from '../../bootstrap/user-data.ts';
import { generateKeyPair } from '../hetzner/fake/keys.ts';

const keys = { sshPublicKey: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGNvbnNpc3RlbmN5 user@host', hostKey: { privateKey: 'unused', publicKey: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGhvc3Q root@box' } };
const spec = (leaseId: string, cidrs = ['203.0.113.7/32']) => ({ ...baseSpec(leaseId, keys), allowedCidrs: cidrs });
const answers = (s: FakeAwsSetup, action: string) => s.fake.requests.filter((r) => r.action === action).map((r) => r.answer?.code ?? 'ok');

let setup: FakeAwsSetup | undefined;
afterEach(async () => {
  await setup?.stop();
  setup = undefined;
});

describe('aws eventual consistency', () => {
  it('a key pair RunInstances cannot see yet is waited for on the same candidate, not taken as the end of the walk', async () => {
    setup = await startFakeAws({ fake: { propagation: { keyPair: 6000, group: 0, instance: 0 } } });
    const m = await setup.provider.create(spec('cbx_00000000c001'));
    assert.deepEqual(answers(setup, 'RunInstances').slice(0, 2), ['InvalidKeyPair.NotFound', 'InvalidKeyPair.NotFound']);
    assert.equal(answers(setup, 'RunInstances').at(-1), 'ok');
    assert.equal(m.type, 'c7a.2xlarge', 'the first candidate launched: the walk never moved on');
    assert.ok(new Set(setup.fake.calls('RunInstances').map((p) => q.str(p.InstanceType))).size === 1);
    assert.equal(setup.fake.account.instances.size, 1);
  });

  it('a security group it just created is waited for by AuthorizeSecurityGroupIngress and RunInstances', async () => {
    setup = await startFakeAws({ fake: { propagation: { keyPair: 0, group: 4000, instance: 0 } } });
    const m = await setup.provider.create(spec('cbx_00000000c002'));
    assert.equal(answers(setup, 'AuthorizeSecurityGroupIngress')[0], 'InvalidGroup.NotFound');
    assert.equal(answers(setup, 'AuthorizeSecurityGroupIngress').at(-1), 'ok');
    const group = [...setup.fake.account.groups.values()][0]!;
    assert.deepEqual(group.ingress.map((r) => `${r.cidr}:${r.fromPort}`).sort(), ['203.0.113.7/32:22', '203.0.113.7/32:2222']);
    assert.ok(setup.fake.account.instances.get(m.providerId));
  });

  it('a NotFound right after launch is not proof of deletion: cleanup terminates the instance and only then drops its key pair', async () => {
    setup = await startFakeAws({ fake: { propagation: { keyPair: 0, group: 0, instance: 20_000 } } });
    let id = '';
    await assert.rejects(
      setup.provider.create(spec('cbx_00000000c003'), {
        onProviderId: (providerId) => {
          id = providerId;
          throw new Error('the store is down');
        },
      }),
      /the store is down/,
    );
    const instance = setup.fake.account.instances.get(id)!;
    assert.equal(instance.state, 'shutting-down', 'terminated, not left running for the tag sweep');
    assert.ok(answers(setup, 'TerminateInstances').includes('InvalidInstanceID.NotFound'), 'EC2 did answer NotFound at first');
    assert.equal(setup.fake.account.keyPairs.size, 0);
  });

  it('a release while the instance is still invisible terminates it and reports deleted', async () => {
    setup = await startFakeAws({ fake: { propagation: { keyPair: 0, group: 0, instance: 15_000 } } });
    const provider = setup.provider;
    let deleting: Promise<string> | undefined;
    // The create may still see the address before the terminate lands, or fail on the terminated instance: either way
    // the release wins, and the caller (which recorded the release) deletes nothing twice.
    await provider.create(spec('cbx_00000000c004'), { onProviderId: (id) => void (deleting = provider.delete(id)) }).catch((e: unknown) => assert.ok(isCrabboxError(e), String(e)));
    assert.equal(await deleting, 'deleted');
    assert.ok(answers(setup, 'DescribeInstances').includes('InvalidInstanceID.NotFound'), 'EC2 did not know the instance at first');
    const [instance] = [...setup.fake.account.instances.values()];
    assert.ok(instance && ['shutting-down', 'terminated'].includes(instance.state));
    assert.equal(setup.fake.account.keyPairs.size, 0);
  });

  it('an id it never launched that EC2 does not know is gone at once (no waiting)', async () => {
    setup = await startFakeAws();
    assert.equal(await setup.provider.delete('i-0123456789abcdef0'), 'already-gone');
    assert.equal(setup.fake.calls('TerminateInstances').length, 1);
    assert.deepEqual(setup.sleeps, []);
  });
});

describe('aws error classification in the launch walk', () => {
  it('Unsupported moves on to the next candidate', async () => {
    setup = await startFakeAws();
    setup.fake.unsupported('c7a.2xlarge');
    const m = await setup.provider.create(spec('cbx_00000000c005'));
    assert.equal(m.type, 'c7i.2xlarge');
  });

  it('when every candidate is Unsupported the error says configuration, not capacity, and nothing is left', async () => {
    setup = await startFakeAws();
    for (const t of ['c7a.2xlarge', 'c7i.2xlarge', 'c6a.2xlarge']) setup.fake.unsupported(t);
    await assert.rejects(setup.provider.create(spec('cbx_00000000c006')), (e: unknown) => isCrabboxError(e) && e.code === 'invalid_config' && /does not support any candidate/.test(e.message) && /configuration, not capacity/.test(e.hint ?? ''));
    assert.equal(setup.fake.account.instances.size + setup.fake.account.keyPairs.size, 0);
  });

  it('a missing Spot service-linked role falls back to on-demand, names the permission, and later creates skip Spot', async () => {
    setup = await startFakeAws();
    setup.fake.withoutSpotRole();
    const m = await setup.provider.create(spec('cbx_00000000c007'));
    assert.equal(setup.fake.account.instances.get(m.providerId)!.market, 'on-demand');
    const spotTries = setup.fake.judged('RunInstances').filter((p) => p.InstanceMarketOptions).length;
    assert.equal(spotTries, 1, 'one Spot refusal is enough: the other Spot candidates are skipped');
    const missing = setup.events.filter((e) => e.event === 'aws.spot.role-missing');
    assert.equal(missing.length, 1);
    assert.match(missing[0]!.event === 'aws.spot.role-missing' ? missing[0]!.hint : '', /iam:CreateServiceLinkedRole for spot\.amazonaws\.com/);
    await setup.provider.create(spec('cbx_00000000c008'));
    assert.equal(setup.fake.judged('RunInstances').filter((p) => p.InstanceMarketOptions).length, 1, 'the second create went straight to on-demand');
  });

  it('with on-demand fallback off, a missing Spot role is a permission error that names what to allow', async () => {
    setup = await startFakeAws({ onDemandFallback: false });
    setup.fake.withoutSpotRole();
    await assert.rejects(setup.provider.create(spec('cbx_00000000c009')), (e: unknown) => isCrabboxError(e) && e.code === 'forbidden' && /ServiceLinkedRoleCreationNotPermitted/.test(e.message) && /iam:CreateServiceLinkedRole/.test(e.hint ?? ''));
    assert.equal(setup.fake.account.keyPairs.size, 0);
  });
});

describe('aws throttling', () => {
  it('RequestLimitExceeded backs off exponentially with jitter, well past three tries', async () => {
    setup = await startFakeAws();
    setup.fake.fail({ action: 'DescribeInstances', code: 'RequestLimitExceeded', message: 'Request limit exceeded.', times: 5 });
    assert.deepEqual(await setup.provider.list({ crabbox: 'true' }), []);
    const waits = setup.sleeps;
    assert.equal(waits.length, 5);
    const ceilings = [1000, 2000, 4000, 8000, 16000];
    waits.forEach((ms, i) => assert.ok(ms >= 100 && ms <= ceilings[i]!, `retry ${i + 1} waited ${ms} ms, within [100, ${ceilings[i]}]`));
    assert.notDeepEqual(waits, ceilings, 'jittered, not the bare doubling');
    assert.ok(waits.slice(2).some((ms) => ms > 1000), 'the ceiling grows');
  });

  it('a request budget that runs out slows the provider down instead of failing it', async () => {
    setup = await startFakeAws({ fake: { budget: { describe: { size: 3, perSecond: 0.5 } } } });
    for (let i = 0; i < 8; i++) assert.deepEqual(await setup.provider.list({ crabbox: 'true' }), []);
    assert.ok(answers(setup, 'DescribeInstances').includes('RequestLimitExceeded'), 'the budget did run out');
    assert.equal(answers(setup, 'DescribeInstances').at(-1), 'ok');
  });

  it('throttling that never ends is reported as rate_limited after the bounded budget', async () => {
    setup = await startFakeAws();
    setup.fake.fail({ action: 'DescribeInstances', code: 'RequestLimitExceeded', times: Infinity });
    await assert.rejects(setup.provider.list({ crabbox: 'true' }), (e: unknown) => isCrabboxError(e) && e.code === 'rate_limited');
    assert.equal(setup.fake.calls('DescribeInstances').length, 8);
  });
});

describe('aws request shape limits', () => {
  it('user data over EC2\'s 16 KB is refused before anything is created', async () => {
    setup = await startFakeAws({ userData: () => `#cloud-config\n# ${'x'.repeat(16 * 1024)}\n` });
    await assert.rejects(setup.provider.create(spec('cbx_00000000c00a')), (e: unknown) => isCrabboxError(e) && /EC2 accepts at most 16384/.test(e.message));
    assert.equal(setup.fake.requests.filter((r) => r.action !== 'DescribeInstances').length, 0);
  });

  it('the bootstrap\'s own size check uses the smaller, EC2 limit, and the real bootstrap fits it', () => {
    assert.ok(MAX_USER_DATA_BYTES <= MAX_EC2_USER_DATA_BYTES, `bootstrap allows ${MAX_USER_DATA_BYTES} bytes, EC2 takes ${MAX_EC2_USER_DATA_BYTES}`);
    const text = renderUserData({ sshPublicKey: generateKeyPair('lease').publicKey, hostKey: generateKeyPair('host'), ports: [2222, 22], user: 'crabbox', workRoot: '/work/crabbox' });
    assert.ok(Buffer.byteLength(text) <= MAX_EC2_USER_DATA_BYTES);
  });

  it('caller CIDRs are compared in the normalised form EC2 stores, so a second lease adds nothing', async () => {
    setup = await startFakeAws();
    await setup.provider.create(spec('cbx_00000000c00b', ['198.51.100.7/24', '2001:DB8:0:0::1/48']));
    await setup.provider.create(spec('cbx_00000000c00c', ['198.51.100.7/24', '2001:DB8:0:0::1/48']));
    const group = [...setup.fake.account.groups.values()][0]!;
    assert.deepEqual([...new Set(group.ingress.map((r) => r.cidr))].sort(), ['198.51.100.0/24', '2001:db8::/48']);
    assert.equal(group.ingress.length, 4);
    assert.equal(setup.fake.judged('AuthorizeSecurityGroupIngress').length, 1, 'the second lease found its rules already there');
    assert.equal(setup.fake.calls('RevokeSecurityGroupIngress').length, 0);
  });
});

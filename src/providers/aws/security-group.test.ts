import { describe, it, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { AuthorizeSecurityGroupIngressCommand, CreateSecurityGroupCommand } from '@aws-sdk/client-ec2';
import { baseSpec } from '../provider.contract.ts';
import { isCrabboxError } from '../../domain/errors.ts';
import { startFakeAws, type FakeAwsSetup } from './fake/harness.ts';
import { makeEc2Client } from './client.ts';
import { planIngress, type IngressRule } from './security-group.ts';
import type { FakeGroup } from './fake/model.ts';

const keys = { sshPublicKey: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHNnc2dzZ3Nn user@host', hostKey: { privateKey: 'unused', publicKey: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGhvc3Q root@box' } };
const spec = (leaseId: string, allowedCidrs?: string[]) => ({ ...baseSpec(leaseId, keys), allowedCidrs });
const SSH_PORTS = [2222, 22];

let setup: FakeAwsSetup | undefined;
afterEach(async () => {
  await setup?.stop();
  setup = undefined;
});

function group(s: FakeAwsSetup): FakeGroup {
  const groups = [...s.fake.account.groups.values()].filter((g) => g.name === 'crabbox-runners');
  assert.equal(groups.length, 1);
  return groups[0]!;
}

/** The invariant every test checks: nothing world-open, nothing but TCP on the SSH ports. */
function assertOnlySshFromKnownCidrs(g: FakeGroup): void {
  for (const r of g.ingress) {
    assert.ok(!/\/0$/.test(r.cidr), `world-open rule left: ${r.cidr} on ${r.fromPort}`);
    assert.ok(r.protocol === 'tcp' && r.fromPort === r.toPort && SSH_PORTS.includes(r.fromPort!), `non-SSH rule left: ${JSON.stringify(r)}`);
  }
}

const rule = (cidr: string, port: number, description?: string): IngressRule => ({ protocol: 'tcp', fromPort: port, toPort: port, cidr, family: cidr.includes(':') ? 6 : 4, description });

describe('aws security group plan', () => {
  it('revokes world-open and non-SSH rules and authorizes the caller on every SSH port', () => {
    const plan = planIngress([rule('0.0.0.0/0', 22), rule('::/0', 2222), { ...rule('10.0.0.0/8', 80) }, { ...rule('198.51.100.0/24', 22), protocol: '-1' }, rule('203.0.113.7/32', 22)], { ports: SSH_PORTS, cidrs: ['203.0.113.7/32'], maxCidrs: 16 });
    assert.deepEqual(plan.revoke.map((r) => `${r.cidr}:${r.fromPort}`).sort(), ['0.0.0.0/0:22', '10.0.0.0/8:80', '198.51.100.0/24:22', '::/0:2222'].sort());
    assert.deepEqual(plan.authorize.map((r) => `${r.cidr}:${r.fromPort}`), ['203.0.113.7/32:2222']);
  });

  it('evicts the oldest other callers beyond the cap and never the current one', () => {
    const existing = [rule('192.0.2.1/32', 22, 'crabbox caller since 100'), rule('192.0.2.2/32', 22, 'crabbox caller since 300'), rule('192.0.2.3/32', 22, 'crabbox caller since 200'), rule('192.0.2.9/32', 22, 'hand-made')];
    const plan = planIngress(existing, { ports: [22], cidrs: ['203.0.113.7/32'], maxCidrs: 3 });
    assert.deepEqual(plan.revoke.map((r) => r.cidr).sort(), ['192.0.2.1/32', '192.0.2.9/32']);
    assert.deepEqual(plan.authorize.map((r) => r.cidr), ['203.0.113.7/32']);
  });
});

describe('aws security group', () => {
  it('a pre-existing group with world-open and stray rules is cleaned before the caller CIDR is added', async () => {
    setup = await startFakeAws();
    const raw = makeEc2Client({ region: 'us-east-1', endpoint: setup.fake.url, credentials: { accessKeyId: 'AKIDFAKEFAKEFAKE', secretAccessKey: 'x' } });
    const { GroupId } = await raw.send(new CreateSecurityGroupCommand({ GroupName: 'crabbox-runners', Description: 'made by hand' }));
    setup.clock.advance(5000); // past the new group's propagation delay
    await raw.send(
      new AuthorizeSecurityGroupIngressCommand({
        GroupId,
        IpPermissions: [
          { IpProtocol: 'tcp', FromPort: 22, ToPort: 22, IpRanges: [{ CidrIp: '0.0.0.0/0' }] },
          { IpProtocol: 'tcp', FromPort: 2222, ToPort: 2222, Ipv6Ranges: [{ CidrIpv6: '::/0' }] },
          { IpProtocol: 'tcp', FromPort: 0, ToPort: 65535, IpRanges: [{ CidrIp: '10.0.0.0/8' }] },
        ],
      }),
    );
    raw.destroy();
    await setup.provider.create(spec('cbx_0000000000c1', ['203.0.113.7/32']));
    const g = group(setup);
    assertOnlySshFromKnownCidrs(g);
    assert.deepEqual(g.ingress.map((r) => `${r.cidr}:${r.fromPort}`).sort(), ['203.0.113.7/32:22', '203.0.113.7/32:2222']);
  });

  it('the operator override replaces the caller CIDR, IPv6 included', async () => {
    setup = await startFakeAws({ sshCidrs: ['198.51.100.0/24', '2001:db8::/48'] });
    const m = await setup.provider.create(spec('cbx_0000000000c2', ['203.0.113.7/32']));
    const g = group(setup);
    assertOnlySshFromKnownCidrs(g);
    assert.deepEqual([...new Set(g.ingress.map((r) => r.cidr))].sort(), ['198.51.100.0/24', '2001:db8::/48']);
    assert.ok(setup.fake.account.instances.get(m.providerId)!.groupIds.includes(g.id));
  });

  it('with no caller CIDR known, nothing is created and the error says how to fix it', async () => {
    setup = await startFakeAws();
    await assert.rejects(setup.provider.create(spec('cbx_0000000000c3')), (e: unknown) => isCrabboxError(e) && e.code === 'bad_request' && /CRABBOX_AWS_SSH_CIDRS/.test(e.hint ?? ''));
    assert.equal(setup.fake.account.instances.size, 0);
    assert.equal(setup.fake.account.keyPairs.size, 0);
    assert.equal(setup.fake.account.groups.size, 0);
  });

  it('a world-open or near world-open CIDR is refused before anything changes', async () => {
    setup = await startFakeAws();
    for (const bad of ['0.0.0.0/0', '::/0', '0.0.0.0/1', 'not-a-cidr']) {
      await assert.rejects(setup.provider.create(spec('cbx_0000000000c4', [bad])), (e: unknown) => isCrabboxError(e) && e.code === 'invalid_config');
    }
    assert.equal(setup.fake.requests.filter((r) => r.action !== 'DescribeInstances').length, 0);
  });

  it('stale caller rules stay bounded across many callers, and the newest caller always gets in', async () => {
    setup = await startFakeAws({ maxCallerCidrs: 3 });
    for (let n = 1; n <= 7; n++) {
      setup.clock.advance(60_000);
      await setup.provider.create(spec(`cbx_0000000000d${n}`, [`192.0.2.${n}/32`]));
      const g = group(setup);
      assertOnlySshFromKnownCidrs(g);
      const cidrs = new Set(g.ingress.map((r) => r.cidr));
      assert.ok(cidrs.size <= 3, `at most 3 callers, got ${[...cidrs].join(', ')}`);
      assert.ok(cidrs.has(`192.0.2.${n}/32`));
    }
    assert.deepEqual([...new Set(group(setup).ingress.map((r) => r.cidr))].sort(), ['192.0.2.5/32', '192.0.2.6/32', '192.0.2.7/32']);
  });

  it('a second lease from the same caller adds no duplicate rules', async () => {
    setup = await startFakeAws();
    await setup.provider.create(spec('cbx_0000000000e1', ['203.0.113.7/32']));
    await setup.provider.create(spec('cbx_0000000000e2', ['203.0.113.7/32']));
    assert.equal(group(setup).ingress.length, 2);
    assert.equal(setup.fake.judged('AuthorizeSecurityGroupIngress').length, 1);
  });
});

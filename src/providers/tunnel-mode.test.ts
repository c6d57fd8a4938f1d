import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'yaml';
import { baseSpec } from './provider.contract.ts';
import { newLeaseId } from '../domain/ids.ts';
import type { MachineSpec } from './provider.ts';
import { firewallName } from './hetzner/firewall.ts';
import { startFakeHetznerProvider } from './hetzner/fake/harness.ts';
import { generateKeyPair } from './hetzner/fake/keys.ts';
import { startFakeAws } from './aws/fake/harness.ts';
import { renderUserData } from '../bootstrap/user-data.ts';

const TOKEN = Buffer.from(JSON.stringify({ a: 'acct0123456789', t: 'c0ffee00-0000-4000-8000-000000000002', s: 'c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0' })).toString('base64');

function spec(extra: Partial<MachineSpec> = {}): MachineSpec {
  return { ...baseSpec(newLeaseId(), { sshPublicKey: generateKeyPair('lease').publicKey, hostKey: generateKeyPair('host') }), ...extra };
}

/** The tunnel token appears nowhere in what a provider sends but the user data (no label, tag or other field). */
function tokenOnlyInUserData(bodies: string[], userData: string): void {
  assert.ok(userData.includes('/etc/crabbox/tunnel.env'), 'the user data carries the tunnel files');
  for (const body of bodies) assert.ok(!body.replace(userData, '').includes(TOKEN) && !body.replace(Buffer.from(userData).toString('base64'), '').includes(TOKEN));
}

describe('tunnel mode opens no inbound SSH (cloud fakes)', () => {
  it('hetzner: the lease firewall has zero rules, and the server gets the tunnel bootstrap', async () => {
    const setup = await startFakeHetznerProvider();
    try {
      const s = spec({ tunnel: { token: TOKEN }, allowedCidrs: ['198.51.100.7'] });
      await setup.provider.create(s);
      const fw = [...setup.fake.state.firewalls.values()].find((f) => f.name === firewallName(s.leaseId))!;
      assert.deepEqual(fw.rules, [], 'no rule of any kind: Hetzner then drops all inbound traffic');
      const post = setup.fake.state.requests.find((r) => r.method === 'POST' && r.path === '/servers')!.body as { user_data: string; firewalls: { firewall: number }[] };
      assert.deepEqual(post.firewalls, [{ firewall: fw.id }]);
      const files = (parse(post.user_data) as { write_files: { path: string; permissions: string }[] }).write_files;
      assert.equal(files.find((f) => f.path === '/etc/crabbox/tunnel.env')?.permissions, '0600');
      tokenOnlyInUserData(setup.fake.state.requests.map((r) => JSON.stringify(r.body ?? '')), post.user_data);
      // The same provider without tunnel mode opens exactly the SSH ports to the caller: the difference is the mode.
      const direct = spec({ allowedCidrs: ['198.51.100.7'] });
      await setup.provider.create(direct);
      const open = [...setup.fake.state.firewalls.values()].find((f) => f.name === firewallName(direct.leaseId))!;
      assert.deepEqual(open.rules.map((r) => [r.direction, r.port, r.source_ips]), [['in', '2222', ['198.51.100.7/32']], ['in', '22', ['198.51.100.7/32']]]);
    } finally {
      await setup.close();
    }
  });

  it('aws: the box is in a group with zero ingress rules, needs no caller CIDR, and the shared SSH group is not used', async () => {
    const setup = await startFakeAws({ userData: (s) => renderUserData({ sshPublicKey: s.sshPublicKey, hostKey: s.hostKey, ports: [2222, 22], user: 'crabbox', workRoot: '/work/crabbox', tunnelToken: s.tunnel?.token }) });
    try {
      const s = spec({ tunnel: { token: TOKEN } });
      const machine = await setup.provider.create(s);
      const instance = setup.fake.account.instances.get(machine.providerId)!;
      const groups = instance.groupIds.map((id) => setup.fake.account.groups.get(id)!);
      assert.deepEqual(groups.map((g) => [g.name, g.ingress.length]), [['crabbox-runners-tunnel', 0]]);
      assert.ok(!groups.some((g) => g.name === 'crabbox-runners'));
      tokenOnlyInUserData([...instance.tags.values(), ...[...setup.fake.account.keyPairs.values()].map((k) => [...k.tags.values()].join(' '))], instance.userData);
      assert.match(instance.userData, /tunnel\.env/);
    } finally {
      await setup.stop();
    }
  });
});

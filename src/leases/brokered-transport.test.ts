import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CoordinatorClient } from '../api/client.ts';
import { harness } from '../coordinator/testkit.ts';
import { startFakeCloudflare } from '../cloudflare/fake/serve.ts';
import { startFakeHetznerProvider } from '../providers/hetzner/fake/harness.ts';
import { sshArgv } from '../ssh/target.ts';
import { tempDir } from '../testing/tmp.ts';
import { createBrokeredLeaseService } from './brokered.ts';
import type { Transport } from '../domain/transport.ts';

const dir = tempDir('crabbox-brokered-transport-');
after(() => dir.remove());

/** A brokered CLI against an in-process coordinator whose hetzner boxes are (or are not) in tunnel mode. */
async function setup(name: string, options: { tunnel: boolean; proxy?: Transport }) {
  const hz = await startFakeHetznerProvider();
  const h = await harness({ providers: { hetzner: hz.provider } });
  const cf = await startFakeCloudflare({ clock: h.clock });
  if (options.tunnel) {
    h.deps.config.tunnel = { accountId: cf.state.accountId, zoneId: cf.state.zone.id, domain: cf.state.zone.name, providers: ['hetzner'], allow: { kind: 'owner' }, sshPort: 2222, apiToken: cf.token, apiUrl: cf.url };
  }
  const token = await h.userToken(name);
  const client = new CoordinatorClient({ url: 'http://coordinator.test', token, tokenKind: 'user', fetch: (input, init) => Promise.resolve(h.app.fetch(new Request(input as string, init))) });
  const stateDir = join(dir.path, name);
  const leases = createBrokeredLeaseService({
    client, stateDir, clock: h.clock, connectTimeoutSeconds: 5, defaults: { keep: false, provider: 'hetzner' }, waitReady: async () => 0, callerCidr: async () => '198.51.100.7/32',
    ...(options.proxy ? { proxy: options.proxy } : {}),
  });
  return { stateDir, leases, close: async () => (await h.close(), await cf.close(), await hz.close()) };
}

describe('brokered CLI: the transport the coordinator names wins, else the user\'s proxy', () => {
  it('tunnel mode: the lease is reached through Cloudflare Access at its tunnel host, even with a user proxy configured', async () => {
    const s = await setup('alice', { tunnel: true, proxy: { kind: 'proxy-jump', jump: 'bastion.example.com' } });
    try {
      const { lease, target } = await s.leases.create({});
      const hostname = lease.machine!.host;
      assert.match(hostname, /^mch-[0-9a-f]{12}\.boxes\.example\.com$/);
      assert.deepEqual(target.transport, { kind: 'cloudflare', hostname });
      assert.deepEqual(JSON.parse(readFileSync(join(s.stateDir, 'leases', lease.id, 'transport.json'), 'utf8')), { kind: 'cloudflare', hostname });
      const argv = sshArgv(target, 2222, 'true');
      assert.ok(argv.includes('ProxyCommand=cloudflared access ssh --hostname %h'));
      assert.ok(!argv.some((a) => a.startsWith('ProxyJump')));
      assert.deepEqual(argv.slice(-2), [hostname, 'true']);
      // A later command resolves the lease and reads the same transport back.
      assert.deepEqual(s.leases.target(await s.leases.resolve(lease.id)).transport, { kind: 'cloudflare', hostname });
    } finally {
      await s.close();
    }
  });

  it('direct boxes: the user\'s proxy is recorded and used', async () => {
    const s = await setup('bob', { tunnel: false, proxy: { kind: 'proxy-jump', jump: 'bastion.example.com' } });
    try {
      const { lease, target } = await s.leases.create({});
      assert.deepEqual(target.transport, { kind: 'proxy-jump', jump: 'bastion.example.com' });
      assert.deepEqual(s.leases.target(await s.leases.resolve(lease.id)).transport, { kind: 'proxy-jump', jump: 'bastion.example.com' });
    } finally {
      await s.close();
    }
  });
});

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { harness, PUBLIC_KEY, type Harness } from './testkit.ts';
import { startFakeCloudflare, type RunningFakeCloudflare } from '../cloudflare/fake/serve.ts';
import { CloudflareClient } from '../cloudflare/client.ts';
import { createMachineTunnel } from '../cloudflare/tunnels.ts';
import { startFakeHetznerProvider, type FakeHetznerSetup } from '../providers/hetzner/fake/harness.ts';
import { firewallName } from '../providers/hetzner/firewall.ts';
import { tempDir } from '../testing/tmp.ts';
import { startFakeAws } from '../providers/aws/fake/harness.ts';
import { renderUserData } from '../bootstrap/user-data.ts';

/**
 * Tunnel mode end to end in the coordinator, against the fake Cloudflare API and the fake Hetzner Cloud API: each
 * lease's machine gets a tunnel, DNS route and Access app, its firewall opens nothing, the lease view names the tunnel
 * host, and release, a failed create and the orphan sweep leave nothing behind. The tunnel token is in the box's user
 * data and nowhere else: not in any answer, event, log line or database file.
 */
describe('coordinator tunnel mode (fake Cloudflare, fake Hetzner)', () => {
  const tmp = tempDir('crabbox-tunnel-coord-');
  let cf: RunningFakeCloudflare;
  let hz: FakeHetznerSetup;
  let h: Harness;
  const logs: string[] = [];
  let alice: string;
  const answers: string[] = [];

  before(async () => {
    hz = await startFakeHetznerProvider();
    h = await harness({ path: join(tmp.path, 'coordinator.sqlite'), providers: { hetzner: hz.provider } });
    cf = await startFakeCloudflare({ clock: h.clock });
    h.deps.config.tunnel = {
      accountId: cf.state.accountId, zoneId: cf.state.zone.id, domain: cf.state.zone.name, providers: ['hetzner'],
      allow: { kind: 'owner' }, sshPort: 2222, apiToken: cf.token, apiUrl: cf.url,
    };
    h.deps.logger = { info: (m, d) => void logs.push(m + JSON.stringify(d ?? {})), warn: (m, d) => void logs.push(m + JSON.stringify(d ?? {})), error: (m, d) => void logs.push(m + JSON.stringify(d ?? {})) };
    alice = await h.userToken('alice');
  });
  after(async () => {
    await h.close();
    await cf.close();
    await hz.close();
    tmp.remove();
  });

  const create = async (token = alice) => {
    const r = await h.request('POST', '/v1/leases', { token, body: { sshPublicKey: PUBLIC_KEY, provider: 'hetzner' } });
    answers.push(JSON.stringify(r.json));
    return r;
  };
  /** The tunnel token the fake handed out for each live tunnel. */
  const tokens = (): string[] => [...cf.state.tunnels.values()].map((t) => cf.state.tokenFor(t));

  it('a lease gets a tunnel, DNS route and Access app for its owner; the firewall has no rule; the view names the tunnel host', async () => {
    const r = await create();
    assert.equal(r.status, 201, JSON.stringify(r.json));
    const lease = r.json.lease;
    const hostname = `${lease.machineId.replace('_', '-')}.${cf.state.zone.name}`;
    assert.deepEqual(lease.machine.transport, { kind: 'cloudflare', hostname });
    assert.equal(lease.machine.host, hostname);
    assert.deepEqual(lease.machine.ports, [2222]);
    const [tunnel] = [...cf.state.tunnels.values()];
    assert.equal(tunnel!.name, `crabbox.${h.config.installation}.${lease.machineId}`);
    assert.deepEqual([...cf.state.dnsRecords.values()].map((d) => [d.name, d.content, d.proxied]), [[hostname, `${tunnel!.id}.cfargotunnel.com`, true]]);
    const [app] = [...cf.state.accessApps.values()];
    assert.equal(app!.domain, hostname);
    assert.deepEqual(app!.policies[0]!.include, [{ email: { email: 'alice@example.com' } }]);
    // The box: zero firewall rules, and the tunnel token in its user data, root-only.
    const fw = [...hz.fake.state.firewalls.values()].find((f) => f.name === firewallName(lease.id))!;
    assert.deepEqual(fw.rules, []);
    const post = hz.fake.state.requests.filter((q) => q.method === 'POST' && q.path === '/servers').at(-1)!.body as { user_data: string };
    const envFile = (parse(post.user_data) as { write_files: { path: string; permissions: string; content: string }[] }).write_files.find((f) => f.path === '/etc/crabbox/tunnel.env')!;
    assert.equal(envFile.permissions, '0600');
    assert.equal(Buffer.from(envFile.content, 'base64').toString(), `TUNNEL_TOKEN=${cf.state.tokenFor(tunnel!)}\n`);
    // A second read of the lease says the same (the transport is recorded with the machine).
    const again = await h.request('GET', `/v1/leases/${lease.id}`, { token: alice });
    answers.push(JSON.stringify(again.json));
    assert.deepEqual(again.json.lease.machine.transport, { kind: 'cloudflare', hostname });
  });

  it('release deletes the machine with its tunnel, DNS record and Access app', async () => {
    const lease = (await h.request('GET', '/v1/leases', { token: alice })).json.leases.find((l: { state: string }) => l.state === 'active');
    const r = await h.request('POST', `/v1/leases/${lease.id}/release`, { token: alice });
    answers.push(JSON.stringify(r.json));
    assert.equal(r.status, 200);
    await h.sweep();
    assert.deepEqual(cf.state.leftovers(), []);
    assert.deepEqual([...hz.fake.state.servers.values()].map((s) => s.name), []);
  });

  it('an owner that is not an email is refused in one line before anything is made', async () => {
    const bob = await h.userToken('bob', { owner: 'bob' });
    const r = await create(bob);
    assert.equal(r.status, 400);
    assert.match(r.json.message, /allows the lease owner through Cloudflare Access by email, and "bob" is not one/);
    assert.deepEqual(cf.state.leftovers(), []);
  });

  it('a machine create that fails leaves no tunnel object', async () => {
    hz.fake.state.faults.errors.push({ method: 'POST', pathPrefix: '/servers', status: 422, code: 'invalid_input', message: 'image not found', times: 50 });
    try {
      const r = await create();
      assert.ok(r.status >= 400, JSON.stringify(r.json));
    } finally {
      hz.fake.state.faults.errors.length = 0;
    }
    await h.sweep();
    assert.deepEqual(cf.state.leftovers(), []);
  });

  it('a crash between tunnel create and machine create: the orphan sweep deletes it after the safety window, and never what is not ours', async () => {
    const client = new CloudflareClient({ token: cf.token, baseUrl: cf.url, clock: h.clock });
    const settings = { accountId: cf.state.accountId, zoneId: cf.state.zone.id, domain: cf.state.zone.name };
    await createMachineTunnel({ client, settings, installation: h.config.installation, machineId: 'mch_00000000dead', rule: { email: 'a@example.com' }, sshPort: 2222 });
    await createMachineTunnel({ client, settings, installation: 'another-install', machineId: 'mch_00000000beef', rule: { email: 'a@example.com' }, sshPort: 2222 });
    await h.sweep({ orphans: true });
    assert.equal(cf.state.leftovers().length, 6, 'inside the safety window nothing goes');
    h.clock.advance(h.config.orphanSafetyWindowSeconds * 1000 + 60_000);
    await h.sweep({ orphans: true });
    assert.deepEqual(cf.state.leftovers().sort(), ['access app crabbox.another-install.mch_00000000beef', `dns CNAME mch-00000000beef.${settings.domain}`, 'tunnel crabbox.another-install.mch_00000000beef']);
  });

  it('no tunnel token or API token in any answer, event, log line or database file', async () => {
    const secrets = [...new Set([...tokens(), ...[...cf.state.tunnels.keys()].map((id) => cf.state.tokenFor(cf.state.tunnels.get(id)!)), cf.token])];
    const events = await h.request('GET', '/v1/admin/events?limit=500', { token: await h.userToken('root') });
    const texts = [...answers, JSON.stringify(events.json), ...logs];
    const files = readdirSync(tmp.path).map((f) => readFileSync(join(tmp.path, f)).toString('latin1'));
    for (const secret of secrets) {
      for (const text of [...texts, ...files]) assert.ok(!text.includes(secret), 'a token leaked');
    }
    assert.ok(events.status === 200 && JSON.stringify(events.json).includes('machine.deleted'), `the events were read: ${events.status} ${JSON.stringify(events.json).slice(0, 200)}`);
  });
});

describe('coordinator tunnel mode on AWS (fake Cloudflare, fake EC2)', () => {
  it('the box sits in a group with zero ingress, is reached at its tunnel host, and release leaves nothing', async () => {
    const aws = await startFakeAws({ userData: (s) => renderUserData({ sshPublicKey: s.sshPublicKey, hostKey: s.hostKey, ports: [2222, 22], user: 'crabbox', workRoot: '/work/crabbox', tunnelToken: s.tunnel?.token }) });
    const h = await harness({ providers: { aws: aws.provider } });
    const cf = await startFakeCloudflare({ clock: h.clock });
    try {
      h.deps.config.tunnel = { accountId: cf.state.accountId, zoneId: cf.state.zone.id, domain: cf.state.zone.name, providers: ['aws'], allow: { kind: 'org', emailDomain: 'example.com' }, sshPort: 2222, apiToken: cf.token, apiUrl: cf.url };
      const token = await h.userToken('carol');
      const r = await h.request('POST', '/v1/leases', { token, body: { sshPublicKey: PUBLIC_KEY, provider: 'aws' } });
      assert.equal(r.status, 201, JSON.stringify(r.json));
      assert.equal(r.json.lease.machine.transport.kind, 'cloudflare');
      const instance = [...aws.fake.account.instances.values()].find((i) => i.state !== 'terminated')!;
      assert.deepEqual(instance.groupIds.map((id) => [aws.fake.account.groups.get(id)!.name, aws.fake.account.groups.get(id)!.ingress.length]), [['crabbox-runners-tunnel', 0]]);
      assert.deepEqual([...cf.state.accessApps.values()][0]!.policies[0]!.include, [{ email_domain: { domain: 'example.com' } }]);
      assert.ok(!JSON.stringify(r.json).includes(cf.state.tokenFor([...cf.state.tunnels.values()][0]!)));
      await h.request('POST', `/v1/leases/${r.json.lease.id}/release`, { token });
      await h.sweep();
      assert.deepEqual(cf.state.leftovers(), []);
      assert.deepEqual(aws.leftovers().filter((l) => l.startsWith('instance')), []);
    } finally {
      await h.close();
      await cf.close();
      await aws.stop();
    }
  });
});

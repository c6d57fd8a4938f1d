import { describe, it, before, after, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { runProviderContract, baseSpec } from '../provider.contract.ts';
import { chaosSeeds } from '../fake/chaos.ts';
import { ManualClock } from '../../domain/clock.ts';
import { CrabboxError } from '../../domain/errors.ts';
import { LABEL } from '../../domain/labels.ts';
import { newLeaseId } from '../../domain/ids.ts';
import type { MachineSpec } from '../provider.ts';
import { HetznerClient, HetznerApiError, classify } from './client.ts';
import { HetznerProvider, labelSelector, type ProviderEvent } from './provider.ts';
import { createHetznerProvider } from './index.ts';
import { sshKeyName } from './ssh-keys.ts';
import { firewallName, normalizeCidr, sshRules, sshSources } from './firewall.ts';
import { startFakeHetzner, type RunningFakeHetzner } from './fake/serve.ts';
import { startFakeHetznerProvider, type FakeHetznerSetup } from './fake/harness.ts';
import { generateKeyPair } from './fake/keys.ts';
import { parse } from 'yaml';

function specFor(leaseId: string, extra: Partial<MachineSpec> = {}, labels: Record<string, string> = {}): MachineSpec {
  const user = generateKeyPair('lease');
  return { ...baseSpec(leaseId, { sshPublicKey: user.publicKey, hostKey: generateKeyPair('host') }, labels), ...extra };
}

/** The fake's realistic defaults (running actions, locks, rate budget), then seeded chaos on top of them. */
for (const mode of [{ title: 'hetzner (realistic fake Hetzner Cloud API)', chaos: undefined }, ...chaosSeeds(process.env).map((seed) => ({ title: `hetzner (fake Hetzner Cloud API, chaos seed ${seed})`, chaos: { seed } }))]) {
  runProviderContract(mode.title, async () => {
    const setup = await startFakeHetznerProvider({ fake: { chaos: mode.chaos }, locations: ['fsn1', 'nbg1', 'hel1'] });
    return {
      provider: setup.provider,
      spec: (leaseId, labels) => specFor(leaseId, {}, labels),
      // Nothing listens on a fake Hetzner address: the server the fake account holds must have the reported IPv4.
      reachable: async (machine) => assert.equal(setup.fake.state.servers.get(Number(machine.providerId))?.public_net.ipv4?.ip, machine.host),
      leftovers: () => setup.leftovers(),
      teardown: async () => {
        // A chaos run that injected nothing proved nothing.
        if (mode.chaos) assert.ok(setup.fake.state.chaos!.log.length > 0, `${mode.title}: no fault was injected`);
        await setup.close();
      },
    };
  });
}

describe('hetzner provider against the fake API', () => {
  let setup: FakeHetznerSetup;
  let fake: RunningFakeHetzner;
  let clock: ManualClock;
  let sleeps: number[];
  let events: ProviderEvent[];
  const make = (options: { attempts?: number; locations?: string[]; readyTimeoutMs?: number } = {}): HetznerProvider =>
    setup.make({ locations: options.locations ?? ['fsn1'], readyTimeoutMs: options.readyTimeoutMs ?? 60_000, client: { attempts: options.attempts ?? 1 } });

  beforeEach(async () => {
    setup = await startFakeHetznerProvider();
    ({ fake, clock, sleeps, events } = setup);
  });
  afterEach(() => setup.close());

  it('creates key, firewall and server with the labels, cloud-init user data and chosen type', async () => {
    const leaseId = newLeaseId();
    const spec = specFor(leaseId, { class: 'fast', allowedCidrs: ['198.51.100.7'] });
    const machine = await make().create(spec);
    assert.equal(machine.type, 'ccx43', 'the first type of class fast launched and is recorded');
    assert.equal(machine.region, 'fsn1');
    assert.deepEqual(machine.ports, [2222, 22]);
    const user = `cbx-${leaseId.slice(4)}`;
    assert.equal(machine.sshUser, user, 'the lease logs in as its own user (docs/bootstrap.md)');
    assert.equal(machine.workRoot, `/var/lib/crabbox/leases/${user}/work`);
    assert.equal(machine.adminUser, 'crabbox');
    const post = fake.state.requests.find((r) => r.method === 'POST' && r.path === '/servers')!.body as Record<string, unknown>;
    const files = (parse(String(post.user_data)) as { write_files: { path: string; content: string }[] }).write_files;
    const env = Buffer.from(files.find((f) => f.path === '/etc/crabbox/bootstrap.env')!.content, 'base64').toString('utf8');
    assert.match(env, new RegExp(`^CRABBOX_LEASE_USER='${user}'$`, 'm'));
    assert.ok(env.includes(`CRABBOX_LEASE_KEY='${spec.sshPublicKey.trim()}'`), 'the lease key is the lease user\'s');
    assert.equal(Buffer.from(files.find((f) => f.path === '/etc/crabbox/authorized_keys')!.content, 'base64').toString(), '', 'and not the admin\'s');
    assert.ok(files.some((f) => f.path === '/usr/local/lib/crabbox/pool-box.sh'));
    assert.deepEqual(post.labels, spec.labels);
    assert.equal(post.server_type, 'ccx43');
    assert.deepEqual(post.public_net, { enable_ipv4: true, enable_ipv6: false });
    assert.match(String(post.user_data), /^#cloud-config\n/);
    assert.ok(!String(post.user_data).includes(fake.token), 'no provider credential in user data');
    const key = [...fake.state.sshKeys.values()].find((k) => k.name === sshKeyName(leaseId));
    assert.equal(key?.public_key, spec.sshPublicKey.trim());
    assert.deepEqual(post.ssh_keys, [key!.id]);
    const fw = [...fake.state.firewalls.values()].find((f) => f.name === firewallName(leaseId))!;
    assert.deepEqual(post.firewalls, [{ firewall: fw.id }]);
  });

  it('with the coordinator user CA, makes no key object: the server has no ssh_keys and its user data trusts the CA', async () => {
    const leaseId = newLeaseId();
    const ca = generateKeyPair('user-ca');
    const spec = specFor(leaseId, { userCa: { publicKeys: [ca.publicKey], principal: `cbx-${leaseId.slice(4)}` } });
    const machine = await make().create(spec);
    assert.equal(fake.state.sshKeys.size, 0, 'no per-lease key object');
    assert.equal(fake.state.requests.filter((r) => r.path === '/ssh_keys' && r.method === 'POST').length, 0);
    const post = fake.state.requests.find((r) => r.method === 'POST' && r.path === '/servers')!.body as { ssh_keys: number[]; user_data: string };
    assert.deepEqual(post.ssh_keys, []);
    const files = (parse(post.user_data) as { write_files: { path: string; content: string }[] }).write_files;
    const file = (path: string): string => Buffer.from(files.find((f) => f.path === path)?.content ?? 'missing', 'base64').toString('utf8');
    assert.equal(file('/etc/crabbox/user_ca_keys'), `${ca.publicKey.split(' ').slice(0, 2).join(' ')}\n`);
    assert.equal(file('/etc/crabbox/principals.new'), '', 'the admin user gets no principal');
    assert.match(file('/etc/crabbox/bootstrap.env'), new RegExp(`^CRABBOX_LEASE_USER='cbx-${leaseId.slice(4)}'\nCRABBOX_LEASE_KEY='-'$`, 'm'));
    assert.equal(machine.sshUser, `cbx-${leaseId.slice(4)}`);
    assert.equal(file('/etc/crabbox/authorized_keys'), '', 'the lease key is not on the box');
    assert.equal(post.user_data.includes(spec.sshPublicKey.split(' ')[1]!), false);
    assert.equal(await make().delete(machine.providerId), 'deleted');
  });

  it('a warm pool machine keeps its admin key object with a user CA; its user data trusts the CA for the lease users only', async () => {
    const admin = generateKeyPair('pool-admin');
    const ca = generateKeyPair('user-ca');
    await make().create(specFor(newLeaseId(), { sshPublicKey: admin.publicKey, shared: true, userCa: { publicKeys: [ca.publicKey] } }));
    assert.equal(fake.state.sshKeys.size, 1);
    const post = fake.state.requests.find((r) => r.method === 'POST' && r.path === '/servers')!.body as { user_data: string };
    const files = (parse(post.user_data) as { write_files: { path: string; content: string }[] }).write_files;
    const file = (path: string): string => Buffer.from(files.find((f) => f.path === path)?.content ?? 'missing', 'base64').toString('utf8');
    assert.equal(file('/etc/crabbox/user_ca_keys'), `${ca.publicKey.split(' ').slice(0, 2).join(' ')}\n`);
    assert.equal(file('/etc/crabbox/principals.new'), '', 'no principal for the admin user');
    assert.equal(file('/etc/crabbox/authorized_keys'), `${admin.publicKey}\n`, 'the admin keeps its key');
  });

  it('warm pool machines share one admin key object (Hetzner refuses a second with the same fingerprint); deleting them keeps it', async () => {
    const admin = generateKeyPair('pool-admin');
    const provider = make();
    const specs = [newLeaseId(), newLeaseId(), newLeaseId()].map((id) => ({ ...specFor(id), sshPublicKey: admin.publicKey, shared: true }));
    const machines = await Promise.all(specs.map((spec) => provider.create(spec)));
    assert.equal(machines.length, 3);
    const keys = [...fake.state.sshKeys.values()];
    assert.equal(keys.length, 1, 'one key object for the pool');
    assert.match(keys[0]!.name, /^crabbox-admin-[0-9a-f]{12}$/);
    for (const post of fake.state.requests.filter((r) => r.method === 'POST' && r.path === '/servers')) assert.deepEqual((post.body as { ssh_keys: number[] }).ssh_keys, [keys[0]!.id]);
    for (const m of machines) await provider.delete(m.providerId);
    assert.equal(fake.state.servers.size, 0);
    assert.deepEqual([...fake.state.sshKeys.values()].map((k) => k.name), [keys[0]!.name], 'the admin key object stays');
  });

  it('reports the provider id, deletes the server, key and firewall when the IP wait times out', async () => {
    fake.state.faults.slowIp = true;
    const leaseId = newLeaseId();
    const seen: string[] = [];
    await assert.rejects(make({ readyTimeoutMs: 30_000 }).create(specFor(leaseId), { onProviderId: (id) => void seen.push(id) }), (error: unknown) => {
      assert.ok(error instanceof CrabboxError);
      assert.equal(error.code, 'timeout');
      assert.equal(error.detail?.providerId, seen[0]);
      return true;
    });
    assert.equal(seen.length, 1, 'the id was reported before waiting');
    assert.equal(fake.state.servers.size, 0, 'the server was deleted');
    assert.equal(fake.state.sshKeys.size, 0, 'the key was deleted');
    assert.equal(fake.state.firewalls.size, 0, 'the firewall was deleted');
    assert.ok(clock.now() - Date.UTC(2026, 0, 1) >= 30_000, 'waited on the injected clock, not the wall');
    assert.ok(events.some((e) => e.type === 'provider.error' && /did not become ready; deleted it/.test(e.message)));
  });

  it('leaves the server recorded for the sweep when even the delete after a failed IP wait fails', async () => {
    fake.state.faults.slowIp = true;
    fake.state.failNext({ method: 'DELETE', pathPrefix: '/servers/', status: 503, code: 'unavailable', times: 5 });
    const seen: string[] = [];
    await assert.rejects(make().create(specFor(newLeaseId()), { onProviderId: (id) => void seen.push(id) }), /no IPv4 address/);
    assert.equal(fake.state.servers.size, 1, 'the server still exists');
    assert.equal(String([...fake.state.servers.keys()][0]), seen[0], 'and its id was handed to the caller to record');
    assert.ok(events.some((e) => e.type === 'provider.error' && /delete failed/.test(e.message)));
    fake.state.faults.errors.length = 0;
    assert.equal(await make().delete(seen[0]!), 'deleted', 'a later sweep deletes it');
    assert.equal(fake.state.servers.size, 0);
  });

  it('delete that fails twice then succeeds', async () => {
    const machine = await make().create(specFor(newLeaseId()));
    fake.state.failNext({ method: 'DELETE', pathPrefix: `/servers/${machine.providerId}`, status: 500, code: 'server_error', times: 2 });
    const provider = make();
    await assert.rejects(provider.delete(machine.providerId), /server_error|injected/);
    await assert.rejects(provider.delete(machine.providerId));
    assert.equal(await provider.delete(machine.providerId), 'deleted');
    assert.equal(fake.state.servers.size, 0);
    assert.equal(fake.state.sshKeys.size, 0);
    assert.equal(await provider.delete(machine.providerId), 'already-gone');
  });

  it('retries a 5xx delete inside one call with backoff on the injected clock', async () => {
    const machine = await make().create(specFor(newLeaseId()));
    fake.state.failNext({ method: 'DELETE', pathPrefix: `/servers/${machine.providerId}`, status: 503, code: 'service_error', times: 2 });
    const before = sleeps.length;
    assert.equal(await make({ attempts: 3 }).delete(machine.providerId), 'deleted');
    assert.equal(fake.state.count('DELETE', `/servers/${machine.providerId}`), 3);
    assert.deepEqual(sleeps.slice(before, before + 2), [500, 1000]);
  });

  it('falls back past capacity and quota errors to the third type at once', async () => {
    fake.state.faults.capacityTypes.add('ccx33');
    fake.state.faults.quotaTypes.add('cpx62');
    const machine = await make().create(specFor(newLeaseId(), { class: 'standard' }));
    assert.equal(machine.type, 'cx53');
    const posts = fake.state.requests.filter((r) => r.method === 'POST' && r.path === '/servers');
    assert.ok(posts.every((r) => r.at === posts[0]!.at), 'no waiting between candidates');
    const tried = fake.state.requests.filter((r) => r.method === 'POST' && r.path === '/servers').map((r) => (r.body as { server_type: string }).server_type);
    assert.deepEqual(tried, ['ccx33', 'cpx62', 'cx53']);
    assert.deepEqual(events.filter((e) => e.type === 'provider.fallback').map((e) => e.data.type), ['ccx33', 'cpx62']);
  });

  it('tries every location of a type before the next type', async () => {
    fake.state.faults.capacityTypes.add('ccx33');
    await make({ locations: ['fsn1', 'nbg1'] }).create(specFor(newLeaseId(), { class: 'standard' }));
    const tried = fake.state.requests.filter((r) => r.method === 'POST' && r.path === '/servers').map((r) => `${(r.body as { server_type: string }).server_type}@${(r.body as { location: string }).location}`);
    assert.deepEqual(tried, ['ccx33@fsn1', 'ccx33@nbg1', 'cpx62@fsn1']);
  });

  it('does not fall back on other errors, and cleans up the key and firewall', async () => {
    fake.state.failNext({ method: 'POST', pathPrefix: '/servers', status: 400, code: 'invalid_input', message: 'image not found' });
    await assert.rejects(make().create(specFor(newLeaseId(), { class: 'standard' })), /image not found/);
    assert.equal(fake.state.count('POST', '/servers'), 1);
    assert.equal(fake.state.sshKeys.size, 0);
    assert.equal(fake.state.firewalls.size, 0);
  });

  it('answers no capacity when every candidate is rejected', async () => {
    for (const t of ['ccx33', 'cpx62', 'cx53']) fake.state.faults.capacityTypes.add(t);
    await assert.rejects(make().create(specFor(newLeaseId(), { class: 'standard' })), (e: unknown) => e instanceof CrabboxError && e.code === 'provider_capacity');
    assert.equal(fake.state.servers.size + fake.state.sshKeys.size + fake.state.firewalls.size, 0);
  });

  it('refuses an existing key of the same name with a different public key', async () => {
    const leaseId = newLeaseId();
    fake.state.sshKeys.set(1, { id: 1, name: sshKeyName(leaseId), public_key: generateKeyPair().publicKey, fingerprint: 'x', labels: {}, created: new Date().toISOString() });
    await assert.rejects(make().create(specFor(leaseId)), /already exists with a different public key/);
    assert.equal(fake.state.servers.size, 0);
    assert.equal(fake.state.sshKeys.size, 1, 'the foreign key is left alone');
  });

  it('fails cleanly when Hetzner refuses the key as a duplicate (same material under another name)', async () => {
    const spec = specFor(newLeaseId());
    fake.state.sshKeys.set(2, { id: 2, name: 'someone-elses-key', public_key: spec.sshPublicKey, fingerprint: 'y', labels: {}, created: new Date().toISOString() });
    await assert.rejects(make().create(spec), (e: unknown) => e instanceof HetznerApiError && e.code === 'uniqueness_error');
    assert.equal(fake.state.servers.size, 0);
    assert.deepEqual([...fake.state.sshKeys.keys()], [2], 'the other key is neither reused nor touched');
  });

  it('lists across pages', async () => {
    for (let i = 0; i < 60; i++) fake.state.addServer({ name: `crabbox-x-${i}`, labels: { crabbox: 'true' } });
    fake.state.addServer({ name: 'other', labels: {} });
    const machines = await make().list({ crabbox: 'true' });
    assert.equal(machines.length, 60);
    assert.equal(fake.state.count('GET', '/servers?'), 2);
  });

  it('prices a type from the location gross price converted to USD', async () => {
    const p = new HetznerProvider({ client: new HetznerClient({ token: fake.token, baseUrl: fake.url }), eurToUsd: 1.2, locations: ['nbg1'] });
    assert.equal(await p.hourlyPrice('ccx63'), Math.round(0.5078 * 1.2 * 100) / 100);
    assert.equal(await p.hourlyPrice('no-such-type'), undefined);
  });

  it('refuses a wrong token without echoing it', async () => {
    const p = new HetznerProvider({ client: new HetznerClient({ token: 'wrong-token-abcdef', baseUrl: fake.url }) });
    await assert.rejects(p.list({ crabbox: 'true' }), (e: unknown) => e instanceof HetznerApiError && classify(e) === 'fatal' && !e.message.includes('wrong-token'));
  });

  it('needs a token from HCLOUD_TOKEN or HETZNER_TOKEN', () => {
    assert.throws(() => createHetznerProvider({ env: {} }), /HCLOUD_TOKEN or HETZNER_TOKEN/);
    assert.equal(createHetznerProvider({ env: { HETZNER_TOKEN: 'abc12345' } }).name, 'hetzner');
  });

  it('builds label selectors and refuses hostile ones', () => {
    assert.equal(labelSelector({ crabbox: 'true', [LABEL.lease]: 'cbx_0123456789ab' }), 'crabbox=true,crabbox-lease=cbx_0123456789ab');
    assert.throws(() => labelSelector({ crabbox: 'true,x!=y' }), /invalid label selector/);
  });
});

describe('hetzner firewall: SSH is never world-open when a caller CIDR is known', () => {
  const WORLD = /^(0\.0\.0\.0|::)\/0$/;
  const cases: string[][] = [['198.51.100.7'], ['198.51.100.0/24', '0.0.0.0/0'], ['203.0.113.9/32', '2001:db8::1'], ['::/0', '192.0.2.1']];
  for (const cidrs of cases) {
    it(`uses ${cidrs.join(', ')} and only the SSH ports`, () => {
      const rules = sshRules([2222, 22], cidrs);
      assert.deepEqual(rules.map((r) => r.port), ['2222', '22']);
      for (const rule of rules) {
        assert.equal(rule.direction, 'in');
        assert.equal(rule.protocol, 'tcp');
        assert.ok(rule.source_ips.length > 0);
        assert.ok(!rule.source_ips.some((s) => WORLD.test(s)), `no world rule in ${rule.source_ips.join(',')}`);
      }
      const known = cidrs.map(normalizeCidr).filter((c) => !c.endsWith('/0'));
      assert.deepEqual(rules[0]!.source_ips, known, 'exactly the caller ranges');
    });
  }

  it('opens SSH (and only SSH) to everyone when no caller CIDR is known', () => {
    assert.deepEqual(sshSources(undefined), { sources: ['0.0.0.0/0', '::/0'], world: true });
    assert.deepEqual(sshRules([2222], []).map((r) => r.port), ['2222']);
  });

  it('refuses malformed CIDRs', () => {
    assert.throws(() => sshRules([22], ['not-an-ip']), /not an IP address or CIDR/);
    assert.throws(() => sshRules([22], ['10.0.0.0/33']), /not an IP address or CIDR/);
  });

  it('applies the caller CIDR to the firewall the server is created with', async () => {
    const setup = await startFakeHetznerProvider();
    const fake = setup.fake;
    try {
      const machine = await setup.provider.create(specFor(newLeaseId(), { allowedCidrs: ['198.51.100.23'] }));
      const fw = [...fake.state.firewalls.values()][0]!;
      assert.deepEqual(fw.applied_to, [{ type: 'server', server: { id: Number(machine.providerId) } }]);
      assert.deepEqual(fw.rules.map((r) => [r.port, r.source_ips]), [['2222', ['198.51.100.23/32']], ['22', ['198.51.100.23/32']]]);
    } finally {
      await setup.close();
    }
  });
});

describe('hetzner: nothing is left behind', () => {
  let setup: FakeHetznerSetup;
  beforeEach(async () => {
    setup = await startFakeHetznerProvider();
  });
  afterEach(() => setup.close());

  it('deletes the server at once when the caller cannot record its id', async () => {
    const { fake, provider } = setup;
    await assert.rejects(provider.create(specFor(newLeaseId()), { onProviderId: () => { throw new Error('store is down'); } }), /store is down/);
    assert.equal(fake.state.servers.size + fake.state.sshKeys.size + fake.state.firewalls.size, 0);
  });

  it('sweeps keys and firewalls whose server is gone, only with the exact names, labels and installation, and only when old', async () => {
    const { fake, provider, clock } = setup;
    const live = await provider.create(specFor(newLeaseId(), {}, { [LABEL.installation]: 'inst-a' }));
    const gone = await provider.create(specFor(newLeaseId(), {}, { [LABEL.installation]: 'inst-a' }));
    const other = await provider.create(specFor(newLeaseId(), {}, { [LABEL.installation]: 'inst-b' }));
    // An interrupted delete: the servers vanish but their keys and firewalls stay.
    fake.state.deleteServer(Number(gone.providerId));
    fake.state.deleteServer(Number(other.providerId));
    const stranger = generateKeyPair().publicKey;
    fake.state.sshKeys.set(1, { id: 1, name: 'crabbox-laptop', public_key: stranger, fingerprint: 'x', labels: { crabbox: 'true', [LABEL.lease]: gone.labels[LABEL.lease]!, [LABEL.installation]: 'inst-a' }, created: new Date(0).toISOString() });

    assert.deepEqual((await provider.sweepDangling({ installation: 'inst-a' })).deleted, [], 'too young: a create may be in progress');
    clock.advance(31 * 60_000);
    const result = await provider.sweepDangling({ installation: 'inst-a' });
    assert.deepEqual(result.deleted.map((d) => [d.kind, d.leaseId]).sort(), [['firewall', gone.labels[LABEL.lease]], ['ssh_key', gone.labels[LABEL.lease]]]);
    const keyNames = [...fake.state.sshKeys.values()].map((k) => k.name).sort();
    assert.deepEqual(keyNames, ['crabbox-laptop', sshKeyName(live.labels[LABEL.lease]!), sshKeyName(other.labels[LABEL.lease]!)].sort());
    assert.equal(fake.state.firewalls.size, 2);
    const skipped = result.skipped.map((d) => `${d.kind} ${d.leaseId === live.labels[LABEL.lease] ? 'live' : d.leaseId === other.labels[LABEL.lease] ? 'other' : '?'}: ${d.reason}`).sort();
    assert.deepEqual(skipped, ['firewall live: its server exists', 'firewall other: other installation', 'ssh_key live: its server exists', 'ssh_key other: other installation']);
  });
});

describe('hetzner: a create whose answer is lost', () => {
  it('is not retried blindly: the server that was made is adopted by its lease label', async () => {
    const realFetch = globalThis.fetch;
    let dropped = 0;
    // The request reaches the API and the server is made, but the answer never arrives.
    const lossy: typeof fetch = async (input, init) => {
      const response = await realFetch(input, init);
      if (init?.method === 'POST' && String(input).endsWith('/servers') && dropped++ === 0) throw new TypeError('socket hang up');
      return response;
    };
    const setup = await startFakeHetznerProvider({ client: { fetch: lossy } });
    try {
      const seen: string[] = [];
      const machine = await setup.provider.create(specFor(newLeaseId()), { onProviderId: (id) => void seen.push(id) });
      assert.equal(setup.fake.state.count('POST', '/servers'), 1, 'exactly one create call');
      assert.equal(setup.fake.state.servers.size, 1);
      assert.deepEqual(seen, [machine.providerId]);
      assert.ok(machine.host);
    } finally {
      await setup.close();
    }
  });
});

describe('hetzner: a failure between key and server', () => {
  it('removes the key when the firewall cannot be made', async () => {
    const setup = await startFakeHetznerProvider();
    try {
      setup.fake.state.failNext({ method: 'POST', pathPrefix: '/firewalls', status: 403, code: 'resource_limit_exceeded', message: 'firewall limit reached' });
      await assert.rejects(setup.provider.create(specFor(newLeaseId())), /firewall limit reached/);
      assert.equal(setup.fake.state.sshKeys.size + setup.fake.state.firewalls.size + setup.fake.state.servers.size, 0);
    } finally {
      await setup.close();
    }
  });
});

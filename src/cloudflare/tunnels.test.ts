import { describe, it, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { CloudflareClient } from './client.ts';
import { createMachineTunnel, deleteMachineTunnel, parseTunnelLabel, sweepTunnelOrphans, tunnelLabel, type TunnelSettings } from './tunnels.ts';
import { startFakeCloudflare, type RunningFakeCloudflare } from './fake/serve.ts';
import { RecordingClock } from '../providers/fake/recording-clock.ts';
import { chaosSeeds } from '../providers/fake/chaos.ts';
import type { MachineState } from '../domain/machine.ts';

const INSTALLATION = 'cbx-test01';
const M1 = 'mch_0123456789ab';
const M2 = 'mch_aaaaaaaaaaaa';

async function setup(chaos?: { seed: number }): Promise<{ fake: RunningFakeCloudflare; clock: RecordingClock; client: CloudflareClient; settings: TunnelSettings; close(): Promise<void> }> {
  const clock = new RecordingClock(Date.UTC(2026, 0, 1));
  const stop = clock.autoAdvance();
  const fake = await startFakeCloudflare({ clock, ...(chaos ? { chaos } : {}) });
  const client = new CloudflareClient({ token: fake.token, baseUrl: fake.url, clock });
  const settings = { accountId: fake.state.accountId, zoneId: fake.state.zone.id, domain: fake.state.zone.name };
  return { fake, clock, client, settings, close: async () => (stop(), await fake.close()) };
}

describe('tunnel mode objects per machine (fake Cloudflare API)', () => {
  let s: Awaited<ReturnType<typeof setup>>;
  before(async () => {
    s = await setup();
  });
  after(() => s.close());
  beforeEach(() => {
    s.fake.state.tunnels.clear();
    s.fake.state.dnsRecords.clear();
    s.fake.state.accessApps.clear();
    s.fake.state.errors.length = 0;
  });
  const make = (machineId = M1) => createMachineTunnel({ client: s.client, settings: s.settings, installation: INSTALLATION, machineId, rule: { email: 'alice@example.com' }, sshPort: 2222 });

  it('creates the tunnel routed to the box\'s sshd, its proxied DNS route and an Access app allowing only the owner', async () => {
    const t = await make();
    const st = s.fake.state;
    const tunnel = st.tunnels.get(t.tunnelId)!;
    assert.equal(tunnel.name, `crabbox.${INSTALLATION}.${M1}`);
    assert.equal(tunnel.config_src, 'cloudflare');
    assert.deepEqual(st.ingress.get(t.tunnelId), [{ hostname: `mch-0123456789ab.${st.zone.name}`, service: 'ssh://localhost:2222' }, { service: 'http_status:404' }]);
    const [dns, ...moreDns] = [...st.dnsRecords.values()];
    assert.equal(moreDns.length, 0);
    assert.deepEqual({ name: dns!.name, type: dns!.type, content: dns!.content, proxied: dns!.proxied, comment: dns!.comment }, { name: t.hostname, type: 'CNAME', content: `${t.tunnelId}.cfargotunnel.com`, proxied: true, comment: tunnelLabel(INSTALLATION, M1) });
    const [app, ...moreApps] = [...st.accessApps.values()];
    assert.equal(moreApps.length, 0);
    assert.equal(app!.domain, t.hostname);
    assert.deepEqual(app!.policies.map((p) => ({ decision: p.decision, include: p.include })), [{ decision: 'allow', include: [{ email: { email: 'alice@example.com' } }] }]);
    // The connector token is the tunnel's own (what cloudflared reads), and was never sent to the API by the client.
    assert.deepEqual(JSON.parse(Buffer.from(t.token, 'base64').toString()), { a: st.accountId, t: t.tunnelId, s: st.secrets.get(t.tunnelId) });
    assert.ok(st.requests.every((r) => !r.path.includes(t.token) && !(r.body ?? '').includes(t.token)));
  });

  it('an org rule allows the email domain', async () => {
    await createMachineTunnel({ client: s.client, settings: s.settings, installation: INSTALLATION, machineId: M2, rule: { emailDomain: 'example.com' }, sshPort: 22 });
    assert.deepEqual([...s.fake.state.accessApps.values()][0]!.policies[0]!.include, [{ email_domain: { domain: 'example.com' } }]);
  });

  it('a lost answer to the tunnel create adopts the tunnel the retry found, not a second one', async () => {
    s.fake.state.errors.push({ method: 'POST', pathPrefix: `/accounts/${s.fake.state.accountId}/cfd_tunnel`, status: 502, code: 10002, times: 1, afterApply: true });
    const t = await make();
    assert.equal([...s.fake.state.tunnels.values()].length, 1);
    assert.equal([...s.fake.state.tunnels.keys()][0], t.tunnelId);
  });

  it('a failure after the tunnel was made deletes what was made and throws the error', async () => {
    s.fake.state.errors.push({ method: 'POST', pathPrefix: `/accounts/${s.fake.state.accountId}/access/apps`, status: 400, code: 12130, message: 'access.api.error.invalid_request', times: 1 });
    await assert.rejects(make(), /access\.api\.error\.invalid_request/);
    assert.deepEqual(s.fake.state.leftovers(), []);
  });

  it('deletes everything with the machine, a connected tunnel too, and a second delete finds it all already gone', async () => {
    const t = await make();
    s.fake.state.connect(t.tunnelId);
    const first = await deleteMachineTunnel({ client: s.client, settings: s.settings, installation: INSTALLATION, machineId: M1 });
    assert.equal(first.length, 3);
    assert.deepEqual(s.fake.state.leftovers(), []);
    assert.deepEqual(await deleteMachineTunnel({ client: s.client, settings: s.settings, installation: INSTALLATION, machineId: M1 }), []);
  });

  it('a delete that finds the DNS record removed by hand still deletes the rest', async () => {
    await make();
    s.fake.state.dnsRecords.clear();
    await deleteMachineTunnel({ client: s.client, settings: s.settings, installation: INSTALLATION, machineId: M1 });
    assert.deepEqual(s.fake.state.leftovers(), []);
  });
});

describe('tunnel orphan sweep', () => {
  it('deletes only labelled objects of this installation whose machine is gone or unknown past the safety window', async () => {
    const s = await setup();
    try {
      const mk = (machineId: string, installation = INSTALLATION) => createMachineTunnel({ client: s.client, settings: s.settings, installation, machineId, rule: { email: 'a@example.com' }, sshPort: 2222 });
      await mk('mch_000000000001'); // machine deleted in the store
      await mk('mch_000000000002'); // machine live
      await mk('mch_000000000003'); // unknown to the store (a crash between tunnel create and machine record)
      await mk('mch_000000000004', 'cbx-other'); // another installation's
      // Someone's own record in the same zone, and an Access app that is not ours.
      await s.client.request('POST', `/zones/${s.settings.zoneId}/dns_records`, { body: { type: 'A', name: `www.${s.settings.domain}`, content: '192.0.2.1', comment: 'crabbox.cbx-test01.not-a-machine' } });
      await s.client.request('POST', `/accounts/${s.settings.accountId}/access/apps`, { body: { name: 'intranet', domain: `intranet.${s.settings.domain}`, type: 'self_hosted' } });
      const states: Record<string, MachineState> = { mch_000000000001: 'deleted', mch_000000000002: 'assigned' };
      const sweep = (now: number) => sweepTunnelOrphans({ client: s.client, settings: s.settings, installation: INSTALLATION, machineState: (id) => states[id], now, safetyWindowMs: 30 * 60_000 });

      const early = await sweep(s.clock.now() + 60_000);
      assert.deepEqual(early.deleted.sort(), ['access app', 'dns', 'tunnel'].map((w) => `${w} crabbox.${INSTALLATION}.mch_000000000001`).sort());
      assert.ok(early.kept.includes(`tunnel crabbox.${INSTALLATION}.mch_000000000003`), 'unknown and young: kept');

      const late = await sweep(s.clock.now() + 31 * 60_000);
      assert.deepEqual(late.deleted.sort(), ['access app', 'dns', 'tunnel'].map((w) => `${w} crabbox.${INSTALLATION}.mch_000000000003`).sort());
      assert.deepEqual(s.fake.state.leftovers().sort(), [
        `access app crabbox.${INSTALLATION}.mch_000000000002`, 'access app crabbox.cbx-other.mch_000000000004', 'access app intranet',
        `dns CNAME mch-000000000002.${s.settings.domain}`, `dns CNAME mch-000000000004.${s.settings.domain}`, `dns A www.${s.settings.domain}`,
        `tunnel crabbox.${INSTALLATION}.mch_000000000002`, 'tunnel crabbox.cbx-other.mch_000000000004',
      ].sort());
    } finally {
      await s.close();
    }
  });

  it('labels parse back, and nothing else reads as one', () => {
    assert.deepEqual(parseTunnelLabel(tunnelLabel('cbx-a.b', M1)), { installation: 'cbx-a.b', machineId: M1 });
    for (const text of ['crabbox.x.mch_0123', 'crabbox..mch_0123456789ab', 'intranet', null, 'crabbox.x.mch_0123456789ab.evil']) assert.equal(parseTunnelLabel(text), undefined, String(text));
  });
});

describe('tunnel create and delete under seeded chaos (429, 5xx, lost answers)', () => {
  for (const seed of chaosSeeds(process.env)) {
    it(`seed ${seed}: every create is whole or gone, and every delete leaves nothing`, async () => {
      const s = await setup({ seed });
      try {
        for (let i = 0; i < 6; i++) {
          const machineId = `mch_00000000000${i}`;
          const made = await createMachineTunnel({ client: s.client, settings: s.settings, installation: INSTALLATION, machineId, rule: { email: 'a@example.com' }, sshPort: 2222 }).catch(() => undefined);
          if (made) s.fake.state.connect(made.tunnelId);
          await deleteMachineTunnel({ client: s.client, settings: s.settings, installation: INSTALLATION, machineId });
        }
        assert.ok((s.fake.state.chaos?.log.length ?? 0) > 0, 'chaos injected faults');
        assert.deepEqual(s.fake.state.leftovers(), [], `chaos log: ${s.fake.state.chaos?.log.join('; ')}`);
      } finally {
        await s.close();
      }
    });
  }
});

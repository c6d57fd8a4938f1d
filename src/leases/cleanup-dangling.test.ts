import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../domain/clock.ts';
import { LABEL, leaseLabels } from '../domain/labels.ts';
import { newLeaseId } from '../domain/ids.ts';
import { baseSpec } from '../providers/provider.contract.ts';
import { HetznerClient } from '../providers/hetzner/client.ts';
import { HetznerProvider } from '../providers/hetzner/provider.ts';
import { startFakeHetzner } from '../providers/hetzner/fake/serve.ts';
import { generateKeyPair } from '../providers/hetzner/fake/keys.ts';
import { tempDir } from '../testing/tmp.ts';
import { cleanupExpired } from './cleanup.ts';
import { DIRECT_INSTALLATION } from './direct.ts';
import { leaseFromMachine, leaseJson } from './record.ts';

describe('direct mode with Hetzner (fake API)', async () => {
  const clock = new ManualClock(Date.UTC(2026, 3, 1, 12));
  const fake = await startFakeHetzner({ clock });
  const stopClock = clock.autoAdvance(); // the fake's actions run on this clock; waits jump straight to their end
  const state = tempDir();
  after(async () => {
    stopClock();
    await fake.close();
    state.remove();
  });
  const provider = new HetznerProvider({ client: new HetznerClient({ token: fake.token, baseUrl: fake.url, clock }), clock, locations: ['fsn1'] });
  const create = async () => {
    const id = newLeaseId();
    const now = clock.now();
    const lease = { id, slug: id.slice(4), owner: 'ada@example.com', org: 'local', provider: 'hetzner', state: 'active' as const, keep: false, ttlSeconds: 7200, idleTimeoutSeconds: 7200, createdAt: now, lastTouchedAt: now, expiresAt: now + 7200_000 };
    const keys = { sshPublicKey: generateKeyPair('lease').publicKey, hostKey: generateKeyPair('host') };
    return provider.create({ ...baseSpec(id, keys), labels: leaseLabels({ lease, installation: DIRECT_INSTALLATION }), class: 'standard', allowedCidrs: ['198.51.100.7/32'] });
  };

  it('`crabbox status --json` shows the type that actually launched', async () => {
    fake.state.faults.capacityTypes.add('ccx33');
    const machine = await create();
    fake.state.faults.capacityTypes.clear();
    const lease = leaseFromMachine((await provider.get(machine.providerId))!)!;
    const json = leaseJson(lease, clock.now());
    assert.equal(json.type, 'cpx62');
  });

  it('`crabbox cleanup` also deletes keys and firewalls whose server is gone, and only those', async () => {
    const gone = await create();
    const live = await create();
    fake.state.servers.delete(Number(gone.providerId));
    for (const fw of fake.state.firewalls.values()) fw.applied_to = fw.applied_to.filter((a) => fake.state.servers.has(a.server!.id));
    clock.advance(31 * 60_000);
    const dry = await cleanupExpired({ provider, clock, stateDir: state.path, owner: 'ada@example.com', dangling: true, dryRun: true });
    assert.deepEqual(dry.dangling.deleted, [], 'a dry run deletes nothing');
    const report = await cleanupExpired({ provider, clock, stateDir: state.path, owner: 'ada@example.com', dangling: true });
    assert.deepEqual(report.dangling.deleted.map((d) => `${d.kind}:${d.leaseId === gone.labels[LABEL.lease]}`).sort(), ['firewall:true', 'ssh_key:true']);
    assert.ok(report.dangling.skipped.some((d) => d.leaseId === live.labels[LABEL.lease] && d.reason === 'its server exists'));
    assert.ok(![...fake.state.sshKeys.values()].some((k) => k.labels[LABEL.lease] === gone.labels[LABEL.lease]));
    assert.ok([...fake.state.sshKeys.values()].some((k) => k.labels[LABEL.lease] === live.labels[LABEL.lease]));
  });
});

import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { providerFor } from './registry.ts';
import type { ProviderEvent } from './provider.ts';
import { baseSpec } from './provider.contract.ts';
import { loadConfig } from '../config/load.ts';
import { newLeaseId } from '../domain/ids.ts';
import { ManualClock } from '../domain/clock.ts';
import { isolatedEnv, tempDir } from '../testing/tmp.ts';
import { startFakeHetzner } from './hetzner/fake/serve.ts';
import { generateKeyPair } from './hetzner/fake/keys.ts';

/** `providerFor` hands the caller's event sink to the cloud providers (the coordinator's audit trail hangs off it). */
describe('provider registry: events reach the caller', () => {
  const tmp = tempDir();
  after(() => tmp.remove());

  it('hetzner built from config reports a capacity fallback through ProviderContext.onEvent and declares its ready command', async () => {
    const clock = new ManualClock();
    const fake = await startFakeHetzner({ clock });
    const stopClock = clock.autoAdvance();
    try {
      const env = { ...isolatedEnv(tmp.path), HCLOUD_TOKEN: fake.token, CRABBOX_CONFIG: join(tmp.path, 'config.yaml') };
      writeFileSync(env.CRABBOX_CONFIG, `hetzner:\n  apiUrl: ${fake.url}\n  locations: [fsn1]\n`, { mode: 0o600 });
      const events: ProviderEvent[] = [];
      const provider = await providerFor(loadConfig({ env, cwd: tmp.path, noRepo: true, flags: { provider: 'hetzner' } }), { env, clock, onEvent: (e) => void events.push(e) });
      assert.equal(provider.capabilities.readyCommand, 'crabbox-ready');
      assert.equal(provider.capabilities.danglingObjects, true);
      fake.state.faults.capacityTypes.add('ccx33');
      const leaseId = newLeaseId();
      const machine = await provider.create(baseSpec(leaseId, { sshPublicKey: generateKeyPair('lease').publicKey, hostKey: generateKeyPair('host') }));
      assert.equal(machine.type, 'cpx62');
      assert.deepEqual(events.map((e) => [e.type, e.data.type, e.data.leaseId]), [['provider.fallback', 'ccx33', leaseId]]);
      await provider.delete(machine.providerId);
    } finally {
      stopClock();
      await fake.close();
    }
  });
});

import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ManualClock, systemClock } from '../../src/domain/clock.ts';
import { createApp } from '../../src/coordinator/app.ts';
import { coordinatorConfig } from '../../src/coordinator/config.ts';
import { buildProviders } from '../../src/coordinator/providers.ts';
import { sweep } from '../../src/coordinator/sweeper.ts';
import { startFakeHetzner } from '../../src/providers/hetzner/fake/serve.ts';
import { generateKeyPair } from '../../src/providers/hetzner/fake/keys.ts';
import { openSqliteStore } from '../../src/storage/sqlite.ts';
import { signUserToken } from '../../src/auth/user-token.ts';
import { tempDir } from '../../src/testing/tmp.ts';
import { nodePeerAddress } from '../../src/coordinator/entry/node-peer.ts';

const SECRET = 'e2e-session-secret-0123456789abcdef-xyz';

describe('coordinator + hetzner provider against the fake Hetzner Cloud API', () => {
  it('the coordinator holds the cloud token, creates a labelled server and deletes it with its per-lease key', async () => {
    // The fake's create actions and detaches take seconds of its clock; this one jumps to each wait's end.
    const cloudClock = new ManualClock(Date.now());
    const fake = await startFakeHetzner({ clock: cloudClock });
    const stopClock = cloudClock.autoAdvance();
    const dir = tempDir('crabbox-coord-hetzner-');
    const store = await openSqliteStore({ path: ':memory:', now: Date.now() });
    try {
      const configFile = join(dir.path, 'config.yaml');
      writeFileSync(configFile, `hetzner:\n  apiUrl: ${fake.url}\n`, { mode: 0o600 });
      const env = { HOME: dir.path, CRABBOX_CONFIG: configFile, HCLOUD_TOKEN: fake.token };
      const providers = await buildProviders(['hetzner'], { env, stateDir: dir.path, clock: cloudClock });
      const config = coordinatorConfig({ installation: 'e2e-hetzner', defaultProvider: 'hetzner', auth: { sessionSecret: SECRET } });
      const deps = { store, providers, clock: systemClock, config, peerAddress: nodePeerAddress };
      const app = createApp(deps);
      const iat = Math.floor(Date.now() / 1000);
      const token = await signUserToken({ owner: 'alice', org: 'acme', login: 'alice', iat, exp: iat + 3600, jti: 'e2e' }, SECRET);
      const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };

      const res = await app.request('/v1/leases', { method: 'POST', headers, body: JSON.stringify({ sshPublicKey: generateKeyPair('lease').publicKey, ttlSeconds: 900 }) });
      const body = (await res.json()) as { lease: { id: string; state: string; machine: { host: string; hostKey: string } } };
      assert.equal(res.status, 201, JSON.stringify(body));
      assert.equal(body.lease.state, 'active');
      assert.ok(body.lease.machine.host);
      const [server] = [...fake.state.servers.values()];
      assert.equal(server?.labels['crabbox-lease'], body.lease.id);
      assert.equal(server?.labels['crabbox-installation'], 'e2e-hetzner');
      assert.ok(fake.state.sshKeys.size >= 1, 'a per-lease key object exists while the machine does');
      assert.ok(fake.state.requests.every((r) => !JSON.stringify(r).includes(token)), 'the user token never reaches the cloud');

      const released = await app.request(`/v1/leases/${body.lease.id}/release`, { method: 'POST', headers });
      assert.equal(released.status, 200);
      assert.equal(fake.state.servers.size, 0, 'the server is deleted');
      assert.equal(fake.state.sshKeys.size, 0, 'and its per-lease key object with it');
      assert.equal((await store.getMachine((await store.getLease(body.lease.id))!.machineId!))?.state, 'deleted');
      const stats = await sweep(deps, { orphans: true });
      assert.equal(stats.orphansDeleted, 0);
    } finally {
      stopClock();
      await store.close();
      await fake.close();
      dir.remove();
    }
  });
});

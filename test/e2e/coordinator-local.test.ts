import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { systemClock } from '../../src/domain/clock.ts';
import { newLeaseId } from '../../src/domain/ids.ts';
import { startCoordinator } from '../../src/coordinator/entry/node.ts';
import { coordinatorConfig } from '../../src/coordinator/config.ts';
import { buildProviders } from '../../src/coordinator/providers.ts';
import { closeMaster, createClientKey, leaseKeyDir, leaseTarget, sshExec, waitReady, writeKnownHosts } from '../../src/ssh/index.ts';
import { tempDir } from '../../src/testing/tmp.ts';
import { testBoxesRoot } from '../../src/testing/boxes-root.ts';

const TOKEN = 'e2e-shared-token-0123456789abcdef';

describe('coordinator + local provider, end to end over loopback', () => {
  it('leases a real box through the API, ssh works with the pinned host key, release removes the box', async () => {
    const state = tempDir('crabbox-coord-e2e-');
    const boxesRoot = testBoxesRoot('crabbox-boxes-coord-');
    const boxes = boxesRoot.path;
    const { installation: _i, ...config } = coordinatorConfig({ defaultProvider: 'local', auth: { sharedToken: TOKEN } });
    const providers = await buildProviders(['local'], { env: {}, stateDir: join(state.path, 'coordinator'), localBoxesRoot: boxes });
    const running = await startCoordinator({ settings: { host: '127.0.0.1', port: 0, database: join(state.path, 'coordinator.sqlite'), config }, providers, clock: systemClock });
    const headers = { authorization: `Bearer ${TOKEN}`, 'x-crabbox-owner': 'e2e', 'content-type': 'application/json' };
    let leaseId: string | undefined;
    try {
      const client = join(state.path, 'client');
      // The client makes its key before it knows the lease id; the key dir's name is its own.
      const keyName = newLeaseId();
      const keyDir = leaseKeyDir(client, keyName);
      const sshPublicKey = await createClientKey(keyDir, keyName);
      const res = await fetch(`${running.url}/v1/leases`, { method: 'POST', headers, body: JSON.stringify({ sshPublicKey, ttlSeconds: 600 }) });
      const body = (await res.json()) as { lease: { id: string; machine: { host: string; ports: number[]; sshUser: string; workRoot: string; hostKey: string } } };
      assert.equal(res.status, 201, JSON.stringify(body));
      leaseId = body.lease.id;
      const m = body.lease.machine;
      assert.equal(m.host, '127.0.0.1');
      await writeKnownHosts(join(keyDir, 'known_hosts'), m.host, m.ports, m.hostKey);
      const target = leaseTarget({ keyDir, leaseId: keyName, host: m.host, ports: m.ports, user: m.sshUser, connectTimeoutSeconds: 5 });
      try {
        await waitReady(target, Date.now() + 20_000);
        const out = new PassThrough();
        let text = '';
        out.on('data', (b: Buffer) => (text += b.toString()));
        const result = await sshExec(target, ['sh', '-c', 'id -un; exit 3'], { stdout: out, stderr: new PassThrough() });
        assert.equal(result.exitCode, 3);
        assert.equal(text.trim(), m.sshUser);
      } finally {
        await closeMaster(target);
      }
      const released = await fetch(`${running.url}/v1/leases/${leaseId}/release`, { method: 'POST', headers });
      assert.equal(released.status, 200);
      const lease = await running.deps.store.getLease(leaseId);
      assert.equal(lease?.cleanup.state, 'done');
      assert.equal(await providers.local!.get(leaseId), undefined, 'the box is gone');
      assert.equal(existsSync(join(boxes, leaseId)), false);
    } finally {
      if (leaseId) await providers.local!.delete(leaseId).catch(() => {});
      await running.close();
      state.remove();
      boxesRoot.remove();
    }
  });
});

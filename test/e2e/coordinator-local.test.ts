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
import { setTimeout as sleep } from 'node:timers/promises';
import { machineLayout } from '../../src/providers/local/layout.ts';
import { sshdsWithConfig } from '../../src/providers/local/sshd.ts';
import { leaseLeftovers, machineDirs } from '../../src/testing/leftovers.ts';
import { closeMaster, createClientKey, leaseKeyDir, leaseTarget, sshExec, waitReady, writeKnownHosts } from '../../src/ssh/index.ts';
import { tempDir } from '../../src/testing/tmp.ts';
import { until } from '../../src/testing/until.ts';
import type { FleetStore } from '../../src/storage/store.ts';

/** The release is answered once the lease has ended; its machine's deletion follows (decision 0064). */
const machineDeleted = (store: FleetStore, leaseId: string): Promise<boolean> =>
  until(async () => {
    const lease = await store.getLease(leaseId);
    return lease?.machineId !== undefined && (await store.getMachine(lease.machineId))?.state === 'deleted';
  }, `the machine of ${leaseId} deleted`, 30_000);
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
      await machineDeleted(running.deps.store, leaseId);
      assert.equal(await providers.local!.get(leaseId), undefined, 'the box is gone');
      assert.equal(existsSync(join(boxes, leaseId)), false);
    } finally {
      if (leaseId) await providers.local!.delete(leaseId).catch(() => {});
      await running.close();
      state.remove();
      boxesRoot.remove();
    }
  });

  it('a lease released 40-80 ms after its machine dir appears leaves no sshd, user or directory (issue 11)', async () => {
    const state = tempDir('crabbox-coord-race-');
    const boxesRoot = testBoxesRoot('crabbox-boxes-coord-race-');
    const { installation: _i, ...config } = coordinatorConfig({ defaultProvider: 'local', auth: { sharedToken: TOKEN } });
    const stateDir = join(state.path, 'coordinator');
    const providers = await buildProviders(['local'], { env: {}, stateDir, localBoxesRoot: boxesRoot.path });
    const running = await startCoordinator({ settings: { host: '127.0.0.1', port: 0, database: join(state.path, 'coordinator.sqlite'), config }, providers, clock: systemClock });
    const headers = { authorization: `Bearer ${TOKEN}`, 'x-crabbox-owner': 'e2e', 'content-type': 'application/json' };
    const seen = new Set<string>();
    const inFlight: Promise<unknown>[] = [];
    try {
      const sshPublicKey = await createClientKey(join(state.path, 'client'), newLeaseId());
      for (const delay of [40, 55, 70, 80]) {
        const created = fetch(`${running.url}/v1/leases`, { method: 'POST', headers, body: JSON.stringify({ sshPublicKey, ttlSeconds: 600 }) });
        inFlight.push(created.catch(() => undefined));
        let leaseId: string | undefined;
        for (let i = 0; i < 5000 && !leaseId; i++) {
          leaseId = machineDirs(stateDir).find((id) => !seen.has(id));
          if (!leaseId) await sleep(2);
        }
        assert.ok(leaseId, 'the machine dir appeared');
        seen.add(leaseId);
        await sleep(delay);
        const released = await fetch(`${running.url}/v1/leases/${leaseId}/release`, { method: 'POST', headers });
        assert.equal(released.status, 200, await released.text());
        const answer = await created;
        await machineDeleted(running.deps.store, leaseId);
        await sleep(300); // an sshd that was still starting would be listening by now
        const layout = machineLayout({ stateDir, boxesRoot: boxesRoot.path, leaseId });
        assert.deepEqual(sshdsWithConfig(layout.sshdConfig), [], `${delay} ms: no sshd`);
        assert.deepEqual(leaseLeftovers({ stateDir, leaseId, boxesRoot: boxesRoot.path }), [], `${delay} ms: nothing left`);
        assert.ok(answer.status === 201 || answer.status === 409, `create answered ${answer.status}: ${await answer.text()}`);
        assert.equal((await running.deps.store.getLease(leaseId))?.state, 'released');
      }
    } finally {
      await Promise.all(inFlight);
      for (const id of seen) await providers.local!.delete(id).catch(() => {});
      await running.close();
      state.remove();
      boxesRoot.remove();
    }
  });
});

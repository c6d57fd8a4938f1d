// A release is answered once the lease's end is durable; the machine's deletion (several cloud API calls) follows it
// in the same process, and closing the coordinator waits for it. Real SQLite and HTTP; a fake provider whose delete
// the test holds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { systemClock } from '../domain/clock.ts';
import { FakeProvider } from '../providers/fake/fake-provider.ts';
import type { DeleteResult } from '../providers/provider.ts';
import { tempDir } from '../testing/tmp.ts';
import { openSqliteStore } from '../storage/sqlite.ts';
import { coordinatorConfig } from './config.ts';
import { startCoordinator } from './entry/node.ts';
import { PUBLIC_KEY } from './testkit.ts';

const TOKEN = 'release-after-response-token-0123456789';

class HeldDelete extends FakeProvider {
  started!: () => void;
  readonly deleting = new Promise<void>((resolve) => (this.started = resolve));
  finish!: () => void;
  readonly finished = new Promise<void>((resolve) => (this.finish = resolve));
  override async delete(providerId: string): Promise<DeleteResult> {
    this.started();
    await this.finished;
    return super.delete(providerId);
  }
}

test('a release is answered before its machine\'s delete finishes; the delete completes after it, and close() waits for it', async () => {
  const dir = tempDir('crabbox-release-after-');
  const provider = new HeldDelete();
  const { installation: _i, ...config } = coordinatorConfig({ defaultProvider: 'fake', auth: { sharedToken: TOKEN } });
  const database = join(dir.path, 'coordinator.sqlite');
  const running = await startCoordinator({ settings: { host: '127.0.0.1', port: 0, database, config }, providers: { fake: provider }, clock: systemClock });
  const headers = { authorization: `Bearer ${TOKEN}`, 'x-crabbox-owner': 'carol', 'content-type': 'application/json' };
  try {
    const created = await fetch(`${running.url}/v1/leases`, { method: 'POST', headers, body: JSON.stringify({ sshPublicKey: PUBLIC_KEY, ttlSeconds: 600 }) });
    assert.equal(created.status, 201);
    const { lease } = (await created.json()) as { lease: { id: string } };
    const released = await fetch(`${running.url}/v1/leases/${lease.id}/release`, { method: 'POST', headers });
    assert.equal(released.status, 200, 'answered while the provider is still deleting');
    assert.equal(((await released.json()) as { lease: { state: string } }).lease.state, 'released');
    await provider.deleting;
    const record = await running.deps.store.getLease(lease.id);
    assert.equal(record?.state, 'released', 'the end is committed before the answer');
    assert.equal((await running.deps.store.getMachine(record!.machineId!))?.state, 'deleting', 'the machine waits for its delete');

    let closed = false;
    const closing = running.close().then(() => (closed = true));
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(closed, false, 'close() waits for the delete in flight');
    provider.finish();
    await closing;
    const store = await openSqliteStore({ path: database, now: Date.now() });
    try {
      assert.equal((await store.getMachine(record!.machineId!))?.state, 'deleted');
      assert.deepEqual(provider.calls.filter((c) => c.op === 'delete').length, 1);
    } finally {
      await store.close();
    }
  } finally {
    provider.finish();
    await running.close().catch(() => undefined);
    dir.remove();
  }
});

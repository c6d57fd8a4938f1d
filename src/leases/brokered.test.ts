import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CoordinatorClient } from '../api/client.ts';
import { harness, type Harness } from '../coordinator/testkit.ts';
import { isCrabboxError } from '../domain/errors.ts';
import { RemoteRunRecorder } from '../runs/remote-recorder.ts';
import { getRemoteRun, listRemoteRuns } from '../runs/remote-history.ts';
import { tempDir } from '../testing/tmp.ts';
import { FakeProvider } from '../providers/fake/fake-provider.ts';
import { createBrokeredLeaseService } from './brokered.ts';

const dir = tempDir('crabbox-brokered-');
after(() => dir.remove());

async function setup(name: string, waitReady: () => Promise<unknown> = async () => 0): Promise<{ h: Harness; stateDir: string; client: CoordinatorClient; leases: ReturnType<typeof createBrokeredLeaseService>; keysSent: string[] }> {
  const provider = new FakeProvider({ hourlyPrice: 0.5 });
  const keysSent: string[] = [];
  const create = provider.create.bind(provider);
  provider.create = (spec, o) => {
    keysSent.push(spec.sshPublicKey);
    return create(spec, o);
  };
  const h = await harness({ provider });
  const token = await h.userToken(name);
  const client = new CoordinatorClient({ url: 'http://coordinator.test', token, tokenKind: 'user', fetch: (input, init) => Promise.resolve(h.app.fetch(new Request(input as string, init))) });
  const stateDir = join(dir.path, name);
  const leases = createBrokeredLeaseService({ client, stateDir, clock: h.clock, connectTimeoutSeconds: 5, defaults: { ttlSeconds: 3600, idleTimeoutSeconds: 600, keep: false }, waitReady });
  return { h, stateDir, client, leases, keysSent };
}

const reject = async (p: Promise<unknown>): Promise<string> => {
  try {
    await p;
  } catch (error) {
    assert.ok(isCrabboxError(error), String(error));
    return error.code;
  }
  assert.fail('expected a rejection');
};

describe('brokered lease service (in-process coordinator, real SQLite, fake provider)', () => {
  it('creates a lease with a locally made key: the coordinator gets the public half, known_hosts pins its host key', async () => {
    const { h, stateDir, leases, keysSent } = await setup('alice');
    try {
      const { lease, target, fresh } = await leases.create({});
      assert.equal(fresh, true);
      assert.equal(lease.state, 'active');
      assert.equal(leases.mode, 'brokered');
      const keyDir = join(stateDir, 'leases', lease.id);
      const pub = readFileSync(join(keyDir, 'id_ed25519.pub'), 'utf8').trim();
      assert.deepEqual(keysSent.map((k) => k.trim()), [pub], 'the provider got exactly our public key');
      assert.match(readFileSync(join(keyDir, 'id_ed25519'), 'utf8'), /PRIVATE KEY/);
      assert.ok(readFileSync(target.knownHostsFile, 'utf8').includes(lease.machine!.hostKey.split(' ')[1]!), 'known_hosts pins the host key');
      assert.deepEqual(readdirSync(join(stateDir, 'leases')), [lease.id]);
      assert.equal((await leases.resolve(lease.slug)).id, lease.id);
      assert.deepEqual((await leases.list()).map((l) => l.id), [lease.id]);
      h.clock.advance(60_000);
      const touched = await leases.touch(lease.id);
      assert.ok(touched.expiresAt > lease.expiresAt);
      assert.deepEqual(await leases.release(lease.slug), { leaseId: lease.id, slug: lease.slug, result: 'released' });
      assert.equal(existsSync(keyDir), false, 'keys removed on release');
      assert.equal((await leases.release(lease.id)).result, 'already-gone', 'release is idempotent');
      assert.equal((await leases.release('cbx_000000000000')).result, 'already-gone');
      assert.equal(await reject(leases.release('missing-otter')), 'lease_not_found');
      assert.equal(await reject(leases.touch(lease.id)), 'lease_not_active');
    } finally {
      await h.close();
    }
  });

  it('a box that never answers ssh is released on the coordinator and its keys removed', async () => {
    const { h, stateDir, leases } = await setup('bob', async () => {
      throw new Error('box never answered');
    });
    try {
      await assert.rejects(leases.create({}), /box never answered/);
      const { json } = await h.request('GET', '/v1/admin/leases?state=all', { token: await h.userToken('root') });
      assert.deepEqual(json.leases.map((l: { state: string }) => l.state), ['released']);
      assert.deepEqual(readdirSync(join(stateDir, 'leases')), []);
    } finally {
      await h.close();
    }
  });

  it('an interrupted create releases the lease the coordinator made anyway (found again by its idempotency key)', async () => {
    const provider = new FakeProvider({ hourlyPrice: 0.5 });
    const controller = new AbortController();
    const create = provider.create.bind(provider);
    provider.create = (spec, o) => {
      controller.abort(); // Ctrl-C while the coordinator provisions
      return create(spec, o);
    };
    const h = await harness({ provider });
    try {
      const token = await h.userToken('frank');
      const honoringAbort: typeof fetch = (input, init) => new Promise((resolve, reject) => {
        init?.signal?.addEventListener('abort', () => reject(Object.assign(new Error('aborted'), { name: 'AbortError' })), { once: true });
        Promise.resolve(h.app.fetch(new Request(input as string, { ...init, signal: undefined }))).then(resolve, reject);
      });
      const client = new CoordinatorClient({ url: 'http://coordinator.test', token, tokenKind: 'user', fetch: honoringAbort });
      const stateDir = join(dir.path, 'frank');
      const leases = createBrokeredLeaseService({ client, stateDir, clock: h.clock, connectTimeoutSeconds: 5, defaults: { ttlSeconds: 3600, idleTimeoutSeconds: 600, keep: false }, waitReady: async () => 0 });
      assert.equal(await reject(leases.create({ signal: controller.signal })), 'interrupted');
      const { json } = await h.request('GET', '/v1/admin/leases?state=all', { token: await h.userToken('root') });
      assert.deepEqual(json.leases.map((l: { state: string }) => l.state), ['released'], 'one lease, released');
      assert.deepEqual(readdirSync(join(stateDir, 'leases')), [], 'no keys left');
    } finally {
      await h.close();
    }
  });

  it('records runs on the coordinator: create, finish (redacted tail, timings, exit code), read back; a second finish is ignored', async () => {
    const { h, client, leases } = await setup('carol');
    try {
      const { lease } = await leases.create({});
      const recorder = new RemoteRunRecorder({ client, recordCommand: true });
      const runId = await recorder.start({ leaseId: lease.id, slug: lease.slug, provider: lease.provider, command: ['npm', 'test'] });
      await recorder.finish(runId, { exitCode: 3, timings: { sync: 120, command: 900, total: 1100 }, logTail: { text: 'line one\nok\n', totalBytes: 12, truncated: false } });
      await recorder.finish(runId, { exitCode: 0, timings: {} });
      const remote = await getRemoteRun(client, runId, true);
      assert.equal(remote.record.state, 'failed');
      assert.equal(remote.record.exitCode, 3);
      assert.deepEqual(remote.record.timings, { sync: 120, command: 900, total: 1100 });
      assert.equal(remote.record.logTail?.text, 'line one\nok\n');
      assert.deepEqual(remote.record.command, ['npm test']);
      const listed = await listRemoteRuns(client, { lease: lease.slug, limit: 10 });
      assert.deepEqual(listed.map((r) => r.id), [runId]);
      assert.deepEqual(await listRemoteRuns(client, { state: 'succeeded', limit: 10 }), []);
      assert.equal(await reject(getRemoteRun(client, 'run_$(whoami)', false)), 'bad_request');
    } finally {
      await h.close();
    }
  });
});

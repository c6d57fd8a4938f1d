// kill -9 of a real `crabbox coordinator serve` process at the worst moments of a lease, with the Hetzner provider
// against the fake Hetzner API behind a proxy that freezes one request. After a restart (its clock moved past the
// provisioning timeout where that matters), the sweeps leave no server, key or firewall, and the lease record says
// what happened.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { startFakeHetzner, type RunningFakeHetzner } from '../../src/providers/hetzner/fake/serve.ts';
import { generateKeyPair } from '../../src/providers/hetzner/fake/keys.ts';
import { openSqliteStore } from '../../src/storage/sqlite.ts';
import { startHoldProxy, type HoldProxy } from '../../src/testing/hold-proxy.ts';
import { startServe, type ServeProcess } from '../../src/testing/serve.ts';
import { isolatedEnv, tempDir } from '../../src/testing/tmp.ts';
import { until } from '../../src/testing/until.ts';

const TOKEN = 'faults-shared-token-0123456789abcdef';
const headers = { authorization: `Bearer ${TOKEN}`, 'x-crabbox-owner': 'ada', 'content-type': 'application/json' };

interface Fixture {
  fake: RunningFakeHetzner;
  proxy: HoldProxy;
  db: string;
  start(extraEnv?: NodeJS.ProcessEnv): Promise<ServeProcess>;
  /** Creates a lease through the coordinator; resolves with the response or the connection error. */
  create(coordinator: ServeProcess): Promise<Response | Error>;
  /** Every lease in the store file with its events (read with the coordinator stopped). */
  records(): Promise<{ id: string; state: string; machine: string | undefined; events: string[] }[]>;
  /** Servers, SSH keys and firewalls left in the fake account. */
  cloud(): string[];
}

async function fixture(t: TestContext): Promise<Fixture> {
  const fake = await startFakeHetzner();
  const proxy = await startHoldProxy(fake.url.replace(/\/v1$/, ''));
  const dir = tempDir('crabbox-faults-coord-');
  const servers: ServeProcess[] = [];
  t.after(async () => {
    for (const s of servers) await s.stop('SIGKILL');
    await proxy.close();
    await fake.close();
    dir.remove();
  });
  const userConfig = join(dir.path, 'config.yaml');
  writeFileSync(userConfig, `hetzner:\n  apiUrl: ${proxy.url}/v1\n  locations: [fsn1]\n`, { mode: 0o600 });
  const coordConfig = join(dir.path, 'coordinator.yaml');
  // Objects a crash strands are swept once 10 minutes old (the default is 30), so a restart 20 minutes later
  // finds the create timed out (15 min) while the lease's idle deadline (30 min) has not passed.
  writeFileSync(coordConfig, 'installation: faults-e2e\norphanSafetyWindow: 10m\n');
  const env = isolatedEnv(dir.path, { CRABBOX_CONFIG: userConfig, HCLOUD_TOKEN: fake.token, CRABBOX_SHARED_TOKEN: TOKEN, CRABBOX_COORDINATOR_CONFIG: coordConfig });
  const db = join(dir.path, 'coordinator.sqlite');
  return {
    fake, proxy, db,
    async start(extraEnv = {}) {
      const s = await startServe({ ...env, ...extraEnv }, ['--db', db, '--providers', 'hetzner']);
      servers.push(s);
      return s;
    },
    create: (c) => fetch(`${c.url}/v1/leases`, { method: 'POST', headers, body: JSON.stringify({ sshPublicKey: generateKeyPair('lease').publicKey, ttlSeconds: 3600 }) }).catch((e: Error) => e),
    async records() {
      const store = await openSqliteStore({ path: db, now: Date.now() });
      try {
        const leases = (await store.listLeases({ limit: 100 })).items;
        return await Promise.all(leases.map(async (l) => ({ id: l.id, state: l.state, machine: l.machineId ? (await store.getMachine(l.machineId))?.state : undefined, events: (await store.listEvents({ leaseId: l.id, limit: 100 })).items.map((e) => e.type).reverse() })));
      } finally {
        await store.close();
      }
    },
    cloud: () => [...[...fake.state.servers.values()].map((s) => `server ${s.name}`), ...[...fake.state.sshKeys.values()].map((k) => `key ${k.name}`), ...[...fake.state.firewalls.values()].map((f) => `firewall ${f.name}`)],
  };
}

describe('coordinator kill -9 mid-lease (real serve process, Hetzner provider, fake Hetzner API)', () => {
  it('killed between the lease record and the provider create: after a restart the lease is failed and no key or firewall is left', async (t) => {
    const f = await fixture(t);
    const first = await f.start();
    // The server create never reaches the cloud; the per-lease key and firewall made before it do.
    const held = f.proxy.hold({ method: 'POST', pathPrefix: '/v1/servers', forward: false });
    const pending = f.create(first);
    await held;
    first.child.kill('SIGKILL');
    assert.ok((await pending) instanceof Error, 'the caller sees the connection drop, never a success');
    assert.deepEqual(f.fake.state.servers.size, 0);
    assert.ok(f.cloud().length > 0, `the crash left per-lease objects behind: ${f.cloud()}`);
    const [before] = await f.records();
    assert.equal(before?.state, 'provisioning', 'the lease was recorded before the provider was called');

    // 20 minutes later (past the provisioning timeout and the safety window): the first sweep cleans up.
    const second = await f.start({ CRABBOX_CLOCK_OFFSET: '20m' });
    await until(() => f.cloud().length === 0, `an empty account, still have ${f.cloud()}`);
    const answer = await fetch(`${second.url}/v1/leases/${before!.id}`, { headers });
    assert.equal(((await answer.json()) as { lease: { state: string } }).lease.state, 'failed', 'the user can see what happened');
    await second.stop();
    const [after] = await f.records();
    assert.deepEqual([after?.id, after?.state], [before!.id, 'failed'], 'the lease is not lost');
    assert.deepEqual(after?.events.slice(0, 2), ['lease.created', 'lease.failed']);
  });

  it('killed between the provider create and recording the machine id: after a restart the lease is failed and server, key and firewall are deleted', async (t) => {
    const f = await fixture(t);
    const first = await f.start();
    // The cloud makes the server; the coordinator never hears back.
    const held = f.proxy.hold({ method: 'POST', pathPrefix: '/v1/servers', forward: true });
    const pending = f.create(first);
    await held;
    first.child.kill('SIGKILL');
    assert.ok((await pending) instanceof Error);
    assert.equal(f.fake.state.servers.size, 1, 'the server exists at the cloud');
    const [before] = await f.records();
    assert.equal(before?.state, 'provisioning');

    const second = await f.start({ CRABBOX_CLOCK_OFFSET: '20m' });
    await until(() => f.cloud().length === 0, `an empty account, still have ${f.cloud()}`);
    await second.stop();
    const [after] = await f.records();
    assert.deepEqual([after?.id, after?.state], [before!.id, 'failed']);
    assert.ok(after?.events.includes('machine.deleted'), `the deletion is on the record: ${after?.events}`);
  });

  for (const forward of [false, true]) {
    it(`killed during release (${forward ? 'the cloud deleted the server, the answer was lost' : 'the delete never reached the cloud'}): after a restart the machine is gone and the lease released`, async (t) => {
      const f = await fixture(t);
      const first = await f.start();
      const created = await f.create(first);
      assert.ok(created instanceof Response, String(created));
      const text = await created.text();
      assert.equal(created.status, 201, text);
      const { lease } = JSON.parse(text) as { lease: { id: string } };
      assert.equal(f.fake.state.servers.size, 1);
      const held = f.proxy.hold({ method: 'DELETE', pathPrefix: '/v1/servers/', forward });
      const release = fetch(`${first.url}/v1/leases/${lease.id}/release`, { method: 'POST', headers }).catch((e: Error) => e);
      await held;
      // The release was answered once the lease's end was committed; the delete follows it (decision 0064).
      const answered = await release;
      assert.ok(answered instanceof Response && answered.status === 200, String(answered));
      first.child.kill('SIGKILL');

      // 11 minutes later: the dead process's claim on the delete (5 minutes) has run out, so the sweep retries it;
      // a key and firewall whose server the cloud already deleted are per-lease objects older than the safety window.
      const second = await f.start({ CRABBOX_CLOCK_OFFSET: '11m' });
      await until(() => f.cloud().length === 0, `an empty account, still have ${f.cloud()}`);
      await until(async () => {
        const r = await fetch(`${second.url}/v1/leases/${lease.id}`, { headers });
        return ((await r.json()) as { lease: { state: string } }).lease.state === 'released';
      }, 'the lease to read released');
      await second.stop();
      const [after] = await f.records();
      assert.deepEqual([after?.state, after?.machine], ['released', 'deleted']);
      assert.equal(after?.events.at(-1), 'machine.deleted');
    });
  }
});

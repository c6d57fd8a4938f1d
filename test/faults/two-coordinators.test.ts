// Two `crabbox coordinator serve` processes on one PostgreSQL database and one (fake) Hetzner account; one is killed
// -9 in the middle of a create. The other keeps serving, and its sweeps recover the dead one's half-made lease.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startFakeHetzner, type RunningFakeHetzner } from '../../src/providers/hetzner/fake/serve.ts';
import { generateKeyPair } from '../../src/providers/hetzner/fake/keys.ts';
import { startHoldProxy, type HoldProxy } from '../../src/testing/hold-proxy.ts';
import { startPostgres, type TestPostgres } from '../../src/testing/postgres.ts';
import { startServe, type ServeProcess } from '../../src/testing/serve.ts';
import { isolatedEnv, tempDir } from '../../src/testing/tmp.ts';
import { until } from '../../src/testing/until.ts';

const TOKEN = 'two-coordinators-token-0123456789abcdef';
const headers = { authorization: `Bearer ${TOKEN}`, 'x-crabbox-owner': 'ada', 'content-type': 'application/json' };

describe('two coordinators on one PostgreSQL, one killed mid-operation', () => {
  let pg: TestPostgres;
  let fake: RunningFakeHetzner;
  let proxy: HoldProxy;
  const dir = tempDir('crabbox-faults-two-');
  const running: ServeProcess[] = [];
  let env: NodeJS.ProcessEnv;

  before(async () => {
    pg = await startPostgres();
    fake = await startFakeHetzner();
    proxy = await startHoldProxy(fake.url.replace(/\/v1$/, ''));
    const userConfig = join(dir.path, 'config.yaml');
    writeFileSync(userConfig, `hetzner:\n  apiUrl: ${proxy.url}/v1\n  locations: [fsn1]\n`, { mode: 0o600 });
    const coordConfig = join(dir.path, 'coordinator.yaml');
    writeFileSync(coordConfig, 'installation: faults-pg\norphanSafetyWindow: 10m\n');
    env = isolatedEnv(dir.path, { CRABBOX_CONFIG: userConfig, HCLOUD_TOKEN: fake.token, CRABBOX_SHARED_TOKEN: TOKEN, CRABBOX_COORDINATOR_CONFIG: coordConfig, CRABBOX_DATABASE_URL: pg.url });
  });
  after(async () => {
    for (const s of running) await s.stop('SIGKILL');
    await proxy.close();
    await fake.close();
    await pg.stop();
    dir.remove();
  });

  const start = async (extra: NodeJS.ProcessEnv = {}): Promise<ServeProcess> => {
    const s = await startServe({ ...env, ...extra }, ['--providers', 'hetzner']);
    running.push(s);
    return s;
  };
  const create = (c: ServeProcess) => fetch(`${c.url}/v1/leases`, { method: 'POST', headers, body: JSON.stringify({ sshPublicKey: generateKeyPair('lease').publicKey, ttlSeconds: 3600 }) });
  const lease = async (c: ServeProcess, id: string) => ((await (await fetch(`${c.url}/v1/leases/${id}`, { headers })).json()) as { lease: { state: string } }).lease;

  it('the survivor keeps serving, and once the create has timed out its sweeps fail the dead one\'s lease and delete the server it made', async () => {
    const a = await start();
    const b = await start();
    const held = proxy.hold({ method: 'POST', pathPrefix: '/v1/servers', forward: true });
    const pending = create(a).catch((e: Error) => e);
    await held;
    a.child.kill('SIGKILL');
    assert.ok((await pending) instanceof Error, 'the caller of the dead coordinator sees the connection drop');
    assert.equal(fake.state.servers.size, 1, 'the dead coordinator\'s server exists');

    // B serves on while A is dead: a whole lease through B, on the same database.
    const made = await create(b);
    const text = await made.text();
    assert.equal(made.status, 201, text);
    const ok = (JSON.parse(text) as { lease: { id: string } }).lease.id;
    assert.equal((await fetch(`${b.url}/v1/leases/${ok}/release`, { method: 'POST', headers })).status, 200);
    const listed = (await (await fetch(`${b.url}/v1/leases?state=all&limit=50`, { headers })).json()) as { leases: { id: string; state: string }[] };
    const orphan = listed.leases.find((l) => l.id !== ok);
    assert.equal(orphan?.state, 'provisioning', 'B sees the lease A recorded before it died: nothing is lost');
    // The release is answered once the lease has ended; its server's delete follows (decision 0064).
    await until(() => fake.state.servers.size <= 1, 'B to delete its own server');
    assert.equal(fake.state.servers.size, 1, 'B deleted only its own server');

    // B, 20 minutes on (a restart with its clock moved; A stays dead): the create timed out, the server goes.
    await b.stop();
    const later = await start({ CRABBOX_CLOCK_OFFSET: '20m' });
    await until(() => fake.state.servers.size + fake.state.sshKeys.size + fake.state.firewalls.size === 0, 'an empty account');
    assert.equal((await lease(later, orphan!.id)).state, 'failed');
    assert.equal((await lease(later, ok)).state, 'released');
    const events = (await (await fetch(`${later.url}/v1/events?leaseId=${orphan!.id}&limit=50`, { headers })).json()) as { events: { type: string }[] };
    const types = events.events.map((e) => e.type);
    for (const t of ['lease.created', 'lease.failed', 'machine.deleted']) assert.ok(types.includes(t), `${t} in ${types.join(',')}`);
  });
});

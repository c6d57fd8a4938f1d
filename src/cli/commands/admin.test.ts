import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { serve } from '@hono/node-server';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { harness, PUBLIC_KEY, type Harness } from '../../coordinator/testkit.ts';
import { runCli } from '../../testing/cli.ts';
import { isolatedEnv, tempDir } from '../../testing/tmp.ts';
import { coordinatorChecks } from '../../doctor/coordinator.ts';
import { offsetClock, systemClock } from '../../domain/clock.ts';

// The CLI's admin, usage and events commands against the coordinator app on a loopback port (fake provider, real SQLite).
const dir = tempDir('crabbox-admin-cli-');
let h: Harness;
let server: ReturnType<typeof serve>;
let url = '';
const tokens: Record<string, string> = {};

const as = (who: string, argv: string[]) =>
  runCli(argv, { env: isolatedEnv(join(dir.path, who), { CRABBOX_COORDINATOR: url, CRABBOX_COORDINATOR_TOKEN: tokens[who] }), cwd: dir.path, clock: h.clock });

describe('admin, usage and events commands', () => {
  before(async () => {
    h = await harness({ config: { caps: { activeLeases: { owner: 3 } } } as never });
    server = await new Promise((resolve) => {
      const s = serve({ fetch: h.app.fetch, hostname: '127.0.0.1', port: 0 }, () => resolve(s));
    });
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    for (const who of ['root', 'dana', 'erin', 'fern']) tokens[who] = await h.userToken(who);
  });
  after(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await h.close();
    dir.remove();
  });

  it('an admin lists, releases and deletes anyone\'s leases, drains and reads everyone\'s events; others get exit 77', async () => {
    const create = async (who: string): Promise<{ id: string; slug: string }> => (await h.request('POST', '/v1/leases', { token: tokens[who], body: { sshPublicKey: PUBLIC_KEY } })).json.lease;
    const a = await create('dana');
    const b = await create('erin');
    const listed = await as('root', ['admin', 'leases', '--json']);
    assert.equal(listed.code, 0, listed.stderr);
    assert.deepEqual((JSON.parse(listed.stdout) as { leases: { id: string }[] }).leases.map((l) => l.id).sort(), [a.id, b.id].sort());
    assert.match((await as('root', ['admin', 'leases', '--owner', 'erin@example.com'])).stdout, new RegExp(`${b.id}\\s+${b.slug}\\s+erin@example.com`));
    assert.equal((await as('root', ['admin', 'release', a.id])).stdout, `released ${a.id} (${a.slug}) of dana@example.com\n`);
    assert.equal((await as('root', ['admin', 'delete', b.id])).code, 64, 'refused without --force');
    assert.equal((await as('root', ['admin', 'delete', b.id, '--force'])).stdout, `deleted ${b.id} (${b.slug}) of erin@example.com\n`);
    const events = await as('root', ['admin', 'events', '--owner', 'dana@example.com', '--json']);
    const types = (JSON.parse(events.stdout) as { events: { type: string }[] }).events.map((e) => e.type);
    assert.ok(types.includes('admin.release') && types.includes('lease.created'), types.join(','));
    const c = await create('dana');
    assert.equal((await as('root', ['admin', 'drain'])).stdout, 'draining: new leases are refused; released 1 live lease\n');
    assert.equal((await h.request('GET', `/v1/leases/${c.id}`, { token: tokens.dana })).json.lease.state, 'released');
    const refused = await as('dana', ['warmup']);
    assert.notEqual(refused.code, 0, 'creates are refused while draining');
    assert.equal(refused.stderr.trim().split('\n').length, 1, refused.stderr);
    assert.equal((await as('root', ['admin', 'drain', '--off'])).stdout, 'not draining: new leases are accepted\n');
    for (const argv of [['admin', 'leases'], ['admin', 'release', a.id], ['admin', 'delete', a.id, '--force'], ['admin', 'drain'], ['admin', 'events']]) {
      const r = await as('dana', argv);
      assert.equal(r.code, 77, `${argv.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, /^crabbox: `crabbox admin \w+` is only for coordinator admins: .*; ask an admin/);
      assert.equal(r.stderr.trim().split('\n').length, 1);
    }
  });

  it('an admin lists machines and drains or undrains one; the fleet forms and bad input behave', async () => {
    const lease = (await h.request('POST', '/v1/leases', { token: tokens.dana, body: { sshPublicKey: PUBLIC_KEY } })).json.lease as { id: string; machineId: string };
    const listed = await as('root', ['admin', 'machines', '--json']);
    assert.equal(listed.code, 0, listed.stderr);
    const mine = (JSON.parse(listed.stdout) as { machines: { id: string; state: string; leaseId: string; assignments: number; ageSeconds: number }[] }).machines.find((m) => m.id === lease.machineId);
    assert.deepEqual([mine?.state, mine?.leaseId, mine?.assignments, mine?.ageSeconds], ['assigned', lease.id, 1, 0]);
    const table = await as('root', ['admin', 'machines']);
    assert.match(table.stdout, /^ID\s+STATE\s+PROVIDER\s+TYPE\s+AGE\s+LEASE\s+ASSIGNMENTS\s+POOL\s+HOST\n/);
    assert.match(table.stdout, new RegExp(`${lease.machineId}\\s+assigned\\s+fake\\s+fake-small\\s+0s\\s+${lease.id}\\s+1\\s+-\\s+127\\.0\\.0\\.1`));
    assert.equal((await as('root', ['admin', 'drain', lease.machineId])).stdout, `drained ${lease.machineId}: draining (lease ${lease.id})\n`);
    assert.equal((await as('root', ['admin', 'drain', lease.machineId])).stdout, `${lease.machineId} was already draining (lease ${lease.id}); nothing changed\n`);
    const drained = JSON.parse((await as('root', ['admin', 'machines', '--state', 'draining', '--json'])).stdout) as { machines: { id: string }[] };
    assert.deepEqual(drained.machines.map((m) => m.id), [lease.machineId]);
    const undrained = await as('root', ['admin', 'undrain', lease.machineId, '--json']);
    assert.deepEqual([JSON.parse(undrained.stdout).machine.state, JSON.parse(undrained.stdout).changed], ['assigned', true]);
    const events = JSON.parse((await as('root', ['admin', 'events', '--machine', lease.machineId, '--json'])).stdout) as { events: { type: string; machineId: string }[] };
    assert.deepEqual(events.events.map((e) => e.type), ['machine.undrained', 'machine.drained', 'machine.assigned', 'machine.provisioned']);
    assert.equal((await as('root', ['admin', 'undrain'])).stdout, 'not draining: new leases are accepted\n', 'with no machine, the fleet');
    for (const [argv, pattern] of [
      [['admin', 'drain', 'blue-crab'], /"blue-crab" is not a machine id \(mch_ \+ 12 hex\)/],
      [['admin', 'drain', lease.machineId, '--off'], /--off ends the fleet drain/],
      [['admin', 'machines', '--state', 'sleeping'], /--state "sleeping": expected one of live, all, provisioning/],
      [['admin', 'machines', '--pool', 'Not A Pool'], /--pool/],
      [['admin', 'events', '--machine', 'x'], /not a machine id/],
    ] as const) {
      const r = await as('root', [...argv]);
      assert.equal(r.code, 64, `${argv.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, pattern);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    }
    const missing = await as('root', ['admin', 'drain', 'mch_ffffffffffff']);
    assert.equal(missing.code, 66, missing.stderr);
    assert.match(missing.stderr, /no machine mch_ffffffffffff/);
    for (const argv of [['admin', 'machines'], ['admin', 'drain', lease.machineId], ['admin', 'undrain', lease.machineId]]) {
      const r = await as('dana', argv);
      assert.equal(r.code, 77, `${argv.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, /is only for coordinator admins/);
    }
    assert.equal((await h.store.getMachine(lease.machineId))?.state, 'assigned', 'refused calls changed nothing');
    await h.request('POST', `/v1/leases/${lease.id}/release`, { token: tokens.dana });
  });

  it('usage groups by the chosen column and shows the caps; events follow one lease', async () => {
    // fern is this test's own user: her month holds exactly what the test made, whatever ran before.
    const create = async () => (await h.request('POST', '/v1/leases', { token: tokens.fern, body: { sshPublicKey: PUBLIC_KEY } })).json.lease as { id: string; slug: string };
    const released = await create();
    assert.equal((await h.request('POST', `/v1/leases/${released.id}/release`, { token: tokens.fern })).status, 200);
    const lease = await create();
    const usage = await as('fern', ['usage', '--by', 'org', '--json']);
    const parsed = JSON.parse(usage.stdout) as { by: string; rows: { key: string; leases: number }[]; caps: { activeLeases: { owner: { limit: number; current: number } } } };
    assert.equal(parsed.by, 'org');
    assert.deepEqual(parsed.rows.map((r) => [r.key, r.leases]), [['acme', 2]]);
    assert.deepEqual(parsed.caps.activeLeases.owner, { limit: 3, current: 1 });
    assert.equal((await as('fern', ['usage', '--month', '2026-13'])).code, 64);
    const events = await as('fern', ['events', '--lease', lease.slug]);
    assert.match(events.stdout, /lease\.created\s+fern@example\.com/);
    assert.equal((await as('fern', ['events', '--limit', '0'])).code, 64);
    assert.equal((await as('fern', ['events', '--type', 'DROP TABLE'])).code, 64);
  });

  it('doctor: auth failure and clock skew are reported with a fix', async () => {
    const config = { coordinator: { url, token: 'not-a-valid-token-000000', tokenKind: 'shared' as const }, owner: 'x', org: 'x' };
    const bad = await coordinatorChecks({ config, clock: systemClock });
    assert.deepEqual(bad.map((c) => [c.name, c.ok]), [['coordinator', true], ['coordinator auth', false], ['clock skew', true]]);
    assert.match(bad[1]!.fix ?? '', /crabbox login/);
    const behind = await coordinatorChecks({ config: { ...config, coordinator: { ...config.coordinator, token: tokens.erin!, tokenKind: 'user' } }, clock: offsetClock(systemClock, -5 * 60_000) });
    assert.equal(behind.find((c) => c.name === 'coordinator auth')?.ok, true);
    assert.match(behind.find((c) => c.name === 'clock skew')?.detail ?? '', /^this clock is (299|300|301)s behind the coordinator's$/);
    const none = await coordinatorChecks({ config: { owner: 'x', org: 'x' }, clock: systemClock });
    assert.deepEqual(none.map((c) => [c.name, c.ok]), [['coordinator', true]]);
  });
});

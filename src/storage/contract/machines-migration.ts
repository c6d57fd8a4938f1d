import assert from 'node:assert/strict';
import type { SqlDriver } from '../sql/driver.ts';
import { loadMigrations, type Migration } from '../sql/migrations.ts';
import { SqlFleetStore } from '../sql/store.ts';

const T = Date.UTC(2026, 0, 10, 12);
const MIN = 60_000;

/** A lease row as the schema before 0006 kept it (machine columns and cleanup bookkeeping on the lease). */
function oldLease(id: string, state: string, extra: Record<string, string | number | null> = {}): { sql: string; params: (string | number | null)[] } {
  const row: Record<string, string | number | null> = {
    id, slug: `red-crab-${id.slice(-4)}`, owner: 'alice', org: 'acme', provider: 'fake', machine_class: 'standard', machine_type: 'small', state,
    keep: 0, ttl_seconds: 3600, idle_timeout_seconds: 1800, created_at: T, last_touched_at: T, expires_at: T + 30 * MIN,
    idempotency_key: `k-${id}`, hourly_price: 0.5, reserved_cost: 0.5, ...extra,
  };
  const columns = Object.keys(row);
  return { sql: `INSERT INTO leases (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`, params: Object.values(row) };
}

const placed = (pid: string) => ({ provider_id: pid, host: '10.0.0.7', ports: '[2222,22]', ssh_user: 'crabbox', work_root: '/work/crabbox', host_key: 'ssh-ed25519 AAAAold', region: 'fsn1' });

/**
 * Migration 0006 on a database made at the schema before it: every lease whose machine the provider knows (and every
 * lease still provisioning) gets a machine in the state its cleanup bookkeeping said, the lease keeps reaching its box,
 * due deletions stay due, and machine events name their machine. `migrateWith` applies the given migrations the way the
 * backend does at start-up.
 */
export async function checkMachinesMigration(driver: SqlDriver, migrateWith: (migrations: Migration[]) => Promise<unknown>): Promise<void> {
  const all = loadMigrations();
  await migrateWith(all.filter((m) => m.version < 6));
  const rows = [
    oldLease('cbx_00000000a001', 'active', placed('p-active')),
    oldLease('cbx_00000000a002', 'released', { ...placed('p-gone'), ended_at: T + MIN, end_reason: 'released', cleanup_state: 'done', cleanup_attempts: 1, machine_deleted_at: T + 2 * MIN }),
    oldLease('cbx_00000000a003', 'expired', { ...placed('p-retry'), ended_at: T + 30 * MIN, cleanup_state: 'pending', cleanup_attempts: 2, cleanup_next_at: T + 40 * MIN, cleanup_last_error: '503 try later' }),
    oldLease('cbx_00000000a004', 'provisioning'),
    oldLease('cbx_00000000a005', 'failed', { ended_at: T + MIN, end_reason: 'provider-error' }),
    oldLease('cbx_00000000a006', 'released', { ...placed('p-unqueued'), ended_at: T + 5 * MIN }),
    oldLease('cbx_00000000a007', 'provisioning', { provider_id: 'p-half' }),
  ];
  for (const row of rows) await driver.exec(row.sql, row.params);
  await driver.exec("INSERT INTO events (seq, at, type, actor, owner, lease_id, provider_id) VALUES (1, ?, 'lease.created', 'alice', 'alice', 'cbx_00000000a002', NULL)", [T]);
  await driver.exec("INSERT INTO events (seq, at, type, actor, owner, lease_id, provider_id) VALUES (2, ?, 'machine.deleted', 'alice', 'alice', 'cbx_00000000a002', 'p-gone')", [T + 2 * MIN]);
  await driver.exec("INSERT INTO events (seq, at, type, actor, lease_id, provider_id) VALUES (3, ?, 'machine.deleted', 'sweeper', 'cbx_00000000dead', 'p-orphan')", [T + 3 * MIN]);
  await driver.exec("UPDATE counters SET value = 3 WHERE name = 'events'");

  await migrateWith(all);
  const store = new SqlFleetStore({ driver });

  const active = await store.getLease('cbx_00000000a001');
  assert.equal(active?.machineId, 'mch_00000000a001');
  assert.deepEqual(active?.machine, { provider: 'fake', providerId: 'p-active', host: '10.0.0.7', ports: [2222, 22], sshUser: 'crabbox', workRoot: '/work/crabbox', hostKey: 'ssh-ed25519 AAAAold', type: 'small', region: 'fsn1' }, 'an active lease still reaches its box');
  const machine = (id: string) => store.getMachine(`mch_${id.slice(4)}`);
  const assigned = await machine('cbx_00000000a001');
  assert.deepEqual([assigned?.state, assigned?.leaseId, assigned?.providerId, assigned?.adminUser, assigned?.assignments], ['assigned', 'cbx_00000000a001', 'p-active', 'crabbox', 1]);
  assert.equal((await store.getMachineByProviderId('fake', 'p-active'))?.id, 'mch_00000000a001', 'the orphan sweep finds it by provider id');

  const gone = await machine('cbx_00000000a002');
  assert.deepEqual([gone?.state, gone?.deletion.deletedAt, gone?.deletion.attempts, gone?.stateReason], ['deleted', T + 2 * MIN, 1, 'lease-released']);
  const retry = await machine('cbx_00000000a003');
  assert.deepEqual([retry?.state, retry?.deletion.attempts, retry?.deletion.nextAt, retry?.deletion.lastError], ['deleting', 2, T + 40 * MIN, '503 try later']);
  assert.deepEqual((await store.deletionQueue(T + 40 * MIN, 10)).map((m) => m.id).sort(), ['mch_00000000a003', 'mch_00000000a006'], 'due deletions are still due');
  assert.deepEqual(await store.deletionQueue(T + 4 * MIN, 10), []);
  const unqueued = await machine('cbx_00000000a006');
  assert.deepEqual([unqueued?.state, unqueued?.deletion.nextAt], ['deleting', T + 5 * MIN], 'an ended lease whose machine was never queued is deleted now');
  const provisioning = await machine('cbx_00000000a004');
  assert.deepEqual([provisioning?.state, provisioning?.providerId], ['provisioning', undefined]);
  assert.equal((await machine('cbx_00000000a007'))?.providerId, 'p-half');
  assert.equal(await machine('cbx_00000000a005'), undefined, 'a failed create with no provider id had no machine');
  assert.equal((await store.getLease('cbx_00000000a005'))?.machineId, undefined);

  const events = await store.listEvents({ limit: 10 });
  assert.deepEqual(events.items.map((e) => [e.seq, e.machineId]), [[3, undefined], [2, 'mch_00000000a002'], [1, undefined]]);
  assert.equal((await store.appendEvent({ at: T + HOUR_MS, type: 'x', actor: 'a' })).seq, 4);
  assert.deepEqual(await store.prune(T + 10 * HOUR_MS), { runs: 0, events: 4, leases: 2, machines: 1 });
  assert.ok(await store.getLease('cbx_00000000a003'), 'a lease whose machine is still being deleted is kept');
}

const HOUR_MS = 60 * MIN;

import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { ManualClock } from '../../domain/clock.ts';
import { isLive } from '../../domain/lease.ts';
import { FakeMachineAccess } from '../../machine-access/fake.ts';
import { FakeProvider } from '../../providers/fake/fake-provider.ts';
import { openPostgresStore } from '../../storage/postgres.ts';
import type { FleetStore } from '../../storage/store.ts';
import { startPostgres, type TestPostgres } from '../../testing/postgres.ts';
import { PUBLIC_KEY } from '../testkit.ts';
import type { OnEmpty } from './config.ts';
import { poolHarness, type PoolHarness } from './testkit.ts';

/**
 * 64 simultaneous claims on a pool of 10 idle machines: exactly 10 get pool machines, no machine is ever in two live
 * leases (in the store and on the boxes), the rest get cold machines or a 503, as the pool says. On SQLite (one
 * coordinator) and on three coordinator replicas sharing one PostgreSQL database.
 */

const T0 = Date.UTC(2026, 0, 15, 12);
const CLAIMS = 64;
const POOL = 10;

let server: Promise<TestPostgres> | undefined;
const cluster = () => (server ??= startPostgres());
after(async () => {
  if (server) await (await server).stop();
});
let schemas = 0;

async function replicas(backend: 'sqlite' | 'postgres', onEmpty: OnEmpty): Promise<{ all: PoolHarness[]; provider: FakeProvider; access: FakeMachineAccess }> {
  const provider = new FakeProvider({ hourlyPrice: 0.5 });
  const access = new FakeMachineAccess();
  access.grantDelayMs = 5;
  const pool = { min: POOL, max: POOL, onEmpty };
  const all: PoolHarness[] = [];
  if (backend === 'sqlite') all.push(await poolHarness({ pool, provider }));
  else {
    const schema = `pool_c${++schemas}`;
    for (let i = 0; i < 3; i++) {
      const store: FleetStore = await openPostgresStore({ url: (await cluster()).url, schema, now: T0 });
      all.push(await poolHarness({ pool, provider, store }));
    }
  }
  for (const h of all) h.deps.access = { fake: access };
  return { all, provider, access };
}

async function claimRace(backend: 'sqlite' | 'postgres', onEmpty: OnEmpty): Promise<void> {
  const { all, provider, access } = await replicas(backend, onEmpty);
  const [first] = all;
  try {
    const idle = await first!.fill();
    assert.equal(idle.length, POOL);
    const token = await first!.maintainer();
    const answers = await Promise.all(
      Array.from({ length: CLAIMS }, (_, i) => all[i % all.length]!.request('POST', '/v1/leases', { token, body: { sshPublicKey: PUBLIC_KEY, pool: true, idempotencyKey: `race-${backend}-${i}-key` } })),
    );
    const pooled = answers.filter((a) => a.status === 201 && a.json.lease.pool === 'warm');
    assert.equal(pooled.length, POOL, `statuses: ${answers.map((a) => a.status).join(',')}`);
    const machines = pooled.map((a) => a.json.lease.machineId as string);
    assert.equal(new Set(machines).size, POOL, 'ten different machines');
    assert.deepEqual(new Set(machines), new Set(idle), 'the ten idle ones');
    const rest = answers.filter((a) => !(a.status === 201 && a.json.lease.pool === 'warm'));
    if (onEmpty === 'cold') {
      assert.ok(rest.every((a) => a.status === 201 && a.json.lease.state === 'active' && a.json.lease.pool === undefined), 'the rest get cold machines');
      assert.equal(provider.machines.size, POOL + (CLAIMS - POOL));
    } else {
      assert.ok(rest.every((a) => a.status === 503 && a.json.error === 'pool_empty' && a.headers.get('retry-after') === '30'), 'the rest get 503 with Retry-After');
      assert.equal(provider.machines.size, POOL);
    }

    // In the store: no machine in two live leases, and each pool machine names its one lease.
    const store = first!.store;
    const live = (await store.listLeases({ states: ['provisioning', 'active'], limit: 500 })).items;
    assert.equal(live.length, onEmpty === 'cold' ? CLAIMS : POOL);
    const byMachine = new Map<string, string[]>();
    for (const lease of live) byMachine.set(lease.machineId!, [...(byMachine.get(lease.machineId!) ?? []), lease.id]);
    assert.ok([...byMachine.values()].every((ids) => ids.length === 1), 'no machine in two live leases');
    for (const id of idle) {
      const m = (await store.getMachine(id))!;
      const lease = live.find((l) => l.id === m.leaseId);
      assert.equal(m.state, 'assigned');
      assert.ok(lease && isLive(lease.state) && lease.machineId === id);
    }
    // On the boxes: every pool machine has exactly the one user of its lease, and never had two at once.
    for (const id of idle) {
      const box = access.box(id);
      assert.equal(box.users.size, 1);
      assert.equal(box.maxConcurrentUsers, 1);
      assert.equal([...box.users.values()][0]!.leaseId, (await store.getMachine(id))!.leaseId);
    }
  } finally {
    for (const h of all) await h.close();
  }
}

describe('warm pool: 64 simultaneous claims on 10 idle machines', () => {
  it('SQLite, empty pool goes cold: 10 pool machines, 54 cold ones', () => claimRace('sqlite', 'cold'));
  it('SQLite, empty pool answers 503: 10 pool machines, 54 refusals with Retry-After', () => claimRace('sqlite', 'wait503'));
  it('three replicas on one PostgreSQL, empty pool goes cold', () => claimRace('postgres', 'cold'));
  it('three replicas on one PostgreSQL, empty pool answers 503', () => claimRace('postgres', 'wait503'));
});

import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import pg from 'pg';
import { CrabboxError } from '../domain/errors.ts';
import { startPostgres, type TestPostgres } from '../testing/postgres.ts';
import { leaseWithMachine, newLease, runStoreContract } from './store.contract.ts';
import { openPostgresStore } from './postgres.ts';
import { describePostgresUrl, isPostgresUrl } from './postgres-url.ts';
import { loadMigrations, migrate } from './sql/migrations.ts';
import { openPostgresDriver } from './sql/drivers/postgres.ts';
import { checkMachinesMigration } from './contract/machines-migration.ts';
import type { FleetStore } from './store.ts';

const NOW = Date.UTC(2026, 0, 15);

// One throwaway cluster for this file, started on first use; every test gets its own schema in it.
let server: Promise<TestPostgres> | undefined;
const cluster = () => (server ??= startPostgres());
after(async () => {
  if (server) await (await server).stop();
});

let schemas = 0;
const freshSchema = () => `crabbox_t${++schemas}`;

async function open(schema: string, extra: { max?: number } = {}): Promise<FleetStore> {
  return openPostgresStore({ url: (await cluster()).url, schema, now: NOW, ...extra });
}

async function adminQuery<T extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: (await cluster()).url });
  await client.connect();
  try {
    return (await client.query<T>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

runStoreContract('PostgreSQL', {
  async make() {
    const schema = freshSchema();
    return { store: await open(schema), reopen: () => open(schema) };
  },
});

describe('PostgreSQL store across replicas', () => {
  it('50 parallel capped creates through two store instances admit exactly 10', async () => {
    const schema = freshSchema();
    const [a, b] = [await open(schema), await open(schema)];
    try {
      const attempts = Array.from({ length: 50 }, (_, i) =>
        (i % 2 ? a : b).withTransaction(async (tx) => {
          await tx.createLease(newLease({ owner: 'capped' }));
          // The coordinator's order: insert, then check the cap inside the same transaction; a throw rolls back.
          if ((await tx.countLiveLeases({ owner: 'capped' })) > 10) throw new CrabboxError('cap_reached', 'cap');
          return true;
        }).catch((error: unknown) => {
          if (error instanceof CrabboxError && error.code === 'cap_reached') return false;
          throw error;
        }),
      );
      assert.equal((await Promise.all(attempts)).filter(Boolean).length, 10);
      assert.equal(await a.countLiveLeases({ owner: 'capped' }), 10);
      assert.equal(await b.countLiveLeases({ owner: 'capped' }), 10);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('20 parallel releases of one lease through two store instances have exactly one winner', async () => {
    const schema = freshSchema();
    const [a, b] = [await open(schema), await open(schema)];
    try {
      const { lease } = await a.createLease(newLease());
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).transitionLease(lease.id, ['provisioning', 'active'], 'released', { now: NOW + i })),
      );
      assert.equal(results.filter(Boolean).length, 1);
      assert.equal((await b.getLease(lease.id))?.state, 'released');
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('racing transitions of one machine through two store instances: exactly one wins, and exactly one replica deletes it', async () => {
    const schema = freshSchema();
    const [a, b] = [await open(schema), await open(schema)];
    try {
      const { machineId } = await leaseWithMachine(a);
      await a.setMachineProviderId(machineId, 'p-race');
      const moves = await Promise.all(
        Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).transitionMachine(machineId, ['provisioning'], i % 3 ? 'deleting' : 'draining', { now: NOW + i, reason: `r${i}` })),
      );
      assert.equal(moves.filter(Boolean).length, 1, 'one move wins');
      const winner = moves.find(Boolean)!;
      const stored = await b.getMachine(machineId);
      assert.deepEqual([stored?.state, stored?.stateReason], [winner.state, winner.stateReason]);
      if (winner.state === 'draining') await a.transitionMachine(machineId, ['draining'], 'deleting', { now: NOW + 50 });
      const claims = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).claimDeletion(machineId, NOW + 100, NOW + 60_000)));
      assert.equal(claims.filter(Boolean).length, 1, 'exactly one replica gets to delete the machine');
      const recorded = await Promise.all([a, b].map((s) => s.recordDeletionAttempt(machineId, { ok: true, at: NOW + 200 })));
      assert.equal(recorded.filter(Boolean).length, 1, 'the deletion is recorded once');
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('event sequence numbers stay unique when two replicas append at once', async () => {
    const schema = freshSchema();
    const [a, b] = [await open(schema), await open(schema)];
    try {
      await Promise.all(Array.from({ length: 30 }, (_, i) => (i % 2 ? a : b).appendEvent({ at: NOW + i, type: 't', actor: 'x' })));
      const seqs = (await a.listEvents({ limit: 100 })).items.map((e) => e.seq);
      assert.equal(seqs.length, 30);
      assert.equal(new Set(seqs).size, 30);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('replicas starting at once apply each migration exactly once', async () => {
    const schema = freshSchema();
    const stores = await Promise.all(Array.from({ length: 4 }, () => open(schema, { max: 2 })));
    try {
      const rows = await adminQuery<{ version: number }>(`SELECT version FROM ${schema}.schema_migrations ORDER BY version`);
      assert.deepEqual(rows.map((r) => Number(r.version)), loadMigrations().map((m) => m.version));
      for (const store of stores) await store.ping();
    } finally {
      await Promise.all(stores.map((s) => s.close()));
    }
  });

  it('a failing migration leaves no partial schema and releases the migration lock', async () => {
    const schema = freshSchema();
    const broken = [{ version: 1, name: 'broken', sql: 'CREATE TABLE a (x INTEGER); CREATE TABLE nonsense (' }];
    await assert.rejects(openPostgresStore({ url: (await cluster()).url, schema, now: NOW, migrations: broken }), { code: 'unavailable' });
    assert.equal((await adminQuery('SELECT 1 FROM information_schema.tables WHERE table_schema = $1 AND table_name = $2', [schema, 'a'])).length, 0);
    const store = await open(schema);
    try {
      await store.ping();
      assert.equal((await adminQuery(`SELECT version FROM ${schema}.schema_migrations`)).length, loadMigrations().length);
    } finally {
      await store.close();
    }
  });

  it('0006 on a database made at the schema before it: every machine the provider knows gets a record, losing nothing', async () => {
    const driver = openPostgresDriver({ connectionString: (await cluster()).url, schema: freshSchema() });
    try {
      await checkMachinesMigration(driver, (migrations) => driver.withMigrationLock((locked) => migrate(locked, migrations, NOW)));
    } finally {
      await driver.close();
    }
  });

  it('keeps each installation in its own schema', async () => {
    const [one, two] = [freshSchema(), freshSchema()];
    const [a, b] = [await open(one), await open(two)];
    try {
      await a.createLease(newLease({ owner: 'only-in-one' }));
      assert.equal(await a.countLiveLeases({ owner: 'only-in-one' }), 1);
      assert.equal(await b.countLiveLeases({ owner: 'only-in-one' }), 0);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('reads BIGINT times back as numbers', async () => {
    const store = await open(freshSchema());
    try {
      const { lease } = await store.createLease(newLease({ createdAt: NOW, expiresAt: NOW + 1 }));
      assert.equal(typeof lease.createdAt, 'number');
      assert.equal(lease.expiresAt, NOW + 1);
      assert.equal(typeof (await store.countLiveLeases({})), 'number');
    } finally {
      await store.close();
    }
  });
});

describe('PostgreSQL store: bad connection strings', () => {
  it('refuses a schema name that is not a plain identifier', async () => {
    await assert.rejects(open('x; DROP TABLE leases'), /invalid PostgreSQL schema name/);
  });

  it('refuses non-postgres URLs without echoing them', async () => {
    await assert.rejects(openPostgresStore({ url: 'mysql://root:hunter2secret@db/x', now: NOW }), (error: CrabboxError) => {
      assert.equal(error.code, 'invalid_config');
      assert.doesNotMatch(error.message, /hunter2secret/);
      return true;
    });
  });

  it('a server that is not there gives one unavailable line without the password', async () => {
    const url = 'postgres://crabbox:s3cret-pass-word@127.0.0.1:1/crabbox';
    await assert.rejects(openPostgresStore({ url, now: NOW, connectTimeoutMs: 2000 }), (error: CrabboxError) => {
      assert.equal(error.code, 'unavailable');
      assert.match(error.message, /^cannot open the PostgreSQL store at postgres:\/\/127\.0\.0\.1:1\/crabbox: /);
      assert.doesNotMatch(error.message, /s3cret-pass-word/);
      assert.doesNotMatch(error.message, /\n/);
      return true;
    });
  });

  it('describes URLs for logs without their password', () => {
    assert.equal(describePostgresUrl('postgresql://u:p%40ss-word@db.internal:5433/fleet?sslmode=require'), 'postgresql://db.internal:5433/fleet');
    assert.equal(isPostgresUrl('postgres://h/db'), true);
    assert.equal(isPostgresUrl('/var/lib/crabbox/coordinator.sqlite'), false);
  });
});

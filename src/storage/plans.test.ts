// The reads behind lists, caps and sweeps use an index range or a partial index of live leases, never a walk over
// all history: each query the store sends is captured and run through EXPLAIN on SQLite and on PostgreSQL.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { startPostgres, type TestPostgres } from '../testing/postgres.ts';
import { tempDir } from '../testing/tmp.ts';
import type { SqlDriver, SqlRow, SqlValue } from './sql/driver.ts';
import { openNodeSqlite } from './sql/drivers/node-sqlite.ts';
import { openPostgresDriver } from './sql/drivers/postgres.ts';
import { loadMigrations, migrate } from './sql/migrations.ts';
import { SqlFleetStore } from './sql/store.ts';
import { newLease } from './store.contract.ts';
import type { FleetStore } from './store.ts';

const NOW = Date.UTC(2026, 0, 15);

/** A driver that remembers the reads it ran (queries outside writes), so the test can EXPLAIN exactly those. */
function recording(driver: SqlDriver): { driver: SqlDriver; reads: { sql: string; params: SqlValue[] }[] } {
  const reads: { sql: string; params: SqlValue[] }[] = [];
  return {
    reads,
    driver: {
      ...driver,
      dialect: driver.dialect,
      query: (sql, params = []) => {
        reads.push({ sql, params });
        return driver.query(sql, params);
      },
      exec: (sql, params) => driver.exec(sql, params),
      write: (sql, params) => driver.write(sql, params),
      script: (sql) => driver.script(sql),
      transaction: (fn) => driver.transaction(fn),
      durability: () => driver.durability(),
      close: () => driver.close(),
    },
  };
}

/** History (ended leases, finished runs) and a live fleet, like a coordinator that has run for a while. */
async function fill(store: FleetStore): Promise<void> {
  await store.withTransaction(async (tx) => {
    for (let i = 0; i < 300; i++) {
      const { lease } = await tx.createLease(newLease({ owner: `u${i % 3}`, createdAt: NOW - 10_000 + i, expiresAt: NOW + 3_600_000 }));
      if (i % 4) await tx.transitionLease(lease.id, ['provisioning'], 'released', { now: NOW });
      await tx.createRun({ id: `run_${i.toString(16).padStart(12, '0')}`, leaseId: lease.id, owner: `u${i % 3}`, org: 'acme', createdAt: NOW - 10_000 + i });
    }
  });
}

/** Every read the list, cap and sweep paths make. */
async function exercise(store: FleetStore): Promise<void> {
  await store.listLeases({ owner: 'u1', states: ['provisioning', 'active'] });
  await store.listLeases({ states: ['provisioning', 'active'], limit: 100 });
  await store.listLeases({ owner: 'u1' });
  await store.liveSlugs('u1');
  await store.countLiveLeases({ owner: 'u1' });
  await store.countLiveLeases({});
  await store.listRuns({ owner: 'u1' });
  await store.listRuns({ owner: 'u1', leaseId: 'cbx_000000000001' });
  await store.listEvents({ owner: 'u1' });
  await store.leasesDueForExpiry(NOW, 100);
  await store.staleProvisioning(NOW, 100);
  await store.deletionQueue(NOW, 100);
  await store.nextDueAt();
}

const TABLES = /\b(leases|runs|events)\b/;

describe('query plans of lists, caps and sweeps', () => {
  it('SQLite: every read searches an index or walks a partial (live-only) one', async (t) => {
    const dir = tempDir('crabbox-plans-');
    t.after(() => dir.remove());
    const raw = openNodeSqlite({ path: join(dir.path, 'plans.sqlite') });
    try {
      await migrate(raw, loadMigrations(), NOW);
      const { driver, reads } = recording(raw);
      const store = new SqlFleetStore({ driver });
      await fill(store);
      await raw.script('ANALYZE');
      reads.length = 0;
      await exercise(store);
      const partial = new Set((await raw.query("SELECT name FROM sqlite_master WHERE type = 'index' AND sql LIKE '% WHERE %'")).map((r) => String(r.name)));
      assert.ok(partial.has('leases_live_owner'));
      for (const { sql, params } of reads) {
        const plan = (await raw.query(`EXPLAIN QUERY PLAN ${sql}`, params)).map((r) => String(r.detail));
        for (const step of plan.filter((s) => TABLES.test(s))) {
          const ok = step.startsWith('SEARCH ') || [...partial].some((name) => step.includes(`INDEX ${name}`));
          assert.ok(ok, `${sql}\n  ${plan.join('\n  ')}`);
        }
        assert.ok(!plan.some((s) => s.includes('TEMP B-TREE') && /ORDER BY/i.test(sql) && !/slug = /.test(sql)), `sorts everything it read: ${sql}\n  ${plan.join('\n  ')}`);
      }
    } finally {
      await raw.close();
    }
  });

  describe('PostgreSQL', () => {
    let server: TestPostgres | undefined;
    after(async () => server?.stop());

    it('every read uses an index condition or a partial (live-only) index, with sequential scans off', async () => {
      server = await startPostgres();
      const raw = openPostgresDriver({ connectionString: server.url, schema: 'plans', max: 1 });
      try {
        await raw.withMigrationLock((locked) => migrate(locked, loadMigrations(), NOW));
        const { driver, reads } = recording(raw);
        const store = new SqlFleetStore({ driver });
        await fill(store);
        await raw.script('ANALYZE');
        reads.length = 0;
        await exercise(store);
        const partial = new Set((await raw.query("SELECT indexname FROM pg_indexes WHERE schemaname = 'plans' AND indexdef LIKE '% WHERE %'")).map((r) => String(r.indexname)));
        assert.ok(partial.has('leases_live_owner'));
        // With one pooled connection, the SET applies to the EXPLAINs below: an index that can serve a query is then used.
        await raw.script('SET enable_seqscan = off');
        for (const { sql, params } of reads) {
          // An owner's whole lease history (every state, paginated) is not a live read; on a table this small the
          // planner walks the created_at index for it, which says nothing about a large one. SQLite checks it above.
          if (/FROM leases/.test(sql) && !sql.includes("state IN ('provisioning', 'active')") && !/slug = /.test(sql)) continue;
          const [row] = await raw.query(`EXPLAIN (FORMAT JSON) ${sql}`, params);
          const nodes: SqlRow[] = [];
          const walk = (node: SqlRow): void => {
            nodes.push(node);
            for (const child of (node.Plans as SqlRow[] | undefined) ?? []) walk(child);
          };
          walk((row!['QUERY PLAN'] as { Plan: SqlRow }[])[0]!.Plan);
          for (const node of nodes.filter((n) => TABLES.test(String(n['Relation Name'] ?? n['Index Name'] ?? '')))) {
            const type = String(node['Node Type']);
            if (type === 'Bitmap Heap Scan') continue; // its Bitmap Index Scan child is checked
            if (String(node['Index Name'] ?? '').endsWith('_pkey')) continue; // a lease's machine, joined by its id
            const ok = type !== 'Seq Scan' && (node['Index Cond'] !== undefined || partial.has(String(node['Index Name'])));
            assert.ok(ok, `${sql}\n  ${JSON.stringify(nodes.map((n) => [n['Node Type'], n['Index Name'], n['Index Cond']]))}`);
          }
        }
      } finally {
        await raw.close();
      }
    });
  });
});

import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { describe, it } from 'node:test';
import { runStoreContract } from './store.contract.ts';
import { openSqliteStore } from './sqlite.ts';
import { tempDir } from '../testing/tmp.ts';
import { openNodeSqlite } from './sql/drivers/node-sqlite.ts';
import { loadMigrations, migrate } from './sql/migrations.ts';
import { checkMachinesMigration } from './contract/machines-migration.ts';

const NOW = Date.UTC(2026, 0, 15);

runStoreContract('SQLite file', {
  async make() {
    const dir = tempDir('crabbox-store-');
    const path = join(dir.path, 'fleet.db');
    return { store: await openSqliteStore({ path, now: NOW }), reopen: () => openSqliteStore({ path, now: NOW }), cleanup: () => dir.remove() };
  },
});

runStoreContract('SQLite in memory', { make: async () => ({ store: await openSqliteStore({ path: ':memory:', now: NOW }) }) });

describe('SQLite migrations', () => {
  it('are numbered files applied once, in order, and recorded', async () => {
    const migrations = loadMigrations();
    assert.ok(migrations.length >= 1);
    assert.deepEqual(migrations.map((m) => m.version), [...migrations.map((m) => m.version)].sort((a, b) => a - b));
    const driver = openNodeSqlite({ path: ':memory:' });
    try {
      assert.deepEqual(await migrate(driver, migrations, NOW), migrations.map((m) => m.version));
      assert.deepEqual(await migrate(driver, migrations, NOW), []);
      const rows = await driver.query('SELECT version, applied_at FROM schema_migrations');
      assert.equal(rows.length, migrations.length);
    } finally {
      await driver.close();
    }
  });

  it('0004 gives runs recorded before it the slug and provider of their lease', async () => {
    const all = loadMigrations();
    const driver = openNodeSqlite({ path: ':memory:' });
    try {
      await migrate(driver, all.filter((m) => m.version < 4), NOW);
      await driver.exec(`INSERT INTO leases (id, slug, owner, org, provider, state, ttl_seconds, idle_timeout_seconds, created_at, last_touched_at, expires_at, idempotency_key)
        VALUES ('cbx_000000000001', 'blue-crab', 'alice', 'acme', 'local', 'active', 60, 60, 0, 0, 60000, 'k1')`);
      await driver.exec("INSERT INTO runs (id, lease_id, owner, org, state, created_at) VALUES ('run_000000000001', 'cbx_000000000001', 'alice', 'acme', 'failed', 1)");
      await driver.exec("INSERT INTO runs (id, lease_id, owner, org, state, created_at) VALUES ('run_000000000002', 'cbx_00000000dead', 'alice', 'acme', 'failed', 2)");
      await migrate(driver, all, NOW);
      const rows = await driver.query('SELECT id, slug, provider FROM runs ORDER BY id');
      assert.deepEqual(rows.map((r) => [r.id, r.slug, r.provider]), [['run_000000000001', 'blue-crab', 'local'], ['run_000000000002', null, null]]);
    } finally {
      await driver.close();
    }
  });

  it('0006 gives every lease whose machine exists a machine record in the state its cleanup said, losing nothing', async () => {
    const driver = openNodeSqlite({ path: ':memory:' });
    try {
      await checkMachinesMigration(driver, (migrations) => migrate(driver, migrations, NOW));
    } finally {
      await driver.close();
    }
  });

  it('a failing migration leaves no partial schema behind', async () => {
    const driver = openNodeSqlite({ path: ':memory:' });
    try {
      await assert.rejects(migrate(driver, [{ version: 1, name: 'broken', sql: 'CREATE TABLE a (x INTEGER); CREATE TABLE nonsense (' }], NOW));
      assert.equal((await driver.query("SELECT name FROM sqlite_master WHERE name = 'a'")).length, 0);
    } finally {
      await driver.close();
    }
  });
});

describe('opening the SQLite store', () => {
  it('creates a missing parent directory, private', async () => {
    const root = mkdtempSync(join(tmpdir(), 'crabbox-sqlite-open-'));
    try {
      const path = join(root, 'state', 'crabbox', 'coordinator.sqlite');
      const store = await openSqliteStore({ path, now: Date.UTC(2026, 0, 1) });
      await store.close();
      assert.ok(existsSync(path));
      assert.equal(statSync(dirname(path)).mode & 0o777, 0o700);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('refuses an unusable path with one clear error', async () => {
    const root = mkdtempSync(join(tmpdir(), 'crabbox-sqlite-open-'));
    try {
      writeFileSync(join(root, 'a-file'), 'not a directory');
      await assert.rejects(openSqliteStore({ path: join(root, 'a-file', 'sub', 'coordinator.sqlite'), now: 0 }), (e: Error & { code?: string }) => e.code === 'unavailable' && /cannot open the coordinator database/.test(e.message));
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

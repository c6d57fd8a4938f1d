import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { SqlDriver } from './driver.ts';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

// Beside this file in the source tree; from dist/ (bundled) the source copy shipped with the package.
const CANDIDATES = ['./migrations/', '../src/storage/sql/migrations/', '../../src/storage/sql/migrations/'];

/** Reads the numbered `.sql` migrations (`0001_init.sql`, ...) in order. */
export function loadMigrations(): Migration[] {
  const dir = CANDIDATES.map((c) => fileURLToPath(new URL(c, import.meta.url))).find((d) => existsSync(d));
  if (!dir) throw new Error('crabbox: SQL migrations not found next to the store');
  return readdirSync(dir)
    .filter((f) => /^\d{4}_[a-z0-9_]+\.sql$/.test(f))
    .sort()
    .map((f) => ({ version: Number(f.slice(0, 4)), name: f.slice(5, -4), sql: readFileSync(`${dir}/${f}`, 'utf8') }));
}

/** Applies every migration newer than the recorded version, each in its own transaction. Returns the versions applied. */
export async function migrate(driver: SqlDriver, migrations: Migration[], now: number): Promise<number[]> {
  await driver.script('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)');
  const applied: number[] = [];
  for (const migration of migrations) {
    await driver.transaction(async (tx) => {
      const done = await tx.query('SELECT version FROM schema_migrations WHERE version = ?', [migration.version]);
      if (done.length > 0) return;
      await tx.script(migration.sql);
      await tx.exec('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)', [migration.version, migration.name, now]);
      applied.push(migration.version);
    });
  }
  return applied;
}

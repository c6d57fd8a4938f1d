import type { SqlDriver } from './driver.ts';

/** One numbered schema change: `0001_init.sql` is version 1, name `init`. Read from disk on Node, bundled on Workers. */
export interface Migration {
  version: number;
  name: string;
  sql: string;
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

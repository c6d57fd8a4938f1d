import { openNodeSqlite } from './sql/drivers/node-sqlite.ts';
import { SqlFleetStore } from './sql/store.ts';
import type { FleetStore } from './store.ts';

/** Opens (and migrates) the embedded SQLite fleet store: a file path, or `:memory:` for tests. */
export function openSqliteStore(options: { path: string; now: number; busyTimeoutMs?: number }): Promise<FleetStore> {
  const driver = openNodeSqlite({ path: options.path, ...(options.busyTimeoutMs !== undefined ? { busyTimeoutMs: options.busyTimeoutMs } : {}) });
  return SqlFleetStore.open({ driver, now: options.now }).catch(async (error: unknown) => {
    await driver.close();
    throw error;
  });
}

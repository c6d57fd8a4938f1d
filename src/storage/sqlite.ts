import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { CrabboxError } from '../domain/errors.ts';
import { openNodeSqlite } from './sql/drivers/node-sqlite.ts';
import { SqlFleetStore } from './sql/store.ts';
import type { FleetStore } from './store.ts';

/**
 * Opens (and migrates) the embedded SQLite fleet store: a file path, or `:memory:` for tests.
 * A missing parent directory is created private (0700), so a first `coordinator serve` just works.
 */
export async function openSqliteStore(options: { path: string; now: number; busyTimeoutMs?: number }): Promise<FleetStore> {
  let driver: ReturnType<typeof openNodeSqlite>;
  try {
    if (options.path !== ':memory:') mkdirSync(dirname(options.path), { recursive: true, mode: 0o700 });
    driver = openNodeSqlite({ path: options.path, ...(options.busyTimeoutMs !== undefined ? { busyTimeoutMs: options.busyTimeoutMs } : {}) });
  } catch (error) {
    throw new CrabboxError('unavailable', `cannot open the coordinator database ${options.path}: ${(error as Error).message}`, { hint: 'check the path and its permissions (--db or CRABBOX_COORDINATOR_DB)', cause: error });
  }
  return SqlFleetStore.open({ driver, now: options.now }).catch(async (error: unknown) => {
    await driver.close();
    throw error;
  });
}

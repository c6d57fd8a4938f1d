import { CrabboxError, isCrabboxError } from '../domain/errors.ts';
import { openNodeSqlite } from './sql/drivers/node-sqlite.ts';
import { loadMigrations } from './sql/migrations.ts';
import { SqlFleetStore } from './sql/store.ts';
import { secureSqliteFiles } from './sqlite-files.ts';
import type { FleetStore } from './store.ts';

/**
 * Opens (and migrates) the embedded SQLite fleet store: a file path, or `:memory:` for tests.
 * A missing parent directory is created private (0700), so a first `coordinator serve` just works; the database
 * files are made 0600 and a directory others could write is refused (sqlite-files.ts). `onWarning` hears what was
 * fixed and what is merely worth knowing.
 */
export async function openSqliteStore(options: { path: string; now: number; busyTimeoutMs?: number; onWarning?: ((message: string) => void) | undefined }): Promise<FleetStore> {
  let driver: ReturnType<typeof openNodeSqlite>;
  try {
    if (options.path !== ':memory:') for (const warning of secureSqliteFiles(options.path)) options.onWarning?.(warning);
    driver = openNodeSqlite({ path: options.path, ...(options.busyTimeoutMs !== undefined ? { busyTimeoutMs: options.busyTimeoutMs } : {}) });
  } catch (error) {
    if (isCrabboxError(error)) throw error;
    throw new CrabboxError('unavailable', `cannot open the coordinator database ${options.path}: ${(error as Error).message}`, { hint: 'check the path and its permissions (--db or CRABBOX_COORDINATOR_DB)', cause: error });
  }
  return SqlFleetStore.open({ driver, now: options.now, migrations: loadMigrations() }).catch(async (error: unknown) => {
    await driver.close();
    throw error;
  });
}

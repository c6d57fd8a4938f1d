import { CrabboxError } from '../domain/errors.ts';
import { redact } from '../redact/redact.ts';
import { describePostgresUrl, isPostgresUrl, registerPostgresUrl } from './postgres-url.ts';
import { openPostgresDriver, type PostgresDriverOptions } from './sql/drivers/postgres.ts';
import { loadMigrations, migrate, type Migration } from './sql/migrations.ts';
import { SqlFleetStore } from './sql/store.ts';
import type { FleetStore } from './store.ts';

export interface PostgresStoreOptions extends Omit<PostgresDriverOptions, 'connectionString'> {
  /** `postgres://` or `postgresql://` connection string; it may hold a password, so it is registered as a secret. */
  url: string;
  now: number;
  migrations?: Migration[] | undefined;
}

/** A one-line, secret-free explanation of why the database could not be opened. */
function openError(url: string, error: unknown): CrabboxError {
  if (error instanceof CrabboxError) return error;
  const e = error as { code?: string; message?: string };
  const reason = redact(String(e.message ?? error).split('\n')[0]!).slice(0, 200);
  return new CrabboxError('unavailable', `cannot open the PostgreSQL store at ${describePostgresUrl(url)}: ${reason}${e.code ? ` (${e.code})` : ''}`, {
    hint: 'check CRABBOX_DATABASE_URL (or CRABBOX_DATABASE_URL_FILE) and that the server accepts connections',
  });
}

/**
 * Opens the PostgreSQL fleet store: a connection pool, the versioned migrations applied under a session advisory
 * lock (two replicas starting at once apply each migration exactly once), then the shared SQL store.
 */
export async function openPostgresStore(options: PostgresStoreOptions): Promise<FleetStore> {
  registerPostgresUrl(options.url);
  if (!isPostgresUrl(options.url)) throw new CrabboxError('invalid_config', 'the database URL must start with postgres:// or postgresql://');
  try {
    new URL(options.url);
  } catch {
    throw new CrabboxError('invalid_config', 'the database URL is not a valid URL', { hint: 'postgres://user:password@host:5432/database (percent-encode special characters)' });
  }
  const { url, now, migrations, ...driverOptions } = options;
  const driver = openPostgresDriver({ ...driverOptions, connectionString: url });
  try {
    await driver.withMigrationLock((locked) => migrate(locked, migrations ?? loadMigrations(), now));
    return new SqlFleetStore({ driver });
  } catch (error) {
    await driver.close().catch(() => {});
    throw openError(url, error);
  }
}

import { CrabboxError } from '../domain/errors.ts';
import { redact, registerSecret } from '../redact/redact.ts';
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

/** True for the connection strings the PostgreSQL store accepts. */
export function isPostgresUrl(value: string): boolean {
  return /^postgres(?:ql)?:\/\//i.test(value);
}

/** The connection string without credentials or parameters, for logs: `postgres://host:port/db`. */
export function describePostgresUrl(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.password = '';
    parsed.username = '';
    parsed.search = '';
    parsed.hash = '';
    return redact(parsed.toString());
  } catch {
    return 'postgres://[unparseable]';
  }
}

function registerUrlSecrets(url: string): void {
  registerSecret(url);
  try {
    const password = decodeURIComponent(new URL(url).password);
    registerSecret(password);
  } catch {
    // An unparseable URL fails below with a message that does not echo it.
  }
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
  registerUrlSecrets(options.url);
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

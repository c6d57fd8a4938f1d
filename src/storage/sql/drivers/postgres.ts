import pg from 'pg';
import { numberPlaceholders, type SqlDriver, type SqlRow, type SqlValue } from '../driver.ts';

export interface PostgresDriverOptions {
  /** `postgres://user:password@host:port/db`: a secret; never logged unredacted. */
  connectionString: string;
  /** Every table lives in this schema (created when missing); default: the server's search_path (usually `public`). */
  schema?: string | undefined;
  /** Pool size; default 10. */
  max?: number | undefined;
  connectTimeoutMs?: number | undefined;
  /** How long a statement (incl. waiting for the writer lock) may take; default 30 s. */
  statementTimeoutMs?: number | undefined;
}

/** A SqlDriver over a `pg` Pool, plus what the store opener needs to migrate under a lock. */
export interface PostgresDriver extends SqlDriver {
  readonly schema: string | undefined;
  /** Runs `fn` on one checked-out connection holding the session-level migration lock. */
  withMigrationLock<T>(fn: (driver: SqlDriver) => Promise<T>): Promise<T>;
}

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;
// Advisory lock namespaces ("cb" + 1/2); the second key is a hash of the schema, so installations in different
// schemas of one database do not serialize against each other.
const WRITER_LOCK = 0x63620001;
const MIGRATION_LOCK = 0x63620002;
const INT8 = 20;
const NUMERIC = 1700;

/** A stable signed 32-bit FNV-1a hash (advisory lock key). */
function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (const ch of text) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193);
  return h | 0;
}

// Epoch milliseconds are BIGINT and sums are NUMERIC: both are well inside a double, so read them as numbers.
const toNumber = (value: string): number => Number(value);
const types = {
  getTypeParser: ((oid: number, format?: string) => (oid === INT8 || oid === NUMERIC ? toNumber : pg.types.getTypeParser(oid, format as 'text'))) as typeof pg.types.getTypeParser,
};

/** Statements on one connection (a checked-out client, or the pool for single statements). */
function statements(target: pg.Pool | pg.PoolClient): Pick<SqlDriver, 'query' | 'exec' | 'write' | 'script' | 'durability'> {
  return {
    async durability(): Promise<string> {
      // `on` (the default) and `remote_write`/`remote_apply` wait for the WAL flush; `local` too on a single server; `off` does not.
      const [row] = (await target.query('SHOW synchronous_commit')).rows as { synchronous_commit: string }[];
      return `synchronous_commit=${row?.synchronous_commit ?? 'unknown'}`;
    },
    async query(sql: string, params: SqlValue[] = []): Promise<SqlRow[]> {
      return (await target.query(numberPlaceholders(sql), params)).rows as SqlRow[];
    },
    async exec(sql: string, params: SqlValue[] = []): Promise<number> {
      return (await target.query(numberPlaceholders(sql), params)).rowCount ?? 0;
    },
    async write(sql: string, params: SqlValue[] = []): Promise<SqlRow[]> {
      // Autocommit: PostgreSQL acknowledges it after the commit (synchronous_commit).
      return (await target.query(numberPlaceholders(sql), params)).rows as SqlRow[];
    },
    async script(sql: string): Promise<void> {
      // No parameters: the simple query protocol, which runs several statements in one call.
      await target.query(sql);
    },
  };
}

/** A driver bound to one client that is already inside a transaction: nested transactions reuse it. */
function inTransaction(client: pg.PoolClient, schema: string | undefined, lock: PostgresDriver['withMigrationLock']): PostgresDriver {
  const driver: PostgresDriver = {
    dialect: 'postgres',
    schema,
    ...statements(client),
    transaction: (fn) => fn(driver),
    withMigrationLock: lock,
    close: async () => {},
  };
  return driver;
}

/** Set on a client whose connection failed mid-transaction, so the pool destroys it instead of reusing it. */
const BROKEN = new WeakSet<pg.PoolClient>();

/** Checks out a client, runs `fn`, and returns the client to the pool (or destroys it when its connection broke). */
async function withClient<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    return await fn(client);
  } finally {
    client.release(BROKEN.has(client) ? new Error('connection broken') : undefined);
  }
}

/** Runs `fn` in BEGIN ... COMMIT on `client`, rolling back on any error. */
async function transact<T>(client: pg.PoolClient, begin: string[], fn: () => Promise<T>): Promise<T> {
  await client.query('BEGIN').catch((error: unknown) => {
    BROKEN.add(client);
    throw error;
  });
  try {
    for (const sql of begin) await client.query(sql);
    const result = await fn();
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => BROKEN.add(client));
    throw error;
  }
}

/**
 * SqlDriver over PostgreSQL. Every transaction first takes a transaction-scoped advisory lock, so writers are
 * serialized across every replica sharing the database, exactly like SQLite's BEGIN IMMEDIATE: check-then-insert
 * (caps) cannot interleave. Single statements run without it; their conditional WHERE clauses make them race-safe
 * (PostgreSQL re-checks the WHERE of an UPDATE after waiting for a concurrent writer's row lock).
 */
export function openPostgresDriver(options: PostgresDriverOptions): PostgresDriver {
  const schema = options.schema;
  if (schema !== undefined && !SCHEMA_NAME.test(schema)) throw new Error(`invalid PostgreSQL schema name ${JSON.stringify(schema.slice(0, 70))}`);
  const settings = [`-c statement_timeout=${Math.floor(options.statementTimeoutMs ?? 30_000)}`, '-c idle_in_transaction_session_timeout=60000'];
  if (schema !== undefined) settings.push(`-c search_path=${schema}`);
  const pool = new pg.Pool({
    connectionString: options.connectionString,
    max: options.max ?? 10,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
    options: settings.join(' '),
    types,
    application_name: 'crabbox-coordinator',
  });
  // An idle client losing its connection must not crash the process; the next checkout reconnects.
  pool.on('error', () => {});
  const lockKey = hash32(schema ?? 'public');
  const writerLock = `SELECT pg_advisory_xact_lock(${WRITER_LOCK}, ${lockKey})`;

  const withMigrationLock: PostgresDriver['withMigrationLock'] = (fn) =>
    withClient(pool, async (client) => {
      // Migrations (and waiting for another replica's) may outlast the statement timeout; RESET restores the pool default.
      await client.query('SET statement_timeout = 0');
      await client.query(`SELECT pg_advisory_lock(${MIGRATION_LOCK}, ${lockKey})`);
      try {
        if (schema !== undefined) await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
        const driver: PostgresDriver = {
          dialect: 'postgres',
          schema,
          ...statements(client),
          transaction: (inner) => transact(client, [writerLock], () => inner(inTransaction(client, schema, withMigrationLock))),
          withMigrationLock,
          close: async () => {},
        };
        return await fn(driver);
      } finally {
        await client.query(`SELECT pg_advisory_unlock(${MIGRATION_LOCK}, ${lockKey})`).catch(() => BROKEN.add(client));
        await client.query('RESET statement_timeout').catch(() => BROKEN.add(client));
      }
    });

  let closed: Promise<void> | undefined;
  return {
    dialect: 'postgres',
    schema,
    ...statements(pool),
    transaction: (fn) => withClient(pool, (client) => transact(client, [writerLock], () => fn(inTransaction(client, schema, withMigrationLock)))),
    withMigrationLock,
    close: () => (closed ??= pool.end()),
  };
}

import { DatabaseSync, type StatementSync } from 'node:sqlite';
import type { SqlDriver, SqlRow, SqlValue } from '../driver.ts';

export interface NodeSqliteOptions {
  /** A file path or `:memory:`. */
  path: string;
  /** How long a writer waits for another process's lock, in ms. */
  busyTimeoutMs?: number;
}

/** A promise-chain mutex: DatabaseSync is one connection, so an open transaction must exclude every other statement. */
class Mutex {
  #tail: Promise<void> = Promise.resolve();
  async run<T>(fn: () => Promise<T>): Promise<T> {
    const previous = this.#tail;
    let release!: () => void;
    this.#tail = new Promise<void>((resolve) => (release = resolve));
    await previous;
    try {
      return await fn();
    } finally {
      release();
    }
  }
}

/** SqlDriver over the built-in `node:sqlite` (WAL, busy timeout, foreign processes serialized by BEGIN IMMEDIATE). */
export function openNodeSqlite(options: NodeSqliteOptions): SqlDriver {
  const db = new DatabaseSync(options.path);
  db.exec(`PRAGMA busy_timeout = ${Math.max(0, Math.floor(options.busyTimeoutMs ?? 5000))}`);
  if (options.path !== ':memory:') db.exec('PRAGMA journal_mode = WAL');
  db.exec('PRAGMA synchronous = NORMAL');
  const statements = new Map<string, StatementSync>();
  const mutex = new Mutex();

  const prepare = (sql: string): StatementSync => {
    let statement = statements.get(sql);
    if (!statement) {
      statement = db.prepare(sql);
      statements.set(sql, statement);
    }
    return statement;
  };

  // The statements themselves, without locking: used directly inside a transaction.
  const raw: SqlDriver = {
    dialect: 'sqlite',
    async query(sql: string, params: SqlValue[] = []): Promise<SqlRow[]> {
      return prepare(sql).all(...params) as SqlRow[];
    },
    async exec(sql: string, params: SqlValue[] = []): Promise<number> {
      return Number(prepare(sql).run(...params).changes);
    },
    async script(sql: string): Promise<void> {
      db.exec(sql);
    },
    async transaction<T>(fn: (tx: SqlDriver) => Promise<T>): Promise<T> {
      return fn(raw);
    },
    async close(): Promise<void> {},
  };

  return {
    dialect: 'sqlite',
    query: (sql, params) => mutex.run(() => raw.query(sql, params)),
    exec: (sql, params) => mutex.run(() => raw.exec(sql, params)),
    script: (sql) => mutex.run(() => raw.script(sql)),
    transaction: (fn) =>
      mutex.run(async () => {
        db.exec('BEGIN IMMEDIATE');
        try {
          const result = await fn(raw);
          db.exec('COMMIT');
          return result;
        } catch (error) {
          if (db.isTransaction) db.exec('ROLLBACK');
          throw error;
        }
      }),
    close: () =>
      mutex.run(async () => {
        if (db.isOpen) db.close();
      }),
  };
}

import { DatabaseSync, type StatementSync } from 'node:sqlite';
import type { SqlDriver, SqlRow, SqlValue } from '../driver.ts';
import { GroupCommit, Mutex } from './group-commit.ts';

export interface NodeSqliteOptions {
  /** A file path or `:memory:`. */
  path: string;
  /** How long a writer waits for another process's lock, in ms. */
  busyTimeoutMs?: number;
}

/** What this driver sets on every connection. `synchronous=FULL` in WAL mode: every COMMIT fsyncs the WAL before it returns. */
const PRAGMAS = ['PRAGMA synchronous = FULL'];

/**
 * SqlDriver over the built-in `node:sqlite`: WAL, durable commits (`synchronous=FULL`) shared by concurrent writers
 * through group commit (./group-commit.ts), prepared statements cached by their text, foreign processes serialized by
 * BEGIN IMMEDIATE and the busy timeout. Writes (`exec`, `transaction`) are acknowledged after their COMMIT; reads run
 * between batches, so they never see a write that is not committed.
 */
export function openNodeSqlite(options: NodeSqliteOptions): SqlDriver {
  const db = new DatabaseSync(options.path);
  db.exec(`PRAGMA busy_timeout = ${Math.max(0, Math.floor(options.busyTimeoutMs ?? 5000))}`);
  if (options.path !== ':memory:') db.exec('PRAGMA journal_mode = WAL');
  for (const pragma of PRAGMAS) db.exec(pragma);
  const statements = new Map<string, StatementSync>();
  const mutex = new Mutex();
  const writes = new GroupCommit(db, mutex);

  const prepare = (sql: string): StatementSync => {
    let statement = statements.get(sql);
    if (!statement) {
      statement = db.prepare(sql);
      statements.set(sql, statement);
    }
    return statement;
  };

  // The statements themselves, without locking: used inside a batch (the mutex is held) and for reads under the mutex.
  const raw: SqlDriver = {
    dialect: 'sqlite',
    async query(sql: string, params: SqlValue[] = []): Promise<SqlRow[]> {
      return prepare(sql).all(...params) as SqlRow[];
    },
    async exec(sql: string, params: SqlValue[] = []): Promise<number> {
      return Number(prepare(sql).run(...params).changes);
    },
    async write(sql: string, params: SqlValue[] = []): Promise<SqlRow[]> {
      return prepare(sql).all(...params) as SqlRow[];
    },
    async script(sql: string): Promise<void> {
      db.exec(sql);
    },
    async transaction<T>(fn: (tx: SqlDriver) => Promise<T>): Promise<T> {
      return fn(raw);
    },
    async durability(): Promise<string> {
      const mode = String((prepare('PRAGMA journal_mode').get() as SqlRow).journal_mode);
      const sync = Number((prepare('PRAGMA synchronous').get() as SqlRow).synchronous);
      return `journal_mode=${mode}, synchronous=${['off', 'normal', 'full', 'extra'][sync] ?? sync}, group commit`;
    },
    async close(): Promise<void> {},
  };

  return {
    dialect: 'sqlite',
    query: (sql, params) => mutex.run(() => raw.query(sql, params)),
    exec: (sql, params) => writes.run(() => raw.exec(sql, params)),
    write: (sql, params) => writes.run(() => raw.write(sql, params)),
    script: (sql) => mutex.run(() => raw.script(sql)),
    transaction: (fn) => writes.run(() => fn(raw)),
    durability: () => mutex.run(() => raw.durability()),
    close: () =>
      mutex.run(async () => {
        if (db.isOpen) db.close();
      }),
  };
}

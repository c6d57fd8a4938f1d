import { open } from 'node:fs/promises';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import type { SqlDriver, SqlRow, SqlValue } from '../driver.ts';
import { GroupCommit, Mutex } from './group-commit.ts';

export interface NodeSqliteOptions {
  /** A file path or `:memory:`. */
  path: string;
  /** How long a writer waits for another process's lock, in ms. */
  busyTimeoutMs?: number;
}

/** fdatasync of the WAL from the thread pool: every frame SQLite wrote before the call is on disk when it resolves. */
export async function syncWal(walPath: string): Promise<void> {
  // No WAL yet (nothing written since it was last checkpointed away): nothing of ours is unsynced.
  const handle = await open(walPath, 'r').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  });
  if (!handle) return;
  try {
    await handle.datasync();
  } finally {
    await handle.close();
  }
}

/**
 * SqlDriver over the built-in `node:sqlite`: WAL, durable commits shared by concurrent writers through group commit
 * (./group-commit.ts), prepared statements cached by their text, foreign processes serialized by BEGIN IMMEDIATE and
 * the busy timeout. A file database runs `synchronous=NORMAL` (SQLite syncs around checkpoints) and the driver
 * fdatasyncs the WAL on the thread pool after each batch's COMMIT: writes (`exec`, `transaction`) are acknowledged only
 * after that, and a read answers only once what it saw is on disk, while the event loop and the connection go on
 * with the next requests during the sync (decision 0062). Reads run between batches, so they never see a write that
 * is not committed.
 */
export function openNodeSqlite(options: NodeSqliteOptions): SqlDriver {
  const db = new DatabaseSync(options.path);
  const inMemory = options.path === ':memory:';
  db.exec(`PRAGMA busy_timeout = ${Math.max(0, Math.floor(options.busyTimeoutMs ?? 5000))}`);
  // A file system without WAL support keeps SQLite's rollback journal: then every COMMIT syncs itself (FULL).
  const wal = !inMemory && String((db.prepare('PRAGMA journal_mode = WAL').get() as SqlRow).journal_mode).toLowerCase() === 'wal';
  db.exec(wal ? 'PRAGMA synchronous = NORMAL' : 'PRAGMA synchronous = FULL');
  const statements = new Map<string, StatementSync>();
  const mutex = new Mutex();
  const writes = new GroupCommit(db, mutex, wal ? () => syncWal(`${options.path}-wal`) : undefined);

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
      const level = ['off', 'normal', 'full', 'extra'][sync] ?? String(sync);
      return `journal_mode=${mode}, synchronous=${level}${wal ? ', WAL fdatasync before each answer' : ''}, group commit`;
    },
    async close(): Promise<void> {},
  };

  return {
    dialect: 'sqlite',
    query: async (sql, params) => {
      const rows = await mutex.run(() => raw.query(sql, params));
      await writes.durable();
      return rows;
    },
    exec: (sql, params) => writes.run(() => raw.exec(sql, params)),
    write: (sql, params) => writes.run(() => raw.write(sql, params)),
    script: async (sql) => {
      await mutex.run(() => raw.script(sql));
      await writes.flushNow();
    },
    transaction: (fn) => writes.run(() => fn(raw)),
    durability: () => mutex.run(() => raw.durability()),
    close: () =>
      mutex.run(async () => {
        if (db.isOpen) db.close();
      }),
  };
}

import type { SqlDriver, SqlRow, SqlValue } from '../driver.ts';
import { Mutex } from './mutex.ts';

/** The parts of a Durable Object's `ctx.storage` this driver uses (structural, so Node code can type-check it). */
export interface DurableObjectSqlStorage {
  sql: {
    exec(query: string, ...bindings: SqlValue[]): { toArray(): SqlRow[]; readonly rowsWritten: number };
    readonly databaseSize: number;
  };
  transactionSync<T>(fn: () => T): T;
  transaction<T>(fn: () => Promise<T>): Promise<T>;
}

/**
 * SqlDriver over Durable Object SQLite (`ctx.storage.sql`), which is synchronous: every statement runs to completion
 * when called and the promise returned is already settled. One Durable Object owns the fleet, so this connection is the
 * only writer there is.
 *
 * Atomicity: a single write runs in `transactionSync`. A multi-statement transaction (`transaction(fn)`) takes the
 * driver's mutex and runs in the platform's `storage.transaction()`, which rolls every statement back if `fn` throws.
 * The shared store code awaits between statements, but only on this driver's settled promises: no I/O happens inside a
 * transaction (the store never calls a provider there), so no other request's code runs in between.
 *
 * Durability: the platform confirms each write before the response that follows it leaves the object (the output gate),
 * so an answered request is a committed one, as with SQLite `synchronous=FULL` on Node.
 */
export function openDurableObjectSql(storage: DurableObjectSqlStorage): SqlDriver {
  const mutex = new Mutex();
  let closed = false;
  const open = (): void => {
    if (closed) throw new Error('the store is closed');
  };
  const run = (sql: string, params: SqlValue[]): SqlRow[] => storage.sql.exec(sql, ...params).toArray();
  const changes = (): number => Number(storage.sql.exec('SELECT changes() AS n').toArray()[0]?.n ?? 0);

  // Statements as they are: used inside a transaction (the mutex is held) and, wrapped below, outside one.
  const raw: SqlDriver = {
    dialect: 'sqlite',
    async query(sql, params = []) {
      open();
      return run(sql, params);
    },
    async exec(sql, params = []) {
      open();
      run(sql, params);
      return changes();
    },
    async write(sql, params = []) {
      open();
      return run(sql, params);
    },
    async script(sql) {
      open();
      storage.sql.exec(sql);
    },
    transaction: (fn) => fn(raw),
    async durability() {
      return 'durable object sqlite, each write confirmed before its response (output gate)';
    },
    async close() {
      closed = true;
    },
  };

  // Outside a transaction every statement waits for the mutex, so none lands inside (or reads from) another
  // request's unfinished transaction. When nothing holds or awaits it, a statement (synchronous here: it is done when
  // the call returns) runs at once, which is the same order without a trip through the promise queue.
  const alone = <T>(fn: () => Promise<T>): Promise<T> => (mutex.idle ? fn() : mutex.run(fn));
  return {
    ...raw,
    query: (sql, params) => alone(() => raw.query(sql, params)),
    exec: (sql, params = []) =>
      alone(async () => {
        open();
        return storage.transactionSync(() => {
          run(sql, params);
          return changes();
        });
      }),
    write: (sql, params = []) =>
      alone(async () => {
        open();
        return storage.transactionSync(() => run(sql, params));
      }),
    script: (sql) =>
      mutex.run(async () => {
        open();
        storage.transactionSync(() => storage.sql.exec(sql));
      }),
    transaction: (fn) =>
      mutex.run(() => {
        open();
        return storage.transaction(() => fn(raw));
      }),
  };
}

/**
 * Group commit for one synchronous connection: write units (transactions and single write statements) queued while
 * the connection is busy, or within one turn of the event loop, run together inside one BEGIN ... COMMIT, so
 * concurrent requests share one fsync. Each unit runs in its own SAVEPOINT: a unit that throws is rolled back alone
 * and rejects; the others commit. Every unit's promise settles only after the COMMIT returned, so a caller's
 * acknowledgement always follows a durable commit. Units run one after another (serializable, in queue order).
 */

import { Mutex } from './mutex.ts';

export { Mutex };

/** The statements group commit needs from the connection. */
export interface Connection {
  /** Runs a statement without parameters (BEGIN, COMMIT, SAVEPOINT ...). */
  exec(sql: string): void;
  readonly isTransaction: boolean;
}

interface Unit {
  fn: () => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

export interface GroupCommitStats {
  batches: number;
  units: number;
}

export class GroupCommit {
  readonly #connection: Connection;
  readonly #mutex: Mutex;
  #queue: Unit[] = [];
  #scheduled = false;
  readonly stats: GroupCommitStats = { batches: 0, units: 0 };

  constructor(connection: Connection, mutex: Mutex) {
    this.#connection = connection;
    this.#mutex = mutex;
  }

  /** Runs `fn` inside the next batch; resolves with its result once the batch has committed. */
  run<T>(fn: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ fn, resolve: resolve as (value: unknown) => void, reject });
      if (this.#scheduled) return;
      this.#scheduled = true;
      // After the current I/O phase: requests that arrived together join one batch.
      setImmediate(() => void this.#mutex.run(() => this.#flush()));
    });
  }

  async #flush(): Promise<void> {
    this.#scheduled = false;
    const batch = this.#queue;
    this.#queue = [];
    if (batch.length === 0) return;
    const db = this.#connection;
    const outcomes: ({ ok: true; value: unknown } | { ok: false; error: unknown })[] = [];
    try {
      db.exec('BEGIN IMMEDIATE');
    } catch (error) {
      for (const unit of batch) unit.reject(error);
      return;
    }
    for (const unit of batch) {
      db.exec('SAVEPOINT unit');
      try {
        const value = await unit.fn();
        db.exec('RELEASE unit');
        outcomes.push({ ok: true, value });
      } catch (error) {
        if (db.isTransaction) {
          db.exec('ROLLBACK TO unit');
          db.exec('RELEASE unit');
        }
        outcomes.push({ ok: false, error });
      }
      // A unit that ended the transaction itself (it must not) leaves nothing to commit for the rest.
      if (!db.isTransaction) break;
    }
    try {
      if (!db.isTransaction) throw new Error('the transaction ended inside a unit');
      db.exec('COMMIT');
    } catch (error) {
      if (db.isTransaction) db.exec('ROLLBACK');
      for (const unit of batch) unit.reject(error);
      return;
    }
    this.stats.batches++;
    this.stats.units += batch.length;
    batch.forEach((unit, i) => {
      const outcome = outcomes[i];
      if (outcome?.ok) unit.resolve(outcome.value);
      else unit.reject(outcome ? outcome.error : new Error('not run'));
    });
  }
}

/**
 * Group commit for one synchronous connection: write units (transactions and single write statements) queued while
 * the connection is busy, or within one turn of the event loop, run together inside one BEGIN ... COMMIT, so
 * concurrent requests share one fsync. Each unit runs in its own SAVEPOINT: a unit that throws is rolled back alone
 * and rejects; the others commit. Units run one after another (serializable, in queue order).
 *
 * Durability: with a `flush` (an fsync of the log, run off the event loop), a batch's units settle only after a flush
 * that started after its COMMIT has finished, and the connection is free for the next batch meanwhile; `durable()`
 * is what a read awaits before answering with what it saw. Without one, the COMMIT itself is durable
 * (`synchronous=FULL`) and units settle when it returns. A failed flush fails its units and every later call: what
 * reached the disk is then unknown, and the process must restart to find out.
 */

import { Mutex } from './mutex.ts';

export { Mutex };

/**
 * Coalesces flush requests: a request made while a flush runs is served by the next one (the running flush may have
 * started before the caller's data was written), and every request made meanwhile shares that next flush.
 */
export class FlushCoalescer {
  readonly #flush: () => Promise<void>;
  #running: Promise<void> | undefined;
  #next: Promise<void> | undefined;

  constructor(flush: () => Promise<void>) {
    this.#flush = flush;
  }

  request(): Promise<void> {
    if (this.#next) return this.#next;
    if (!this.#running) return this.#start();
    this.#next = this.#running.catch(() => undefined).then(() => {
      this.#next = undefined;
      return this.#start();
    });
    return this.#next;
  }

  #start(): Promise<void> {
    const run: Promise<void> = this.#flush().finally(() => {
      if (this.#running === run) this.#running = undefined;
    });
    this.#running = run;
    return run;
  }
}

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
  readonly #flusher: FlushCoalescer | undefined;
  #queue: Unit[] = [];
  #scheduled = false;
  /** Settles once everything committed so far is on disk. */
  #durable: Promise<void> = Promise.resolve();
  #failed: unknown;
  readonly stats: GroupCommitStats = { batches: 0, units: 0 };

  constructor(connection: Connection, mutex: Mutex, flush?: () => Promise<void>) {
    this.#connection = connection;
    this.#mutex = mutex;
    this.#flusher = flush ? new FlushCoalescer(flush) : undefined;
  }

  /** Settles when every commit made so far is durable; rejects after a failed flush. */
  durable(): Promise<void> {
    return this.#failed === undefined ? this.#durable : Promise.reject(this.#failed);
  }

  /** Flushes what was committed outside a batch (a migration script); settles once it is on disk. */
  flushNow(): Promise<void> {
    if (this.#failed !== undefined) return Promise.reject(this.#failed);
    return this.#flusher ? this.#track(this.#flusher.request()) : Promise.resolve();
  }

  #track(flushed: Promise<void>): Promise<void> {
    this.#durable = flushed.catch((error: unknown) => {
      this.#failed ??= error;
      throw error;
    });
    this.#durable.catch(() => undefined);
    return this.#durable;
  }

  /** Runs `fn` inside the next batch; resolves with its result once the batch has committed durably. */
  run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#failed !== undefined) return Promise.reject(this.#failed);
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
    const settle = (): void => batch.forEach((unit, i) => {
      const outcome = outcomes[i];
      if (outcome?.ok) unit.resolve(outcome.value);
      else unit.reject(outcome ? outcome.error : new Error('not run'));
    });
    if (!this.#flusher) return settle();
    // The connection is free for the next batch while this one's flush runs on the thread pool.
    this.#track(this.#flusher.request()).then(settle, (error: unknown) => {
      for (const unit of batch) unit.reject(error);
    });
  }
}

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { describe, it } from 'node:test';
import { tempDir } from '../../../testing/tmp.ts';
import { GroupCommit, Mutex } from './group-commit.ts';
import { openNodeSqlite } from './node-sqlite.ts';

function fileDb(t: { after(fn: () => void): void }) {
  const dir = tempDir('crabbox-group-commit-');
  const path = join(dir.path, 'db.sqlite');
  const driver = openNodeSqlite({ path });
  t.after(() => dir.remove());
  return { path, driver };
}

/** What another connection (another process, after a crash) sees: committed rows only. */
const committed = (path: string, sql: string): unknown[] => {
  const other = new DatabaseSync(path, { readOnly: true });
  try {
    return other.prepare(sql).all().map((r) => Object.values(r)[0]);
  } finally {
    other.close();
  }
};

describe('node:sqlite driver: durable group commit', () => {
  it('runs in WAL mode with synchronous=FULL', async (t) => {
    const { driver } = fileDb(t);
    try {
      assert.equal(await driver.durability(), 'journal_mode=wal, synchronous=full, group commit');
    } finally {
      await driver.close();
    }
  });

  it('concurrent writes share one commit, and each resolves only once its rows are committed', async (t) => {
    const { path, driver } = fileDb(t);
    try {
      await driver.script('CREATE TABLE t (n INTEGER PRIMARY KEY)');
      const seen: number[][] = [];
      const writes = Array.from({ length: 20 }, (_, n) =>
        (n % 2 ? driver.exec('INSERT INTO t (n) VALUES (?)', [n]) : driver.transaction((tx) => tx.exec('INSERT INTO t (n) VALUES (?)', [n]))).then(() => {
          seen.push(committed(path, 'SELECT n FROM t') as number[]);
        }),
      );
      await Promise.all(writes);
      for (const rows of seen) assert.equal(rows.length, 20, 'every acknowledged write was already committed with the whole batch');
    } finally {
      await driver.close();
    }
  });

  it('writes queued in one turn of the event loop are one BEGIN ... COMMIT; later ones the next', async (t) => {
    const { path } = fileDb(t);
    const db = new DatabaseSync(path);
    try {
      db.exec('CREATE TABLE t (n INTEGER PRIMARY KEY)');
      const statements: string[] = [];
      const connection = { exec: (sql: string) => (statements.push(sql), db.exec(sql)), get isTransaction() { return db.isTransaction; } };
      const group = new GroupCommit(connection, new Mutex());
      const insert = (n: number) => group.run(async () => db.prepare('INSERT INTO t (n) VALUES (?)').run(n));
      await Promise.all(Array.from({ length: 20 }, (_, n) => insert(n)));
      await insert(20);
      assert.equal(statements.filter((s) => s === 'COMMIT').length, 2);
      assert.equal(statements.filter((s) => s === 'BEGIN IMMEDIATE').length, 2);
      assert.equal(statements.filter((s) => s === 'SAVEPOINT unit').length, 21);
      assert.deepEqual(group.stats, { batches: 2, units: 21 });
    } finally {
      db.close();
    }
  });

  it('a batch that wrote nothing (its only unit threw) still commits cleanly, and the store goes on', async (t) => {
    const { path, driver } = fileDb(t);
    try {
      await driver.script('CREATE TABLE t (n INTEGER PRIMARY KEY)');
      await assert.rejects(driver.transaction(async () => {
        throw new Error('nothing to write after all');
      }), /nothing to write/);
      await driver.exec('INSERT INTO t (n) VALUES (1)');
      assert.deepEqual(committed(path, 'SELECT n FROM t'), [1]);
    } finally {
      await driver.close();
    }
  });

  it('a failing unit rolls back alone; the others in its batch commit', async (t) => {
    const { path, driver } = fileDb(t);
    try {
      await driver.script('CREATE TABLE t (n INTEGER PRIMARY KEY)');
      const results = await Promise.allSettled([
        driver.exec('INSERT INTO t (n) VALUES (1)'),
        driver.transaction(async (tx) => {
          await tx.exec('INSERT INTO t (n) VALUES (2)');
          await tx.exec('INSERT INTO t (n) VALUES (1)'); // duplicate key: the whole unit goes, including its row 2
        }),
        driver.write('INSERT INTO t (n) VALUES (3) RETURNING n'),
      ]);
      assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled']);
      assert.deepEqual((results[2] as PromiseFulfilledResult<{ n: number }[]>).value.map((r) => r.n), [3]);
      assert.deepEqual(committed(path, 'SELECT n FROM t ORDER BY n'), [1, 3]);
    } finally {
      await driver.close();
    }
  });

  it('units run one after another in order: a later unit sees the earlier ones', async (t) => {
    const { driver } = fileDb(t);
    try {
      await driver.script('CREATE TABLE t (n INTEGER PRIMARY KEY)');
      const counts = await Promise.all(
        Array.from({ length: 10 }, (_, n) =>
          driver.transaction(async (tx) => {
            const [row] = await tx.query('SELECT COUNT(*) AS c FROM t');
            await tx.exec('INSERT INTO t (n) VALUES (?)', [n]);
            return Number(row!.c);
          }),
        ),
      );
      assert.deepEqual(counts, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    } finally {
      await driver.close();
    }
  });

  it('reads wait for a batch in flight and never see its uncommitted rows', async (t) => {
    const { driver } = fileDb(t);
    try {
      await driver.script('CREATE TABLE t (n INTEGER PRIMARY KEY)');
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      const slow = driver.transaction(async (tx) => {
        await tx.exec('INSERT INTO t (n) VALUES (1)');
        await gate;
        throw new Error('changed my mind');
      });
      const read = driver.query('SELECT COUNT(*) AS c FROM t');
      release();
      await assert.rejects(slow, /changed my mind/);
      assert.equal(Number((await read)[0]!.c), 0);
    } finally {
      await driver.close();
    }
  });
});

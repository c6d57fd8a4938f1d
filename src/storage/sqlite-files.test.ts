import assert from 'node:assert/strict';
import { chmodSync, chownSync, existsSync, mkdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { DatabaseSync } from 'node:sqlite';
import { isCrabboxError } from '../domain/errors.ts';
import { tempDir } from '../testing/tmp.ts';
import { openSqliteStore } from './sqlite.ts';
import { inspectSqliteFiles } from './sqlite-files.ts';

/** Issue 22 finding 5: the coordinator database, its WAL and SHM are the coordinator user's alone at any umask. */
const NOW = Date.UTC(2026, 0, 15);
const dir = tempDir('crabbox-sqlite-modes-');
after(() => dir.remove());
const mode = (path: string): number => statSync(path).mode & 0o777;

/** Runs `fn` with the process umask set to `mask` (each test file runs in its own process). */
async function withUmask<T>(mask: number, fn: () => Promise<T>): Promise<T> {
  const old = process.umask(mask);
  try {
    return await fn();
  } finally {
    process.umask(old);
  }
}

/** Opens the store, writes so SQLite creates -wal and -shm, and returns the modes while it is still open. */
async function modesWhileOpen(path: string): Promise<Record<string, number>> {
  const warnings: string[] = [];
  const store = await openSqliteStore({ path, now: NOW, onWarning: (w) => warnings.push(w) });
  try {
    await store.setMeta('probe', 'x');
    assert.ok(existsSync(`${path}-wal`) && existsSync(`${path}-shm`), 'WAL mode made its side files');
    return { dir: mode(join(path, '..')), db: mode(path), wal: mode(`${path}-wal`), shm: mode(`${path}-shm`) };
  } finally {
    await store.close();
  }
}

describe('coordinator database file modes', () => {
  for (const mask of [0o000, 0o022, 0o077]) {
    it(`a new database, its WAL and SHM are 0600 in a 0700 directory at umask ${mask.toString(8).padStart(3, '0')}`, async () => {
      const path = join(dir.path, `new-${mask}`, 'state', 'coordinator.sqlite');
      const modes = await withUmask(mask, () => modesWhileOpen(path));
      assert.deepEqual(modes, { dir: 0o700, db: 0o600, wal: 0o600, shm: 0o600 });
    });
  }

  it('existing files readable by others (an older coordinator at umask 022) are fixed to 0600, with a warning each', async () => {
    const path = join(dir.path, 'old', 'coordinator.sqlite');
    mkdirSync(join(dir.path, 'old'), { mode: 0o700 });
    // What an older coordinator left: database, WAL and SHM at 0644, still in use by another connection.
    const other = new DatabaseSync(path);
    other.exec('PRAGMA journal_mode = WAL; CREATE TABLE t (x); INSERT INTO t VALUES (1);');
    for (const f of [path, `${path}-wal`, `${path}-shm`]) chmodSync(f, 0o644);
    const warnings: string[] = [];
    const store = await openSqliteStore({ path, now: NOW, onWarning: (w) => warnings.push(w) });
    try {
      assert.deepEqual([mode(path), mode(`${path}-wal`), mode(`${path}-shm`)], [0o600, 0o600, 0o600]);
      assert.deepEqual(warnings, [`${path} was 0644; set to 0600`, `${path}-wal was 0644; set to 0600`, `${path}-shm was 0644; set to 0600`]);
    } finally {
      await store.close();
      other.close();
    }
  });

  it('refuses a directory others can write, even with the sticky bit, before creating anything in it', async () => {
    for (const [name, m] of [['world', 0o777], ['sticky', 0o1777], ['group', 0o770]] as const) {
      const open = join(dir.path, `open-${name}`);
      mkdirSync(open);
      chmodSync(open, m);
      const path = join(open, 'coordinator.sqlite');
      await assert.rejects(openSqliteStore({ path, now: NOW }), (e: Error) => isCrabboxError(e) && e.code === 'invalid_config' && new RegExp(`refusing to open the coordinator database .*: the database directory ${open} is 0${(m & 0o777).toString(8)}: others can create or replace`).test(e.message), name);
      assert.equal(existsSync(path), false, name);
    }
  });

  it('refuses database files that are links or belong to another user (as root: a planted WAL)', async () => {
    const linked = join(dir.path, 'linked');
    mkdirSync(linked, { mode: 0o700 });
    writeFileSync(join(dir.path, 'elsewhere'), '');
    symlinkSync(join(dir.path, 'elsewhere'), join(linked, 'coordinator.sqlite'));
    await assert.rejects(openSqliteStore({ path: join(linked, 'coordinator.sqlite'), now: NOW }), /coordinator\.sqlite is a symbolic link/);
    const planted = join(dir.path, 'planted');
    mkdirSync(planted, { mode: 0o700 });
    writeFileSync(join(planted, 'coordinator.sqlite-wal'), '', { mode: 0o666 });
    chownSync(join(planted, 'coordinator.sqlite-wal'), 65534, 65534);
    await assert.rejects(openSqliteStore({ path: join(planted, 'coordinator.sqlite'), now: NOW }), /coordinator\.sqlite-wal belongs to uid 65534, not to the coordinator's user/);
  });

  it('a directory others can list is allowed with a warning (the files stay 0600)', async () => {
    const listable = join(dir.path, 'listable');
    mkdirSync(listable);
    chmodSync(listable, 0o755);
    const path = join(listable, 'coordinator.sqlite');
    assert.deepEqual(inspectSqliteFiles(path).warn, [`the database directory ${listable} is 0755: others can see which files it holds (the files themselves are 0600; fix: chmod 700 ${listable})`]);
    const warnings: string[] = [];
    const store = await openSqliteStore({ path, now: NOW, onWarning: (w) => warnings.push(w) });
    await store.close();
    assert.equal(mode(path), 0o600);
    assert.equal(warnings.length, 1);
  });
});

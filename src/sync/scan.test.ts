import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync, symlinkSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { tempDir } from '../testing/tmp.ts';
import { gitIn, initRepo, writeFiles } from '../testing/git.ts';
import { cacheDirFor } from './cache.ts';
import { prepareSync, type PreparedSync, type SyncSettings } from './prepare.ts';
import { scanCheckout, stateEntries } from './scan.ts';

const tmp = tempDir('crabbox-scan-');
after(() => tmp.remove());
const settings: SyncSettings = { exclude: ['secret/'], deleteLimit: -1, timeoutSeconds: 60, warnFiles: 0, maxFiles: 0, warnBytes: 0, maxBytes: 0 };

/** path -> identity and size of every manifest entry of a scan. */
async function entries(repoRoot: string, cacheDir?: string): Promise<Map<string, string>> {
  const scan = await scanCheckout({ repoRoot, exclude: settings.exclude, cacheDir });
  const out = new Map<string, string>();
  for await (const e of stateEntries(scan.state)) out.set(e.path, `${e.state.id} ${e.state.size} ${e.tracked}`);
  return out;
}

test('after any sequence of changes, the incremental scan agrees with a scan from scratch', async () => {
  const repo = join(tmp.path, 'seq');
  const cacheDir = join(tmp.path, 'seq-cache');
  initRepo(repo, { 'a.txt': 'a\n', 'b/c.txt': 'c\n', 'tool.sh': 'echo\n', 'secret/key': 'k', '.gitignore': '*.log\n' });
  const steps: [string, () => void][] = [
    ['nothing', () => undefined],
    ['edit a tracked file', () => writeFiles(repo, { 'a.txt': 'A\n' })],
    ['add untracked files', () => writeFiles(repo, { 'new.txt': 'n\n', 'b/deep/new.txt': 'deep\n', 'x.log': 'ignored' })],
    ['make a script executable', () => chmodSync(join(repo, 'tool.sh'), 0o755)],
    ['add a symlink', () => symlinkSync('a.txt', join(repo, 'link'))],
    ['stage everything', () => gitIn(repo, 'add', '-A')],
    ['commit', () => gitIn(repo, 'commit', '-q', '-m', 'two')],
    ['delete a tracked file', () => unlinkSync(join(repo, 'b/c.txt'))],
    ['rename an untracked file', () => writeFiles(repo, { 'u.txt': 'u' })],
    ['', () => renameSync(join(repo, 'u.txt'), join(repo, 'v.txt'))],
    ['restore the deleted file', () => gitIn(repo, 'checkout', '--', 'b/c.txt')],
    ['branch with other content', () => {
      gitIn(repo, 'checkout', '-q', '-b', 'other');
      writeFiles(repo, { 'a.txt': 'other\n', 'only-other.txt': 'o' });
      gitIn(repo, 'add', '-A');
      gitIn(repo, 'commit', '-q', '-m', 'other');
    }],
    ['back to main', () => gitIn(repo, 'checkout', '-q', 'main')],
    ['ignore a tracked file', () => {
      writeFiles(repo, { '.gitignore': '*.log\na.txt\n' });
      gitIn(repo, 'rm', '-q', '--cached', 'a.txt');
    }],
    ['edit an excluded file', () => writeFiles(repo, { 'secret/key': 'changed' })],
    ['a folder where a file was', () => {
      rmSync(join(repo, 'tool.sh'));
      mkdirSync(join(repo, 'tool.sh'));
      writeFileSync(join(repo, 'tool.sh', 'inner.txt'), 'i');
    }],
    ['nothing again', () => undefined],
  ];
  let previous: PreparedSync | undefined;
  for (const [what, change] of steps) {
    change();
    const prepared = await prepareSync({ repoRoot: repo, settings, cacheDir });
    assert.deepEqual(await entries(repo, cacheDir), await entries(repo), `${what}: incremental vs from scratch`);
    const full = await scanCheckout({ repoRoot: repo, exclude: settings.exclude });
    assert.equal(prepared.files, full.state.files, `${what}: files`);
    assert.equal(prepared.bytes, full.state.bytes, `${what}: bytes`);
    assert.equal((await prepared.fullList()).toString(), [...(await entries(repo)).keys()].map((p) => `${p}\0`).join(''), `${what}: the list the box would get`);
    if (previous) {
      const changedSince = prepared.offer.send.length + prepared.offer.remove.length > 0;
      assert.equal(prepared.offer.base, previous.offer.fingerprint, `${what}: the change is relative to the last state`);
      assert.equal(prepared.offer.fingerprint === previous.offer.fingerprint, !changedSince, `${what}: the fingerprint moves exactly when something changed`);
    }
    await prepared.commit();
    previous = prepared;
  }
});

test('with nothing changed, the scan reads git\'s answers and the cache head only', async () => {
  const repo = join(tmp.path, 'quiet');
  const cacheDir = join(tmp.path, 'quiet-cache');
  initRepo(repo, Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`f${i}.txt`, `${i}\n`])));
  await (await prepareSync({ repoRoot: repo, settings, cacheDir })).commit();
  // The index listing is only needed when the index or a clean file changed: without it, a quiet run still works.
  for (const name of readdirSync(cacheDir).filter((n) => n.startsWith('tracked-'))) rmSync(join(cacheDir, name));
  const quiet = await prepareSync({ repoRoot: repo, settings, cacheDir });
  assert.equal(quiet.scan, 'incremental');
  assert.deepEqual([quiet.files, quiet.offer.send.length, quiet.offer.remove.length], [50, 0, 0]);
  assert.equal(quiet.offer.fingerprint, quiet.offer.base);
  // The first edit of a clean file needs the listing (its size before): missing, the scan starts from scratch.
  writeFiles(repo, { 'f1.txt': 'edited\n' });
  const edited = await prepareSync({ repoRoot: repo, settings, cacheDir });
  assert.equal(edited.scan, 'full');
  assert.equal(edited.offer.base, '');
});

test('a cache from other sync settings or another checkout is not used', async () => {
  const repo = join(tmp.path, 'settings');
  const cacheDir = join(tmp.path, 'settings-cache');
  initRepo(repo, { 'a.txt': 'a', 'b.txt': 'b' });
  await (await prepareSync({ repoRoot: repo, settings, cacheDir })).commit();
  assert.equal((await prepareSync({ repoRoot: repo, settings, cacheDir })).scan, 'incremental');
  const excluding = await prepareSync({ repoRoot: repo, settings: { ...settings, exclude: ['b.txt'] }, cacheDir });
  assert.equal(excluding.scan, 'full');
  assert.equal(excluding.files, 1);
  writeFiles(repo, { '.crabboxignore': 'a.txt\n' });
  assert.equal((await prepareSync({ repoRoot: repo, settings, cacheDir })).scan, 'full', '.crabboxignore is part of the settings');
  const copy = join(tmp.path, 'settings-copy');
  initRepo(copy, { 'a.txt': 'a', 'b.txt': 'b' });
  assert.equal((await prepareSync({ repoRoot: copy, settings, cacheDir })).scan, 'full', 'a cache names its checkout');
});

test('caches of checkouts that are gone or unused for 30 days are removed, at most once a day', async () => {
  const stateDir = join(tmp.path, 'prune-state');
  const make = async (name: string): Promise<string> => {
    const repo = join(tmp.path, name);
    initRepo(repo, { 'a.txt': name });
    const cacheDir = cacheDirFor(stateDir, repo);
    await (await prepareSync({ repoRoot: repo, settings, cacheDir })).commit();
    return repo;
  };
  const kept = await make('prune-kept');
  const gone = await make('prune-gone');
  const stale = await make('prune-stale');
  rmSync(gone, { recursive: true });
  const old = new Date(Date.now() - 31 * 86_400_000);
  const staleDir = cacheDirFor(stateDir, stale);
  for (const p of [join(staleDir, 'stamp'), join(staleDir, 'head'), staleDir]) utimesSync(p, old, old);
  // Pruning ran a moment ago (the commits above): not again today.
  await (await prepareSync({ repoRoot: kept, settings, cacheDir: cacheDirFor(stateDir, kept) })).commit();
  assert.equal(existsSync(cacheDirFor(stateDir, gone)), true);
  utimesSync(join(stateDir, 'sync', '.pruned'), old, old);
  await (await prepareSync({ repoRoot: kept, settings, cacheDir: cacheDirFor(stateDir, kept) })).commit();
  assert.equal(existsSync(cacheDirFor(stateDir, gone)), false, 'the checkout is gone');
  assert.equal(existsSync(staleDir), false, 'unused for 31 days');
  assert.equal(existsSync(join(cacheDirFor(stateDir, kept), 'head')), true);
});

test('a .crabboxignore that is not a regular file (a FIFO, a folder) fails the scan at once with its name, instead of blocking on it', async () => {
  for (const [name, make] of [['fifo', (p: string) => execFileSync('mkfifo', [p])], ['folder', (p: string) => mkdirSync(p)]] as const) {
    const repo = join(tmp.path, `ignore-${name}`);
    initRepo(repo, { 'a.txt': 'a\n' });
    make(join(repo, '.crabboxignore'));
    await assert.rejects(scanCheckout({ repoRoot: repo, exclude: [] }), (error: Error & { code?: string }) => {
      assert.equal(error.code, 'sync_failed');
      assert.match(error.message, /^cannot read \.crabboxignore: not a regular file$/);
      return true;
    });
  }
});

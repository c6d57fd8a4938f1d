// Every kind of change to a checkout arrives on the box exactly, through the incremental scan and the box's change
// list: real git, real rsync and the real wrapper (the SSH transport is left out; test/e2e covers it with sshd).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, cpSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, symlinkSync, truncateSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { systemClock } from '../domain/clock.ts';
import { tempDir } from '../testing/tmp.ts';
import { gitIn, initRepo, writeFiles } from '../testing/git.ts';
import { localBox } from '../testing/local-box.ts';
import { startSync, type SyncSettings } from './prepare.ts';
import { startRemoteRun } from './session.ts';
import { INLINE_MAX_BYTES } from './inline.ts';

const tmp = tempDir('crabbox-change-');
after(() => tmp.remove());
const settings: SyncSettings = { exclude: [], deleteLimit: -1, timeoutSeconds: 60, warnFiles: 0, maxFiles: 0, warnBytes: 0, maxBytes: 0 };

/** path -> what it holds: `file <x-bit> <sha256>` or `link <target>`. */
function treeOf(root: string, paths: Iterable<string>): Map<string, string> {
  const tree = new Map<string, string>();
  for (const path of paths) {
    const full = join(root, path);
    const st = lstatSync(full, { throwIfNoEntry: false });
    if (!st) continue;
    if (st.isSymbolicLink()) tree.set(path, `link ${readlinkSync(full)}`);
    else if (st.isFile()) tree.set(path, `file ${(st.mode & 0o100) !== 0} ${createHash('sha256').update(readFileSync(full)).digest('hex')}`);
  }
  return tree;
}

/** Every file and symlink under `root` (not entering `.git`). */
function walk(root: string, prefix = ''): string[] {
  const out: string[] = [];
  for (const name of readdirSync(join(root, prefix))) {
    const rel = prefix ? `${prefix}/${name}` : name;
    const st = lstatSync(join(root, rel));
    if (st.isDirectory()) {
      if (rel !== '.git') out.push(...walk(root, rel));
    } else out.push(rel);
  }
  return out;
}

/** What the box must hold, asked of git directly (not of the code under test). */
function expectedTree(repo: string): Map<string, string> {
  const listed = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: repo }).toString('utf8').split('\0').filter(Boolean);
  return treeOf(repo, listed);
}

let counter = 0;
function setup(files: Record<string, string>, options: { name?: string; workdir?: string; metadir?: string } = {}) {
  const root = join(tmp.path, `case-${++counter}`);
  const repo = join(root, options.name ?? 'repo');
  initRepo(repo, files);
  const box = localBox(root);
  const workdir = options.workdir ?? join(root, 'box', 'w');
  const metadir = options.metadir ?? join(root, 'box', '.crabbox', 'w');
  const cacheDir = join(root, 'cache');
  /** Files the box made itself: never synced, never compared. */
  const boxMade = new Set<string>();
  return {
    repo, workdir, metadir, cacheDir, boxMade,
    async run(args: string[] = ['true']) {
      const out = new PassThrough();
      const chunks: Buffer[] = [];
      out.on('data', (b: Buffer) => chunks.push(b));
      let sent: number | undefined;
      const sync = startSync({ repoRoot: repo, settings, cacheDir });
      const remote = startRemoteRun({
        box, workdir, metadir, command: { mode: 'argv', args }, env: [], lockWaitSeconds: 30, sync, stdout: out, stderr: new PassThrough().resume(), clock: systemClock,
        onProgress: (e) => { if (e.type === 'syncing') sent = e.files; },
      });
      const result = await remote.result;
      return { ...result, sent, scan: (await sync.prepared).scan, stdout: Buffer.concat(chunks).toString('utf8') };
    },
    /** The box holds exactly the checkout's files (and whatever the box made itself). */
    check(what: string) {
      const expected = expectedTree(repo);
      const actual = treeOf(workdir, walk(workdir).filter((p) => !boxMade.has(p)));
      assert.deepEqual(actual, expected, what);
    },
  };
}

test('touching mtimes or ctimes only sends nothing, and the tree stays exact', async () => {
  const s = setup({ 'a.txt': 'a\n', 'd/b.sh': 'echo b\n' });
  writeFiles(s.repo, { 'untracked.txt': 'u\n' });
  assert.equal((await s.run()).sync, 'synced');
  s.check('first sync');
  for (const p of ['a.txt', 'd/b.sh', 'untracked.txt']) utimesSync(join(s.repo, p), new Date(2001, 1, 1), new Date(2001, 1, 1));
  chmodSync(join(s.repo, 'a.txt'), 0o644); // a new ctime, nothing else
  const again = await s.run();
  assert.equal(again.sync, 'skipped', 'same content: nothing to send');
  assert.equal(again.scan, 'incremental');
  s.check('after touching');
});

test('checking out another branch sends only what differs between the branches, and the tree is exact', async () => {
  const files: Record<string, string> = { 'same.txt': 'same\n', 'changes.txt': 'main\n', 'only-main.txt': 'm\n', 'tool.sh': 'echo\n' };
  for (let i = 0; i < 40; i++) files[`bulk/f${i}.txt`] = `bulk ${i}\n`;
  const s = setup(files);
  gitIn(s.repo, 'checkout', '-q', '-b', 'other');
  writeFiles(s.repo, { 'changes.txt': 'other\n', 'only-other.txt': 'o\n' });
  rmSync(join(s.repo, 'only-main.txt'));
  chmodSync(join(s.repo, 'tool.sh'), 0o755);
  symlinkSync('same.txt', join(s.repo, 'link'));
  gitIn(s.repo, 'add', '-A');
  gitIn(s.repo, 'commit', '-q', '-m', 'other');
  gitIn(s.repo, 'checkout', '-q', 'main');
  assert.equal((await s.run()).sync, 'synced');
  s.check('main');
  gitIn(s.repo, 'checkout', '-q', 'other');
  const other = await s.run();
  assert.equal(other.scan, 'incremental');
  assert.equal(other.sent, 4, 'changes.txt, only-other.txt, tool.sh (mode) and link: nothing else is sent');
  assert.equal(other.transfer, 'inline', 'four small files travel on the run\'s own channel');
  assert.equal(other.deleted, 1);
  s.check('other');
  gitIn(s.repo, 'checkout', '-q', 'main');
  assert.equal((await s.run()).deleted, 2);
  s.check('main again');
  for (let i = 0; i < 6; i++) writeFiles(s.repo, { [`bulk/f${i}.txt`]: `edited ${i}\n` });
  const six = await s.run();
  assert.deepEqual([six.sent, six.transfer], [6, 'rsync'], 'more than four files go by rsync');
  s.check('six edits');
});

test('files sent inline keep their mode and nanosecond mtime, and never go through a folder the box made a symlink', async () => {
  const s = setup({ 'bin/tool': '#!/bin/sh\necho 1\n', 'lib/a.txt': 'a\n' });
  await s.run();
  writeFiles(s.repo, { 'bin/tool': '#!/bin/sh\necho 2\n', 'lib/a.txt': 'A\n' });
  chmodSync(join(s.repo, 'bin/tool'), 0o750);
  utimesSync(join(s.repo, 'lib/a.txt'), stamp, stamp);
  const r = await s.run();
  assert.equal(r.transfer, 'inline');
  s.check('inline');
  assert.equal(lstatSync(join(s.workdir, 'bin/tool')).mode & 0o777, 0o750);
  assert.equal(lstatSync(join(s.workdir, 'lib/a.txt'), { bigint: true }).mtimeNs, lstatSync(join(s.repo, 'lib/a.txt'), { bigint: true }).mtimeNs);
  assert.deepEqual(readdirSync(join(s.workdir, 'lib')), ['a.txt'], 'no temporary file is left');
  // A command on the box swaps lib/ for a symlink to a folder outside the workspace.
  const outside = join(s.workdir, '..', 'outside');
  mkdirSync(outside, { recursive: true });
  writeFileSync(join(outside, 'a.txt'), 'precious\n');
  await s.run(['sh', '-c', `rm -rf lib && ln -s '${outside}' lib`]);
  writeFiles(s.repo, { 'lib/a.txt': 'B\n' });
  const after = await s.run();
  assert.notEqual(after.transfer, 'inline', 'never written through the symlink by the wrapper');
  assert.equal(readFileSync(join(outside, 'a.txt'), 'utf8'), 'precious\n');
});

test('hostile names travel inline exactly; a change over 1 MiB goes by rsync', async () => {
  const names = ['new\nline.txt', '-leading dash.txt', `$(touch pwned)'"q.txt`, 'd/ünï \\ back.txt'];
  const s = setup({ ...Object.fromEntries(names.map((n) => [n, 'v1\n'])), 'big.bin': 'small\n' });
  await s.run();
  writeFiles(s.repo, Object.fromEntries(names.map((n) => [n, `v2 ${n}\n`])));
  const r = await s.run();
  assert.deepEqual([r.sent, r.transfer], [4, 'inline']);
  s.check('hostile names inline');
  assert.equal(existsSync(join(s.workdir, 'pwned')), false);
  assert.equal(existsSync(join(s.repo, 'pwned')), false);
  // One file, but more bytes than the run's channel carries inline (src/sync/inline.ts).
  writeFileSync(join(s.repo, 'big.bin'), Buffer.alloc(INLINE_MAX_BYTES + 1, 7));
  const big = await s.run();
  assert.deepEqual([big.sent, big.transfer], [1, 'rsync']);
  s.check('a big change');
  // Back under the limit, a single small edit is inline again.
  writeFiles(s.repo, { 'big.bin': 'small again\n' });
  assert.equal((await s.run()).transfer, 'inline');
  s.check('small again');
});

test('renames arrive: the old path leaves the box, the new one holds the content', async () => {
  const s = setup({ 'old/name.txt': 'tracked content\n', 'keep.txt': 'k\n' });
  writeFiles(s.repo, { 'scratch.txt': 'untracked content\n' });
  await s.run();
  mkdirSync(join(s.repo, 'new'));
  gitIn(s.repo, 'mv', 'old/name.txt', 'new/name.txt');
  renameSync(join(s.repo, 'scratch.txt'), join(s.repo, 'renamed.txt'));
  const r = await s.run();
  assert.equal(r.deleted, 2);
  assert.equal(r.sent, 2);
  s.check('after the renames');
  assert.equal(existsSync(join(s.workdir, 'old')), false, 'the emptied folder goes too');
});

test('a file that becomes ignored leaves the box, tracked or not', async () => {
  const s = setup({ 'app.txt': 'a\n', 'generated.txt': 'was committed\n', '.gitignore': '' });
  writeFiles(s.repo, { 'debug.log': 'log\n' });
  await s.run();
  assert.equal(readFileSync(join(s.workdir, 'debug.log'), 'utf8'), 'log\n');
  writeFiles(s.repo, { '.gitignore': '*.log\ngenerated.txt\n' });
  gitIn(s.repo, 'rm', '-q', '--cached', 'generated.txt');
  const r = await s.run();
  assert.equal(r.deleted, 2);
  s.check('after ignoring');
  assert.equal(existsSync(join(s.workdir, 'generated.txt')), false);
});

test('a deleted directory leaves the box; a folder that still holds box-made files stays', async () => {
  const s = setup({ 'gone/a.txt': 'a\n', 'gone/deep/b.txt': 'b\n', 'cached/c.txt': 'c\n', 'top.txt': 't\n' });
  writeFiles(s.repo, { 'gone/untracked.txt': 'u\n' });
  await s.run(['sh', '-c', 'echo made > cached/box-made.txt']);
  s.boxMade.add('cached/box-made.txt');
  rmSync(join(s.repo, 'gone'), { recursive: true });
  rmSync(join(s.repo, 'cached'), { recursive: true });
  const r = await s.run();
  assert.equal(r.deleted, 4);
  assert.equal(r.sent ?? 0, 0);
  s.check('after deleting folders');
  assert.equal(existsSync(join(s.workdir, 'gone')), false);
  assert.equal(readFileSync(join(s.workdir, 'cached', 'box-made.txt'), 'utf8'), 'made\n');
});

const stamp = new Date('2026-01-01T00:00:00.123Z');

test('an edit with the same size and mtime arrives (tracked and untracked, fresh and settled files)', async () => {
  const s = setup({ VERSION: 'AAAA\n' });
  writeFiles(s.repo, { 'untracked.txt': 'aaaa\n' });
  for (const p of ['VERSION', 'untracked.txt']) utimesSync(join(s.repo, p), stamp, stamp);
  assert.equal((await s.run(['cat', 'VERSION', 'untracked.txt'])).stdout, 'AAAA\naaaa\n');
  // Once a file is a few seconds old its stat signature is trusted: only the ctime tells the next edit apart.
  await new Promise((r) => setTimeout(r, 2100));
  assert.equal((await s.run()).sync, 'skipped');
  writeFiles(s.repo, { VERSION: 'BBBB\n', 'untracked.txt': 'bbbb\n' });
  for (const p of ['VERSION', 'untracked.txt']) utimesSync(join(s.repo, p), stamp, stamp);
  const r = await s.run(['cat', 'VERSION', 'untracked.txt']);
  assert.equal(r.stdout, 'BBBB\nbbbb\n');
  writeFiles(s.repo, { VERSION: 'CCCC\n' });
  utimesSync(join(s.repo, 'VERSION'), stamp, stamp);
  assert.equal((await s.run(['cat', 'VERSION'])).stdout, 'CCCC\n', 'and again right away, inside the racy window');
  s.check('after the edits');
});

test('a file a command changed on the box is sent again, keeping its size and mtime or not', async () => {
  const s = setup({ 'a.txt': 'AAAA\n', 'b.txt': 'b\n', 'c.txt': 'c\n' });
  await s.run();
  // A formatter on the box rewrites a.txt and puts its mtime back; another command deletes c.txt.
  await s.run(['sh', '-c', "m=$(stat -c %y a.txt); printf 'ZZZZ\\n' > a.txt; touch -d \"$m\" a.txt; rm c.txt"]);
  const r = await s.run(['cat', 'a.txt']);
  assert.equal(r.stdout, 'AAAA\n');
  assert.equal(r.sent, 2, 'only the two files the box changed');
  s.check('after the repair');
  assert.equal((await s.run()).sync, 'skipped');
});

test('in a large workspace the box checks its files in parts side by side, and finds a change in any part', async () => {
  // 15,000 paths of about 45 bytes: a manifest over the 512 KiB at which the box cuts its stat pass into parts.
  const files: Record<string, string> = {};
  const paths: string[] = [];
  for (let i = 0; i < 15_000; i++) {
    const path = `dir-${String(i % 150).padStart(3, '0')}/a-rather-long-file-name-${String(i).padStart(5, '0')}.txt`;
    files[path] = `${i}\n`;
    paths.push(path);
  }
  paths.sort();
  const s = setup(files);
  assert.equal((await s.run()).sync, 'synced');
  assert.ok(readFileSync(join(s.metadir, 'manifest')).length > 512 * 1024, 'the manifest is large enough to be cut');
  const online = /^0-(\d+)$/.exec(readFileSync('/sys/devices/system/cpu/online', 'utf8').trim());
  const cpus = online ? Number(online[1]) + 1 : 1;
  assert.equal(readFileSync(join(s.metadir, 'stat-parts'), 'utf8'), `${Math.min(cpus, 2)}\n`, 'two parts on a box with two CPUs or more');
  assert.equal((await s.run()).sync, 'skipped', 'nothing changed anywhere');
  const [first, middle, last] = [paths[0]!, paths[7_500]!, paths[14_999]!];
  await s.run(['sh', '-c', `printf 'box\\n' >> '${first}'; rm '${middle}'; chmod +x '${last}'`]);
  const r = await s.run(['cat', first]);
  assert.equal(r.stdout, '0\n');
  assert.equal(r.sent, 3, 'the three files the box changed, from the first, a middle and the last part');
  s.check('after the repair');
  assert.deepEqual(readdirSync(s.metadir).filter((name) => name.startsWith('records.')), [], 'the parts are removed');
  assert.equal((await s.run()).sync, 'skipped');
});

test('two checkouts syncing into one workspace each run their own tree, whatever sizes and mtimes say', async () => {
  const a = setup({ VERSION: 'AAAA\n', 'only-a.txt': 'a' }, { name: 'app' });
  const b = setup({ VERSION: 'BBBB\n', 'only-b.txt': 'b' }, { name: 'app', workdir: a.workdir, metadir: a.metadir });
  for (const s of [a, b]) utimesSync(join(s.repo, 'VERSION'), stamp, stamp);
  for (let i = 0; i < 3; i++) {
    assert.equal((await a.run(['cat', 'VERSION'])).stdout, 'AAAA\n', `round ${i}, a`);
    a.check(`round ${i}, a`);
    assert.equal((await b.run(['cat', 'VERSION'])).stdout, 'BBBB\n', `round ${i}, b`);
    b.check(`round ${i}, b`);
  }
});

test('a stale or corrupt cache falls back to a full sync, never to a wrong tree', async () => {
  const s = setup({ VERSION: 'AAAA\n', 'x.txt': 'x\n' });
  utimesSync(join(s.repo, 'VERSION'), stamp, stamp);
  await s.run();
  const saved = join(s.repo, '..', 'saved-cache');
  cpSync(s.cacheDir, saved, { recursive: true });
  const edit = (text: string): void => {
    writeFiles(s.repo, { VERSION: text });
    utimesSync(join(s.repo, 'VERSION'), stamp, stamp);
  };

  // Stale: an older cache comes back while the box moved on. Its change list is relative to a tree the box does
  // not have, so the box asks for everything and compares content (size and mtime are the same).
  edit('BBBB\n');
  await s.run();
  rmSync(s.cacheDir, { recursive: true });
  cpSync(saved, s.cacheDir, { recursive: true });
  edit('CCCC\n');
  const stale = await s.run(['cat', 'VERSION']);
  assert.equal(stale.stdout, 'CCCC\n');
  s.check('stale cache');

  // Corrupt: a torn head, then a tracked listing that does not match its hash (read after an index change).
  edit('DDDD\n');
  writeFileSync(join(s.cacheDir, 'head'), readFileSync(join(s.cacheDir, 'head'), 'utf8').slice(0, 90));
  const torn = await s.run(['cat', 'VERSION']);
  assert.equal(torn.scan, 'full');
  assert.equal(torn.stdout, 'DDDD\n');
  s.check('torn head');
  edit('EEEE\n');
  gitIn(s.repo, 'add', 'x.txt'); // rewrites the index: the cached listing must be read
  const listing = readdirSync(s.cacheDir).find((n) => n.startsWith('tracked-'))!;
  truncateSync(join(s.cacheDir, listing), 10);
  const truncated = await s.run(['cat', 'VERSION']);
  assert.equal(truncated.scan, 'full');
  assert.equal(truncated.stdout, 'EEEE\n');
  s.check('truncated listing');

  // Gone: no cache at all, and an edit of the box-side bookkeeping's own files in the same round.
  edit('FFFF\n');
  rmSync(s.cacheDir, { recursive: true });
  rmSync(join(s.metadir, 'snapshot'));
  assert.equal((await s.run(['cat', 'VERSION'])).stdout, 'FFFF\n');
  s.check('no cache');
  mkdirSync(s.cacheDir, { recursive: true });
});

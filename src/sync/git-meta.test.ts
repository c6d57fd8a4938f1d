import { after, it } from 'node:test';
import assert from 'node:assert/strict';
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../testing/tmp.ts';
import { gitIn, initRepo } from '../testing/git.ts';
import { gitMetaFor } from './git-meta.ts';

const tmp = tempDir('crabbox-git-meta-');
after(() => tmp.remove());

it('an unchanged HEAD and index send nothing and run no git at all: the quick key answers from three files', async () => {
  const repo = join(tmp.path, 'quiet');
  initRepo(repo, { 'a.txt': 'a\n' });
  const stateFile = join(tmp.path, 'state', 'quiet.json');
  const first = await gitMetaFor({ repoRoot: repo, depth: 1, stateFile });
  assert.ok(first && first.pack.length > 0 && first.index.length > 0);
  first.commit();
  // Without its object store git cannot answer anything: a second call that still works ran none.
  renameSync(join(repo, '.git', 'objects'), join(repo, '.git', 'objects.away'));
  const second = await gitMetaFor({ repoRoot: repo, depth: 1, stateFile });
  renameSync(join(repo, '.git', 'objects.away'), join(repo, '.git', 'objects'));
  assert.equal(second?.head, first.head);
  assert.deepEqual([second!.pack.length, second!.index.length, second!.shallow.length, second!.refs.length], [0, 0, 0, 0]);
});

it('a staged change sends the index and only its new blob; a new commit sends only what the box lacks, boundary-free', async () => {
  const repo = join(tmp.path, 'changes');
  initRepo(repo, { 'a.txt': 'a\n', 'big.txt': 'x'.repeat(200_000) });
  const stateFile = join(tmp.path, 'state', 'changes.json');
  const first = (await gitMetaFor({ repoRoot: repo, depth: 1, stateFile }))!;
  first.commit();
  writeFileSync(join(repo, 'a.txt'), 'staged\n');
  gitIn(repo, 'add', 'a.txt');
  const staged = (await gitMetaFor({ repoRoot: repo, depth: 1, stateFile }))!;
  assert.equal(staged.head, first.head);
  assert.ok(staged.index.length > 0 && staged.pack.length > 0 && staged.pack.length < 1000, `pack of ${staged.pack.length} bytes`);
  staged.commit();
  gitIn(repo, '-c', 'user.name=t', '-c', 'user.email=t@t.invalid', 'commit', '-q', '-m', 'next');
  const next = (await gitMetaFor({ repoRoot: repo, depth: 1, stateFile }))!;
  assert.notEqual(next.head, first.head);
  assert.ok(next.pack.length < 1000, `the big file is not sent again: ${next.pack.length} bytes`);
  assert.equal(next.shallow.length, 0, 'its parent is on the box: no new boundary');
  assert.match(next.refs.toString(), /^update refs\/heads\/\S+ [0-9a-f]{40}\n$/);
});

it('depth 0 is off, and an unborn HEAD gives the box no .git', async () => {
  const repo = join(tmp.path, 'unborn');
  initRepo(repo, { 'a.txt': 'a\n' });
  assert.equal(await gitMetaFor({ repoRoot: repo, depth: 0, stateFile: join(tmp.path, 'state', 'off.json') }), undefined);
  const empty = join(tmp.path, 'empty');
  gitIn(tmp.path, 'init', '-q', empty);
  assert.equal(await gitMetaFor({ repoRoot: empty, depth: 1, stateFile: join(tmp.path, 'state', 'empty.json') }), undefined);
});

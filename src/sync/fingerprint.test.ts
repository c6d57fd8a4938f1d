import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../testing/tmp.ts';
import { gitIn, initRepo, writeFiles } from '../testing/git.ts';
import { computeFingerprint } from './fingerprint.ts';
import { buildManifest } from './manifest.ts';

const tmp = tempDir('crabbox-fp-');
after(() => tmp.remove());

const fp = async (repo: string, exclude: string[] = []): Promise<string> => computeFingerprint(await buildManifest({ repoRoot: repo, exclude }), { format: 1 });

test('the fingerprint changes with content, mode, new files, excludes and HEAD, and only then', async () => {
  const repo = join(tmp.path, 'r');
  initRepo(repo, { 'a.txt': 'a\n', 'b.sh': 'echo\n' });
  const base = await fp(repo);
  const baseExcluding = await fp(repo, ['new.txt']);
  assert.notEqual(baseExcluding, base, 'excludes are sync settings');
  assert.equal(await fp(repo), base, 'stable');
  utimesSync(join(repo, 'a.txt'), new Date(2001, 1, 1), new Date(2001, 1, 1));
  assert.equal(await fp(repo), base, 'a file git only suspects (new mtime, same content) is still clean');
  writeFiles(repo, { 'a.txt': 'A\n' });
  const edited = await fp(repo);
  assert.notEqual(edited, base, 'same-size edit');
  writeFiles(repo, { 'a.txt': 'a\n' });
  assert.equal(await fp(repo), base, 'edit reverted');
  chmodSync(join(repo, 'b.sh'), 0o755);
  assert.notEqual(await fp(repo), base, 'mode change');
  chmodSync(join(repo, 'b.sh'), 0o644);
  writeFiles(repo, { 'new.txt': 'n' });
  const added = await fp(repo);
  assert.notEqual(added, base, 'untracked file');
  assert.equal(await fp(repo, ['new.txt']), baseExcluding, 'an excluded file does not count');
  writeFileSync(join(repo, 'new.txt'), 'm');
  assert.notEqual(await fp(repo), added, 'untracked content');
  gitIn(repo, 'add', '-A');
  gitIn(repo, 'commit', '-q', '-m', 'second');
  assert.notEqual(await fp(repo), added, 'HEAD moved');
});

test('a repository without commits hashes every file', async () => {
  const repo = join(tmp.path, 'empty');
  initRepo(join(tmp.path, 'ignore-me'), { x: 'x' });
  const { mkdirSync } = await import('node:fs');
  mkdirSync(repo);
  gitIn(repo, 'init', '-q');
  writeFiles(repo, { 'a.txt': 'a' });
  const one = await fp(repo);
  writeFiles(repo, { 'a.txt': 'b' });
  assert.notEqual(await fp(repo), one);
});

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { tempDir } from '../testing/tmp.ts';
import { gitIn, initRepo, writeFiles } from '../testing/git.ts';
import { buildManifest } from './manifest.ts';
import { checkGuardrails, enforceGuardrails } from './guardrails.ts';
import { unsafePathReason, safeDirName } from './paths.ts';

const tmp = tempDir('crabbox-manifest-');
after(() => tmp.remove());

test('built-in excludes drop untracked build folders but never tracked files; explicit excludes drop both', async () => {
  const repo = join(tmp.path, 'r1');
  initRepo(repo, { 'src/a.ts': 'a', 'dist/action.js': 'tracked artifact', 'vendor/keep.txt': 'k' });
  writeFiles(repo, { 'dist/new.js': 'untracked build output', 'node_modules/x/i.js': 'x', 'notes.txt': 'n', '.crabboxignore': '# comment\nvendor/\n*.log\n', 'debug.log': 'l' });
  const m = await buildManifest({ repoRoot: repo, exclude: ['notes.txt'] });
  const paths = m.entries.map((e) => e.path);
  assert.deepEqual(paths, ['.crabboxignore', 'dist/action.js', 'src/a.ts']);
  assert.equal(m.entries.find((e) => e.path === 'dist/action.js')?.tracked, true);
  assert.equal(m.skipped.excluded, 5);
});

test('tracked files deleted from the working tree are reported and left out', async () => {
  const repo = join(tmp.path, 'r2');
  initRepo(repo, { 'a.txt': 'a', 'b.txt': 'b' });
  gitIn(repo, 'rm', '-q', '--cached', 'b.txt');
  writeFiles(repo, {});
  const { unlinkSync } = await import('node:fs');
  unlinkSync(join(repo, 'a.txt'));
  const m = await buildManifest({ repoRoot: repo, exclude: [] });
  assert.deepEqual(m.entries.map((e) => e.path), ['b.txt']);
  assert.deepEqual(m.deletedTracked, ['a.txt']);
});

test('unsafe paths are named; remote directory names are sanitised', () => {
  assert.equal(unsafePathReason('/etc/passwd'), 'absolute path');
  assert.equal(unsafePathReason('a/../b'), '".." path segment');
  assert.equal(unsafePathReason('a//b'), 'empty path segment');
  assert.equal(unsafePathReason('-rf x\n'), undefined);
  assert.equal(safeDirName('my repo $(x)'), 'my-repo-x');
  assert.equal(safeDirName('..'), 'repo');
});

test('guardrails warn, fail, and can be passed explicitly; 0 disables a threshold', () => {
  const limits = { warnFiles: 10, maxFiles: 20, warnBytes: 100, maxBytes: 200 };
  assert.equal(checkGuardrails({ files: 5, bytes: 5 }, limits).verdict, 'ok');
  assert.equal(checkGuardrails({ files: 11, bytes: 5 }, limits).verdict, 'warn');
  assert.equal(checkGuardrails({ files: 5, bytes: 201 }, limits).verdict, 'fail');
  assert.throws(() => enforceGuardrails({ files: 21, bytes: 0 }, limits, false), /sync too large: 21 files is over sync.maxFiles 20/);
  assert.match(enforceGuardrails({ files: 21, bytes: 0 }, limits, true).join(), /allowed by --allow-large/);
  assert.equal(checkGuardrails({ files: 1e9, bytes: 1e12 }, { warnFiles: 0, maxFiles: 0, warnBytes: 0, maxBytes: 0 }).verdict, 'ok');
});

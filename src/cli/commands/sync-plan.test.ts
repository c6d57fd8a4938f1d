import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../../testing/cli.ts';
import { isolatedEnv, tempDir } from '../../testing/tmp.ts';
import { initRepo, writeFiles } from '../../testing/git.ts';

const tmp = tempDir('crabbox-plan-');
after(() => tmp.remove());

test('sync-plan shows counts, biggest files and folders, deletions and the guardrail verdict without leasing', async () => {
  const repo = join(tmp.path, 'repo with space');
  initRepo(repo, { 'src/big.bin': 'x'.repeat(5000), 'src/small.txt': 's', 'gone.txt': 'g', '.crabbox.yaml': 'sync:\n  warnFiles: 2\n' });
  writeFiles(repo, { 'node_modules/m/i.js': 'm', 'new\nline.txt': 'n' });
  unlinkSync(join(repo, 'gone.txt'));
  const env = isolatedEnv(tmp.path);
  const json = await runCli(['sync-plan', '--json'], { env, cwd: join(repo, 'src') });
  assert.equal(json.code, 0, json.stderr);
  const plan = JSON.parse(json.stdout);
  assert.equal(plan.files, 4);
  assert.equal(plan.untracked, 1);
  assert.deepEqual(plan.deletions, ['gone.txt']);
  assert.deepEqual(plan.biggestFiles[0], { path: 'src/big.bin', bytes: 5000 });
  assert.deepEqual(plan.biggestFolders[0], { path: 'src', bytes: 5001, files: 2 });
  assert.equal(plan.guardrails.verdict, 'warn');
  const text = await runCli(['sync-plan', '--limit', '1'], { env, cwd: repo });
  assert.equal(text.code, 0);
  assert.match(text.stdout, /4 files \(3 tracked, 1 untracked, 0 symlinks\)/);
  assert.match(text.stdout, /deleted locally, so deleted on the box: 1\n    gone.txt/);
  assert.match(text.stdout, /guardrails: warn \(4 files is over sync.warnFiles 2\)/);
  const bad = await runCli(['sync-plan', '--limit', '0'], { env, cwd: repo });
  assert.equal(bad.code, 64);
  assert.match(bad.stderr, /^crabbox: --limit "0": expected a whole number from 1 to 1000/);
  const outside = await runCli(['sync-plan'], { env, cwd: tmp.path });
  assert.equal(outside.code, 73);
});

test('sync-plan counts read right in the singular: "1 file", "1 path excluded", "1 symlink"', async () => {
  const repo = join(tmp.path, 'one');
  initRepo(repo, { 'only.txt': 'x', '.crabboxignore': 'skip.log\n' });
  writeFiles(repo, { 'skip.log': 'ignored' });
  const text = await runCli(['sync-plan'], { env: isolatedEnv(tmp.path), cwd: repo });
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /^ {2}2 files \(2 tracked, 0 untracked, 0 symlinks\)/m);
  assert.match(text.stdout, /^ {2}1 path excluded \(patterns: built-in \d+, sync\.exclude 0, \.crabboxignore 1\)$/m);
  assert.doesNotMatch(text.stdout, /\b1 (files|paths|patterns|symlinks)\b/);
});

// Git on the box (docs/sync.md, "Git on the box"): local provider, real sshd, rsync and git on both sides.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../../src/testing/cli.ts';
import { runSandbox } from '../../src/testing/run-sandbox.ts';
import { gitIn, initRepo, writeFiles } from '../../src/testing/git.ts';

const sandbox = runSandbox({ prefix: 'crabbox-e2e-git-' });
const repo = join(sandbox.path, 'repo');
let slug = '';

const crabbox = (argv: string[], cwd = repo) => runCli(argv, { env: sandbox.env, cwd });
const local = (...args: string[]): string => gitIn(repo, ...args);
/** What a git command prints on the box, for this checkout. */
async function onBox(script: string, cwd = repo): Promise<string> {
  const r = await crabbox(['run', '--id', slug, '--shell', '--', script], cwd);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout;
}

describe('git on the box (local provider)', () => {
  before(async () => {
    initRepo(repo, { 'keep.txt': 'v1\n', 'gone.txt': 'bye\n', 'staged.txt': 'old\n', '.gitignore': 'secret.env\nbuild/\n' });
    for (let i = 2; i <= 4; i++) {
      writeFiles(repo, { 'keep.txt': `v${i}\n` });
      local('commit', '-q', '-am', `commit ${i}`);
    }
    local('tag', '-a', 'v1.0', '-m', 'release');
    local('remote', 'add', 'origin', 'https://user:hunter2-remote-secret@example.invalid/repo.git');
    const warm = await crabbox(['warmup', '--json']);
    assert.equal(warm.code, 0, warm.stderr);
    slug = (JSON.parse(warm.stdout) as { slug: string }).slug;
  });
  after(() => sandbox.remove());

  it('a dirty checkout (added, modified, staged, deleted, untracked, ignored) answers git status, diff and HEAD as locally', async () => {
    writeFiles(repo, { 'keep.txt': 'changed\n', 'new-staged.txt': 'added\n', 'untracked.txt': 'u\n', 'secret.env': 'TOKEN=ignored-local-value\n', 'build/out.o': 'x' });
    writeFiles(repo, { 'staged.txt': 'staged change\n' });
    local('add', 'new-staged.txt', 'staged.txt');
    unlinkSync(join(repo, 'gone.txt'));
    const status = local('status', '--porcelain');
    assert.match(status, /A {2}new-staged\.txt/);
    assert.match(status, / D gone\.txt/);
    assert.equal(await onBox('git status --porcelain'), status);
    assert.equal((await onBox('git rev-parse HEAD')).trim(), local('rev-parse', 'HEAD').trim());
    assert.equal((await onBox('git rev-parse --abbrev-ref HEAD')).trim(), local('rev-parse', '--abbrev-ref', 'HEAD').trim());
    assert.equal(await onBox('git diff'), local('diff'));
    assert.equal(await onBox('git diff --cached'), local('diff', '--cached'));
    assert.equal(await onBox('git log -1 --format=%H%n%s%n%an'), local('log', '-1', '--format=%H%n%s%n%an'));
    assert.equal(await onBox('git describe --tags --dirty'), local('describe', '--tags', '--dirty'));
  });

  it('ships one commit of history by default (shallow), and .git holds no ignored file, no remote (nor its credentials) and no hooks', async () => {
    assert.equal((await onBox('git rev-list --count HEAD')).trim(), '1');
    assert.equal((await onBox('git rev-parse --is-shallow-repository')).trim(), 'true');
    const leak = await onBox('grep -rl -e ignored-local-value -e hunter2-remote-secret .git || true; git remote; ls .git/hooks | grep -v sample || true; git cat-file --batch-all-objects --batch-check | wc -l');
    const lines = leak.trim().split('\n');
    assert.deepEqual(lines.slice(0, -1), [], 'no ignored content, remote or live hook on the box');
    // HEAD's commit, its tree and blobs, the tag's commit is not needed; the staged blob: a handful of objects.
    assert.ok(Number(lines.at(-1)) < 20, `objects on the box: ${lines.at(-1)}`);
  });

  it('a new commit moves HEAD on the box, and a second one again, with the history in between', async () => {
    local('add', '-A');
    local('commit', '-q', '-m', 'everything');
    const head = local('rev-parse', 'HEAD').trim();
    assert.equal((await onBox('git rev-parse HEAD; git status --porcelain')), `${head}\n`);
    writeFileSync(join(repo, 'after.txt'), 'later\n');
    local('add', 'after.txt');
    local('commit', '-q', '-m', 'after');
    const next = local('rev-parse', 'HEAD').trim();
    assert.notEqual(next, head);
    assert.equal(await onBox('git rev-parse HEAD; git log --format=%s -2; git status --porcelain'), `${next}\nafter\neverything\n`);
  });

  it('sync.gitDepth: 0 gives the box no .git; a larger depth gives it that much history', async () => {
    const other = join(sandbox.path, 'deep');
    initRepo(other, { 'a.txt': '1\n' });
    for (let i = 2; i <= 5; i++) {
      writeFiles(other, { 'a.txt': `${i}\n` });
      gitIn(other, 'commit', '-q', '-am', `c${i}`);
    }
    writeFileSync(join(other, '.crabbox.yaml'), 'sync:\n  gitDepth: 3\n');
    assert.equal((await onBox('git rev-list --count HEAD; git log --format=%s -3', other)), '3\nc5\nc4\nc3\n');
    writeFileSync(join(other, '.crabbox.yaml'), 'sync:\n  gitDepth: 0\n');
    const none = join(sandbox.path, 'none');
    initRepo(none, { 'a.txt': '1\n', '.crabbox.yaml': 'sync:\n  gitDepth: 0\n' });
    assert.equal(await onBox('test -e .git && echo has-git || echo no-git', none), 'no-git\n');
  });
});

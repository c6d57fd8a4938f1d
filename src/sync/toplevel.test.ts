import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chownSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../testing/tmp.ts';
import { gitIn, initRepo } from '../testing/git.ts';
import { discoverTopLevel } from './toplevel.ts';
import { gitTopLevel } from './git.ts';

const tmp = tempDir('crabbox-toplevel-');
after(() => tmp.remove());
const root = tmp.path;

/** What git itself says for `cwd` (undefined where it says there is no work tree). */
function gitSays(cwd: string, ceiling: string | undefined = root): string | undefined {
  try {
    return execFileSync('git', ['rev-parse', '--show-toplevel'], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], env: { ...process.env, ...(ceiling ? { GIT_CEILING_DIRECTORIES: ceiling } : {}) } }).trim();
  } catch {
    return undefined;
  }
}

const repo = join(root, 'repo');
initRepo(repo, { 'a.txt': 'a\n', 'src/deep/b.txt': 'b\n' });
gitIn(repo, 'worktree', 'add', '-q', join(root, 'worktree'));
initRepo(join(root, 'sub-origin'), { 'c.txt': 'c\n' });
gitIn(repo, '-c', 'protocol.file.allow=always', 'submodule', 'add', '-q', join(root, 'sub-origin'), 'vendor/sub');
gitIn(root, 'init', '-q', '--bare', 'bare.git');
mkdirSync(join(root, 'plain', 'dir'), { recursive: true });
symlinkSync(join(repo, 'src'), join(root, 'link-to-src'));

const cases: [string, string][] = [
  ['the top level itself', repo],
  ['a directory deep inside', join(repo, 'src', 'deep')],
  ['a linked worktree (a gitdir: file)', join(root, 'worktree')],
  ['inside a submodule', join(repo, 'vendor', 'sub')],
  ['inside .git', join(repo, '.git')],
  ['inside .git/refs', join(repo, '.git', 'refs')],
  ['a bare repository', join(root, 'bare.git')],
  ['a symlink into the checkout (git answers the physical path)', join(root, 'link-to-src')],
];

for (const [name, cwd] of cases) {
  test(`discovery without git matches \`git rev-parse --show-toplevel\`: ${name}`, async () => {
    const expected = gitSays(cwd);
    const discovered = await discoverTopLevel(cwd, {});
    assert.notEqual(discovered, 'ask-git');
    assert.equal((discovered as { found: string | undefined }).found, expected);
    assert.equal(await gitTopLevel(cwd), expected);
  });
}

test('outside any checkout the walk finds none (git, stopped at the same ceiling, agrees)', async () => {
  const cwd = join(root, 'plain', 'dir');
  assert.equal(gitSays(cwd), undefined);
  // The walk has no ceiling; it must not stop early, and above the temp dir there is no checkout either.
  assert.deepEqual(await discoverTopLevel(cwd, {}), { found: gitSays(cwd, undefined) });
});

test('git is asked when discovery env is set, and for a .git owned by another user', async () => {
  assert.equal(await discoverTopLevel(repo, { GIT_DIR: join(repo, '.git') }), 'ask-git');
  assert.equal(await discoverTopLevel(repo, { GIT_CEILING_DIRECTORIES: root }), 'ask-git');
  const foreign = join(root, 'foreign');
  initRepo(foreign, { 'x.txt': 'x\n' });
  chownSync(join(foreign, '.git'), 4242, 4242); // the suite runs as root
  assert.equal(await discoverTopLevel(foreign, {}), 'ask-git');
  const foreignTree = join(root, 'foreign-tree');
  initRepo(foreignTree, { 'y.txt': 'y\n' });
  chownSync(foreignTree, 4242, 4242);
  assert.equal(await discoverTopLevel(foreignTree, {}), 'ask-git');
});

test('a .git that is neither a git dir nor a gitdir: file is left to git', async () => {
  const odd = join(root, 'odd');
  mkdirSync(odd);
  writeFileSync(join(odd, '.git'), 'not a gitfile\n');
  assert.equal(await discoverTopLevel(odd, {}), 'ask-git');
  assert.equal(await gitTopLevel(odd), gitSays(odd));
});

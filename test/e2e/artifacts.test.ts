// Results back: `crabbox run --download`, config `artifacts:` and `crabbox cp` on the local provider (real sshd, tar).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../../src/testing/cli.ts';
import { runSandbox } from '../../src/testing/run-sandbox.ts';
import { initRepo } from '../../src/testing/git.ts';

const sandbox = runSandbox({ prefix: 'crabbox-e2e-artifacts-' });
const repo = join(sandbox.path, 'repo');
let slug = '';

const crabbox = (argv: string[]) => runCli(argv, { env: sandbox.env, cwd: repo });

/** Every file under a folder, relative, sorted. */
function tree(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return (readdirSync(dir, { recursive: true, withFileTypes: true }) as import('node:fs').Dirent[])
    .filter((e) => !e.isDirectory())
    .map((e) => join(e.parentPath, e.name).slice(dir.length + 1))
    .sort();
}

describe('results back from the box (local provider)', () => {
  before(async () => {
    initRepo(repo, { 'README.md': 'artifacts\n' });
    const warm = await crabbox(['warmup', '--json']);
    assert.equal(warm.code, 0, warm.stderr);
    slug = (JSON.parse(warm.stdout) as { slug: string }).slug;
  });
  after(() => sandbox.remove());

  it('--download copies matching paths into .crabbox/artifacts/<run id>/ also when the command fails; the run record lists them', async () => {
    const make = 'mkdir -p coverage/lcov test-results; echo cov > coverage/lcov/index.html; echo "<x/>" > test-results/a.xml; echo no > other.txt; ln -s /etc coverage/etc; exit 3';
    const r = await crabbox(['run', '--json', '--id', slug, '--download', 'coverage/**', '--download', 'test-results/', '--download', 'nothing-here', '--shell', '--', make]);
    assert.equal(r.code, 3, r.stderr);
    const result = JSON.parse(r.stdout) as { runId: string; artifacts: { dir: string; files: number; bytes: number; paths: string[]; skipped: number } };
    const dir = join(repo, '.crabbox', 'artifacts', result.runId);
    assert.deepEqual(tree(dir), ['coverage/lcov/index.html', 'test-results/a.xml']);
    assert.equal(readFileSync(join(dir, 'coverage/lcov/index.html'), 'utf8'), 'cov\n');
    assert.deepEqual({ ...result.artifacts, paths: [...result.artifacts.paths].sort() }, {
      dir: `.crabbox/artifacts/${result.runId}`, files: 2, bytes: 9, paths: ['coverage/lcov/index.html', 'test-results/a.xml'], omitted: 0, skipped: 1,
    });
    assert.match(r.stderr, /warning: download "nothing-here": nothing matched on the box/);
    assert.match(r.stderr, /warning: download: 1 matching symlinks or special files were not copied/);
    assert.match(r.stderr, new RegExp(`crabbox: downloaded 2 files \\(9 B\\) to \\.crabbox/artifacts/${result.runId}/`));
    const results = await crabbox(['results', result.runId, '--json']);
    assert.equal(results.code, 0, results.stderr);
    assert.deepEqual((JSON.parse(results.stdout) as { artifacts: unknown }).artifacts, result.artifacts);
    // What came back is never synced to the next box.
    const next = await crabbox(['run', '--id', slug, '--', 'bash', '-c', 'test ! -e .crabbox']);
    assert.equal(next.code, 0, next.stderr);
  });

  it('repo config artifacts: paths always, the failure bundle only when the command fails', async () => {
    writeFileSync(join(repo, '.crabbox.yaml'), 'artifacts:\n  paths: ["always.txt"]\n  onFailure: ["logs/"]\n');
    try {
      const script = (code: number) => `echo a > always.txt; mkdir -p logs; echo log > logs/run.log; exit ${code}`;
      const ok = await crabbox(['run', '--json', '--id', slug, '--shell', '--', script(0)]);
      assert.equal(ok.code, 0, ok.stderr);
      const okId = (JSON.parse(ok.stdout) as { runId: string }).runId;
      assert.deepEqual(tree(join(repo, '.crabbox', 'artifacts', okId)), ['always.txt']);
      const failed = await crabbox(['run', '--json', '--id', slug, '--shell', '--', script(1)]);
      assert.equal(failed.code, 1, failed.stderr);
      const failedId = (JSON.parse(failed.stdout) as { runId: string }).runId;
      assert.deepEqual(tree(join(repo, '.crabbox', 'artifacts', failedId)), ['always.txt', 'logs/run.log']);
    } finally {
      rmSync(join(repo, '.crabbox.yaml'));
    }
  });

  it('a 10 GB sparse file on the box hits the size limit with a clear warning; nothing is written and the exit code stands', async () => {
    const r = await crabbox(['run', '--json', '--id', slug, '--download', 'big/', '--shell', '--', 'mkdir -p big; echo x > big/small; truncate -s 10G big/huge.bin']);
    assert.equal(r.code, 0, r.stderr);
    const result = JSON.parse(r.stdout) as { runId: string; artifacts: { files: number; error: string } };
    assert.equal(result.artifacts.files, 0);
    assert.equal(result.artifacts.error, 'the matching files come to 10.0 GiB, more than artifacts.maxBytes (1.0 GiB); nothing was copied');
    assert.match(r.stderr, /warning: download: the matching files come to 10\.0 GiB, more than artifacts\.maxBytes \(1\.0 GiB\); nothing was copied/);
    assert.equal(existsSync(join(repo, '.crabbox', 'artifacts', result.runId)), false);
    await crabbox(['run', '--id', slug, '--', 'rm', '-rf', 'big']);
  });

  it('a --download path outside the checkout is refused in one line before anything runs', async () => {
    for (const bad of ['/etc/passwd', '../x', '~/x']) {
      const r = await crabbox(['run', '--id', slug, '--download', bad, '--', 'touch', 'ran.txt']);
      assert.equal(r.code, 64, r.stderr);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    }
    assert.equal((await crabbox(['run', '--id', slug, '--', 'test', '!', '-e', 'ran.txt'])).code, 0, 'nothing ran');
  });

  it('cp <lease>:<path> <local> copies a file or a folder; never over an existing file, never a symlink, never outside', async () => {
    const made = await crabbox(['run', '--id', slug, '--shell', '--', 'mkdir -p out/sub; echo one > out/one.txt; echo two > out/sub/two.txt; ln -sf /etc/passwd out/pw; ln -sfn /etc evil']);
    assert.equal(made.code, 0, made.stderr);
    const local = join(sandbox.path, 'copies');
    rmSync(local, { recursive: true, force: true });
    const folder = await crabbox(['cp', `${slug}:out`, local]);
    assert.equal(folder.code, 0, folder.stderr);
    assert.deepEqual(tree(local), ['one.txt', 'sub/two.txt']);
    assert.match(folder.stderr, /crabbox: copied 2 files \(8 B\) to /);
    // Into an existing folder: under its own name.
    const into = join(sandbox.path, 'into');
    rmSync(into, { recursive: true, force: true });
    mkdirSync(into);
    const file = await crabbox(['cp', `${slug}:out/one.txt`, into]);
    assert.equal(file.code, 0, file.stderr);
    const sub = await crabbox(['cp', `${slug}:out/sub`, into]);
    assert.equal(sub.code, 0, sub.stderr);
    assert.deepEqual(tree(into), ['one.txt', 'sub/two.txt']);
    assert.equal(readFileSync(join(into, 'sub/two.txt'), 'utf8'), 'two\n');
    const over = await crabbox(['cp', `${slug}:out/one.txt`, join(local, 'one.txt')]);
    assert.equal(over.code, 75, over.stderr);
    assert.match(over.stderr, /already exists; crabbox cp never writes over files/);
    for (const [arg, message, code] of [[`${slug}:evil`, /evil on the box is a symlink or special file/, 65], [`${slug}:evil/passwd`, /evil\/passwd on the box is a symlink or special file, or lies under a symlink/, 65], [`${slug}:missing`, /no missing in the checkout on the box/, 66], [`${slug}:../x`, /must not contain \.\./, 64], [`${slug}:/etc/passwd`, /must be relative to the checkout/, 64]] as const) {
      const r = await crabbox(['cp', arg, join(sandbox.path, 'never')]);
      assert.equal(r.code, code, `${arg}: ${r.stderr}`);
      assert.match(r.stderr, message);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    }
    assert.equal(existsSync(join(sandbox.path, 'never')), false);
  });

  it('cp <local> <lease>:<path> sends a file or a folder into the checkout on the box', async () => {
    const src = join(sandbox.path, 'fixtures');
    rmSync(src, { recursive: true, force: true });
    mkdirSync(join(src, 'deep'), { recursive: true });
    writeFileSync(join(src, 'deep', 'f.txt'), 'fixture\n');
    writeFileSync(join(sandbox.path, 'single.txt'), 'single\n');
    assert.equal((await crabbox(['cp', src, `${slug}:data/fixtures`])).code, 0);
    const one = await crabbox(['cp', join(sandbox.path, 'single.txt'), `${slug}:data/one.txt`]);
    assert.equal(one.code, 0, one.stderr);
    const r = await crabbox(['run', '--id', slug, '--', 'cat', 'data/fixtures/deep/f.txt', 'data/one.txt']);
    assert.equal(r.stdout, 'fixture\nsingle\n', r.stderr);
    const both = await crabbox(['cp', src, join(sandbox.path, 'x')]);
    assert.equal(both.code, 64);
    assert.match(both.stderr, /exactly one side is <lease>:<path>/);
  });
});

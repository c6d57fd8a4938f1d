// Results back: `crabbox run --download`, config `artifacts:` and `crabbox cp` on the local provider (real sshd, tar).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
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
});

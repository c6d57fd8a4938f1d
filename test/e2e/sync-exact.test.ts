// The box runs exactly the checkout's tree, over real ssh, rsync and sshd on the local provider: the cases where a
// size-and-mtime check alone keeps stale content, and the run's reported total against the wall clock.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { utimesSync } from 'node:fs';
import { join } from 'node:path';
import { runBin, runCli } from '../../src/testing/cli.ts';
import { runSandbox } from '../../src/testing/run-sandbox.ts';
import { initRepo, writeFiles } from '../../src/testing/git.ts';

const sandbox = runSandbox({ prefix: 'crabbox-e2e-exact-' });
const { env } = sandbox;
const repo = join(sandbox.path, 'one', 'app');
let slug = '';
const stamp = new Date('2026-01-01T00:00:00.123Z');

const crabbox = (argv: string[], cwd = repo) => runCli(argv, { env, cwd });

/** `echo <text> > VERSION; touch -d '2026-01-01 00:00:00.123'`: same size, same mtime, different bytes. */
function version(dir: string, text: string): void {
  writeFiles(dir, { VERSION: `${text}\n` });
  utimesSync(join(dir, 'VERSION'), stamp, stamp);
}

describe('the box runs exactly the checkout', () => {
  before(async () => {
    initRepo(repo, { 'README.md': 'one\n' });
    const warm = await crabbox(['warmup', '--json']);
    assert.equal(warm.code, 0, warm.stderr);
    slug = (JSON.parse(warm.stdout) as { slug: string }).slug;
  });
  after(() => sandbox.remove());

  it('an edit with the same size and mtime reaches the box on a warm lease', async () => {
    version(repo, 'AAAA');
    const first = await crabbox(['run', '--id', slug, '--', 'cat', 'VERSION']);
    assert.equal(first.code, 0, first.stderr);
    assert.equal(first.stdout, 'AAAA\n');
    version(repo, 'BBBB');
    const second = await crabbox(['run', '--id', slug, '--', 'cat', 'VERSION']);
    assert.equal(second.code, 0, second.stderr);
    assert.equal(second.stdout, 'BBBB\n');
  });

  it('two checkouts with the same folder name on one warm lease, run concurrently, each see only their own tree', async () => {
    const other = join(sandbox.path, 'two', 'app');
    initRepo(other, { 'README.md': 'two\n' });
    version(repo, 'AAAA');
    version(other, 'BBBB');
    const runs = await Promise.all(Array.from({ length: 12 }, (_, i) => crabbox(['run', '--id', slug, '--', 'sh', '-c', 'cat VERSION README.md'], i % 2 ? other : repo)));
    runs.forEach((r, i) => {
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, i % 2 ? 'BBBB\ntwo\n' : 'AAAA\none\n', `run ${i}`);
    });
  });

  it('the summary line and the --json total cover the process from start to exit (within 20 ms of the wall clock)', async () => {
    const diffs: number[] = [];
    // Until one run is within 20 ms, at most ten (see the note below).
    for (let i = 0; i < 10 && !diffs.some((d) => d <= 20); i++) {
      const started = process.hrtime.bigint();
      const r = await runBin(['run', '--json', '--id', slug, '--', 'true'], { env, cwd: repo });
      const wall = Number(process.hrtime.bigint() - started) / 1e6;
      assert.equal(r.code, 0, r.stderr);
      const json = JSON.parse(r.stdout) as { timings: Record<string, number> };
      const line = /total=(\d+\.\d\d)s/.exec(r.stderr);
      assert.ok(line, r.stderr);
      const total = json.timings.total!;
      assert.ok(Math.abs(Number(line[1]) * 1000 - total) <= 5, `summary ${line[1]}s vs --json timings.total ${total} ms`);
      assert.ok(total <= wall, `total ${total} ms cannot exceed the wall time ${wall.toFixed(1)} ms`);
      assert.ok(json.timings.prepare! > 0, 'a prepare phase from process start');
      const phases = ['prepare', 'lease', 'sync', 'command', 'release'].reduce((sum, k) => sum + (json.timings[k] ?? 0), 0);
      assert.ok(phases <= total + 2 && phases >= total - 20, `phases ${phases} ms add up to the total ${total} ms`);
      diffs.push(wall - total);
    }
    // Process creation before the runtime starts its clock, the exit after the last line and this test's own event
    // loop noticing it are outside any program's reach; the best of up to ten runs takes a busy machine's scheduling
    // noise out of the figure (under a load of 12-15 on two cores single runs differ from the wall clock by 14-75 ms;
    // a total that left out the start-up, the scan or the release would be off by at least that much in every run).
    assert.ok(Math.min(...diffs) <= 20, `wall minus total: ${diffs.map((d) => d.toFixed(1)).join(', ')} ms`);
  });
});

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { ManualClock } from '../../domain/clock.ts';
import { ExitCode } from '../../domain/exit-codes.ts';
import { summarizeJUnit } from '../../results/junit.ts';
import { LocalRunRecorder } from '../../runs/local-recorder.ts';
import { LocalRunStore } from '../../runs/store.ts';
import { runCli } from '../../testing/cli.ts';
import { isolatedEnv, tempDir } from '../../testing/tmp.ts';

const tmp = tempDir();
const env = isolatedEnv(tmp.path);
const cwd = tmp.path;
const ids: Record<string, string> = {};

before(async () => {
  const clock = new ManualClock(Date.UTC(2026, 0, 1, 12));
  const store = new LocalRunStore({ stateDir: join(tmp.path, 'state', 'crabbox'), historyLimit: 100, clock });
  const recorder = new LocalRunRecorder({ store, clock, recordCommand: true });
  const lease = { leaseId: 'cbx_0123456789ab', slug: 'blue-lobster', provider: 'local' };
  ids.ok = await recorder.start({ ...lease, command: ['npm', 'test'] });
  await recorder.finish(ids.ok, { exitCode: 0, timings: { sync: 0, command: 1230, total: 1400 }, syncSkipped: true, logTail: { text: 'all good\n', totalBytes: 9, truncated: false } });
  clock.advance(60_000);
  ids.failed = await recorder.start({ leaseId: 'cbx_ffffffffffff', slug: 'red-crab', provider: 'local', command: ['make', 'check\nweird\u001b[31m'] });
  const junit = summarizeJUnit([{ path: 'r.xml', content: '<testsuite name="math"><testcase name="adds" classname="m" file="m.test.ts" line="3"><failure message="expected 2, got 3">trace</failure></testcase><testcase name="ok"/></testsuite>' }, { path: 'bad.xml', content: '<x' }]);
  await recorder.finish(ids.failed, { exitCode: 1, timings: { sync: 420, command: 5000, total: 6000 }, syncSkipped: false, junit, logTail: { text: 'tail end\n', totalBytes: 100_000, truncated: true } });
  clock.advance(60_000);
  ids.running = await recorder.start({ ...lease, command: ['sleep', '100'] });
});
after(() => tmp.remove());

describe('crabbox history', () => {
  it('lists runs newest first as a table, control characters escaped', async () => {
    const r = await runCli(['history'], { env, cwd });
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trimEnd().split('\n');
    assert.match(lines[0]!, /^RUN\s+LEASE\s+STATE\s+EXIT\s+SYNC\s+TOTAL\s+STARTED\s+COMMAND$/);
    assert.deepEqual(lines.slice(1).map((l) => l.split(/\s+/)[0]), [ids.running, ids.failed, ids.ok]);
    assert.match(lines[2]!, /red-crab\s+failed\s+1\s+0\.42s\s+6\.00s\s+2026-01-01T12:01:00Z\s+make check\\nweird\\x1b\[31m$/);
    assert.match(lines[3]!, /blue-lobster\s+succeeded\s+0\s+skipped\s+1\.40s/);
  });

  it('filters by lease id or slug, state and limit; --json gives entries without the log tail', async () => {
    const bySlug = JSON.parse((await runCli(['history', '--lease', 'blue-lobster', '--json'], { env, cwd })).stdout);
    assert.deepEqual(bySlug.runs.map((r: { id: string }) => r.id), [ids.running, ids.ok]);
    const byId = JSON.parse((await runCli(['history', '--lease', 'cbx_ffffffffffff', '--json'], { env, cwd })).stdout);
    assert.deepEqual(byId.runs.map((r: { id: string }) => r.id), [ids.failed]);
    assert.equal(byId.runs[0].logTail, undefined);
    assert.deepEqual(byId.runs[0].junit, { tests: 2, passed: 1, failures: 1, errors: 0, skipped: 0, time: 0 });
    const failed = JSON.parse((await runCli(['history', '--state', 'failed', '--json'], { env, cwd })).stdout);
    assert.deepEqual(failed.runs.map((r: { id: string }) => r.id), [ids.failed]);
    const one = JSON.parse((await runCli(['history', '--limit', '1', '--json'], { env, cwd })).stdout);
    assert.equal(one.runs.length, 1);
  });

  it('refuses bad flags in one line with exit 64', async () => {
    for (const argv of [['--limit', '0'], ['--limit', 'lots'], ['--limit', '1e3'], ['--state', 'exploded'], ['--lease', '../../etc'], ['--lease', 'x; rm -rf /']]) {
      const r = await runCli(['history', ...argv], { env, cwd });
      assert.equal(r.code, ExitCode.usage, `${argv.join(' ')}: ${r.stderr}`);
      assert.equal(r.stderr.trimEnd().split('\n').length, 1, r.stderr);
      assert.equal(r.stdout, '');
    }
  });

  it('says so when there is no history', async () => {
    const empty = tempDir();
    try {
      const r = await runCli(['history'], { env: isolatedEnv(empty.path), cwd: empty.path });
      assert.equal(r.code, 0);
      assert.match(r.stderr, /no runs recorded yet/);
      const j = await runCli(['history', '--json'], { env: isolatedEnv(empty.path), cwd: empty.path });
      assert.deepEqual(JSON.parse(j.stdout), { schema: 'crabbox.history/v1', runs: [] });
    } finally {
      empty.remove();
    }
  });
});

describe('crabbox logs', () => {
  it('prints the stored tail, noting when it was cut', async () => {
    const ok = await runCli(['logs', ids.ok!], { env, cwd });
    assert.deepEqual([ok.code, ok.stdout, ok.stderr], [0, 'all good\n', '']);
    const cut = await runCli(['logs', ids.failed!], { env, cwd });
    assert.equal(cut.stdout, 'tail end\n');
    assert.match(cut.stderr, /showing the last 9 of 100000 bytes/);
    const running = await runCli(['logs', ids.running!], { env, cwd });
    assert.match(running.stderr, /no stored output yet \(still running\)/);
  });

  it('--json gives the tail with its metadata', async () => {
    const r = await runCli(['logs', ids.failed!, '--json'], { env, cwd });
    assert.deepEqual(JSON.parse(r.stdout), { schema: 'crabbox.logs/v1', runId: ids.failed, state: 'failed', exitCode: 1, logTail: { text: 'tail end\n', totalBytes: 100_000, truncated: true } });
  });
});

describe('crabbox results', () => {
  it('prints counts and failed cases, warnings on stderr', async () => {
    const r = await runCli(['results', ids.failed!], { env, cwd });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'tests=2 passed=1 failures=1 errors=0 skipped=0 time=0.00s files=2\n\nFAIL math › adds (m m.test.ts:3)\n  expected 2, got 3\n');
    assert.match(r.stderr, /^warning: bad\.xml: malformed XML/);
  });

  it('--json gives the whole summary; a run without JUnit says so', async () => {
    const j = JSON.parse((await runCli(['results', ids.failed!, '--json'], { env, cwd })).stdout);
    assert.equal(j.junit.failed[0].name, 'adds');
    const none = await runCli(['results', ids.ok!], { env, cwd });
    assert.deepEqual([none.code, none.stdout], [0, '']);
    assert.match(none.stderr, /has no JUnit results/);
    assert.equal(JSON.parse((await runCli(['results', ids.ok!, '--json'], { env, cwd })).stdout).junit, null);
  });
});

describe('hostile and unknown run ids', () => {
  for (const command of ['logs', 'results']) {
    it(`${command}: malformed ids exit 64, unknown ids exit 66, one line each`, async () => {
      for (const bad of ['../../../etc/passwd', 'run_xyz', 'run_0123456789ab/..', '$(touch /tmp/x)', 'run_0123456789abc']) {
        const r = await runCli([command, bad], { env, cwd });
        assert.equal(r.code, ExitCode.usage, `${bad}: ${r.stderr}`);
        assert.equal(r.stderr.trimEnd().split('\n').length, 1);
      }
      const unknown = await runCli([command, 'run_000000000000'], { env, cwd });
      assert.equal(unknown.code, ExitCode.notFound, unknown.stderr);
      assert.match(unknown.stderr, /^crabbox: run run_000000000000 not found/);
      const json = await runCli([command, 'run_000000000000', '--json'], { env, cwd });
      assert.equal(JSON.parse(json.stdout).error, 'run_not_found');
      const missing = await runCli([command], { env, cwd });
      assert.equal(missing.code, ExitCode.usage);
    });
  }
});

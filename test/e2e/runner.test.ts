// The warm runner end to end: the real `bin/crabbox`, a `local` lease, real ssh. `run --id` starts a runner for the
// checkout; the next `run --id` there is served by it with the same output, exit code and --json as in-process.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { runBin, runCli } from '../../src/testing/cli.ts';
import { startCliProcess } from '../../src/testing/cli-process.ts';
import { runSandbox } from '../../src/testing/run-sandbox.ts';
import { initRepo } from '../../src/testing/git.ts';
import { until } from '../../src/testing/until.ts';
import { commandLine, listProcesses } from '../../src/providers/local/procs.ts';
import { runnerSocketPath } from '../../src/runner/socket-path.ts';

const sandbox = runSandbox({ prefix: 'crabbox-e2e-runner-' });
const env: NodeJS.ProcessEnv = { ...sandbox.env };
delete env.CRABBOX_RUNNER;
const repo = join(sandbox.path, 'repo');
let slug = '';

/** The runners serving this test's checkout (by their command line and working directory). */
function runners(): number[] {
  return listProcesses()
    .filter((p) => commandLine(p.pid)?.includes('__runner'))
    .filter((p) => {
      try {
        return readlinkSync(`/proc/${p.pid}/cwd`) === repo;
      } catch {
        return false;
      }
    })
    .map((p) => p.pid);
}

const socket = (): string => runnerSocketPath(env, repo)!;

async function servedRun(argv: string[]) {
  const r = await runBin(['run', '--debug', '--id', slug, ...argv], { env, cwd: repo });
  assert.match(r.stderr, /^debug: served by the warm runner \(pid \d+\)$/m, r.stderr);
  return r;
}

describe('the warm runner', () => {
  before(async () => {
    initRepo(repo, { 'a.txt': 'a\n' });
    const warm = await runCli(['warmup', '--json'], { env, cwd: repo });
    assert.equal(warm.code, 0, warm.stderr);
    slug = (JSON.parse(warm.stdout) as { slug: string }).slug;
    const first = await runBin(['run', '--debug', '--id', slug, '--', 'true'], { env, cwd: repo });
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stderr, /debug: in-process: no runner yet; starting a warm runner for the next run/);
    await until(() => existsSync(socket()) && runners().length === 1, 'the warm runner to listen', 20_000);
  });
  after(async () => {
    for (const pid of runners()) process.kill(pid, 'SIGKILL');
    await sandbox.remove();
  });

  it('serves the next `run --id` with the same streams, exit code and summary as in-process', async () => {
    const command = ['--', 'sh', '-c', 'echo out; echo err >&2; exit 3'];
    const served = await servedRun(command);
    const direct = await runBin(['run', '--id', slug, ...command], { env: { ...env, CRABBOX_RUNNER: 'off' }, cwd: repo });
    assert.equal(served.code, 3);
    assert.equal(direct.code, 3);
    assert.equal(served.stdout, 'out\n');
    assert.equal(served.stdout, direct.stdout);
    const lines = (s: string) => s.split('\n').filter((l) => !l.startsWith('debug:')).map((l) => l.replace(/\d+\.\d\ds/g, 'T').replace(/run_[0-9a-f]{12}/, 'RUN'));
    assert.deepEqual(lines(served.stderr), lines(direct.stderr));
  });

  it('gives the same --json result, and its timings count from the client process\'s start', async () => {
    const before = performance.now();
    const served = await servedRun(['--json', '--', 'true']);
    const wallMs = performance.now() - before;
    const direct = await runBin(['run', '--json', '--id', slug, '--', 'true'], { env: { ...env, CRABBOX_RUNNER: 'off' }, cwd: repo });
    const a = JSON.parse(served.stdout) as Record<string, any>;
    const b = JSON.parse(direct.stdout) as Record<string, any>;
    assert.equal(a.schema, b.schema);
    assert.deepEqual(Object.keys(a).sort(), Object.keys(b).sort());
    assert.deepEqual([a.exitCode, a.lease.slug, a.sync.state], [0, slug, 'skipped']);
    assert.ok(a.timings.total >= a.timings.command, JSON.stringify(a.timings));
    // From the client's start, not the runner's (minutes ago) nor the request's arrival (after Node's own start).
    assert.ok(a.timings.total <= wallMs + 5 && a.timings.total >= wallMs - 30, `total ${a.timings.total} ms against ${wallMs.toFixed(1)} ms measured outside`);
  });

  it('runs the command with the client\'s environment, not the runner\'s', async () => {
    const r = await runBin(['run', '--debug', '--id', slug, '--env', 'FROM_CLIENT', '--', 'sh', '-c', 'echo "$FROM_CLIENT"'], { env: { ...env, FROM_CLIENT: 'this call' }, cwd: repo });
    assert.match(r.stderr, /served by the warm runner/);
    assert.equal(r.stdout, 'this call\n');
  });

  it('stops the remote command on SIGTERM to the client and exits 143, as in-process', async () => {
    const p = startCliProcess(['run', '--debug', '--id', slug, '--', 'sh', '-c', 'echo started >&2; sleep 60'], { env, cwd: repo });
    await p.waitForStderr(/^started$/m);
    await p.waitForStderr(/served by the warm runner/, 1);
    process.kill(p.pid, 'SIGTERM');
    const r = await p.done;
    assert.equal(r.code, 143, r.stderr);
    assert.match(r.stderr, /crabbox: terminated; stopping the remote command/);
    await until(() => !listProcesses().some((x) => commandLine(x.pid)?.join(' ') === 'sleep 60'), 'the remote sleep to end', 20_000);
  });

  it('a runner killed mid-run: the client says so and exits 70; the next run starts a new runner', async () => {
    const p = startCliProcess(['run', '--debug', '--id', slug, '--', 'sh', '-c', 'echo started >&2; sleep 60'], { env, cwd: repo });
    const [, pid] = (await p.waitForStderr(/served by the warm runner \(pid (\d+)\)/)) as RegExpMatchArray;
    await p.waitForStderr(/^started$/m);
    process.kill(Number(pid), 'SIGKILL');
    const r = await p.done;
    assert.equal(r.code, 70, r.stderr);
    assert.match(r.stderr, /crabbox: the warm runner stopped before the command finished/);
    const next = await runBin(['run', '--debug', '--id', slug, '--', 'true'], { env, cwd: repo });
    assert.equal(next.code, 0, next.stderr);
    assert.match(next.stderr, /debug: in-process: no runner answers; starting a warm runner/);
    await until(() => runners().length === 1, 'a new runner', 20_000);
    await until(async () => /served by the warm runner/.test((await runBin(['run', '--debug', '--id', slug, '--', 'true'], { env, cwd: repo })).stderr), 'the new runner to serve', 20_000);
  });

  it('leaves on SIGTERM and removes its socket', async () => {
    const [pid] = runners();
    assert.ok(pid);
    process.kill(pid, 'SIGTERM');
    await until(() => runners().length === 0, 'the runner to exit', 20_000);
    assert.equal(existsSync(socket()), false);
  });
});

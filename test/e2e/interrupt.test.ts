// Ctrl-C and SIGTERM on a real `crabbox run` process: the remote process group stops and the fresh lease is released.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { BIN, runCli } from '../../src/testing/cli.ts';
import { initRepo } from '../../src/testing/git.ts';
import { runSandbox } from '../../src/testing/run-sandbox.ts';
import { until } from '../../src/testing/until.ts';

const sandbox = runSandbox({ prefix: 'crabbox-e2e-int-' });
const { env } = sandbox;
const repo = join(sandbox.path, 'repo');
initRepo(repo, { 'a.txt': 'a\n' });

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function activeLeases(): Promise<number> {
  const r = await runCli(['list', '--json'], { env, cwd: repo });
  return (JSON.parse(r.stdout) as { leases: { state: string }[] }).leases.filter((l) => l.state === 'active').length;
}

describe('interrupting crabbox run', () => {
  after(() => sandbox.remove());

  for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
    it(`${signal} kills the remote process group, releases the fresh lease and exits ${code}`, async () => {
      // The lease user may write /tmp; the test's own directory is private.
      const pidFile = `/tmp/crabbox-int-${process.pid}-${signal}`;
      rmSync(pidFile, { force: true });
      const child = spawn(process.execPath, [BIN, 'run', '--', 'bash', '-c', `sleep 300 & echo $! > ${pidFile}; wait`], { env, cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
      const exited = new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
      await until(() => existsSync(pidFile) && readFileSync(pidFile, 'utf8').trim() !== '', 'the remote command to start');
      const remotePid = Number(readFileSync(pidFile, 'utf8'));
      assert.ok(alive(remotePid));
      assert.equal(await activeLeases(), 1);
      child.kill(signal);
      assert.equal(await exited, code, stderr);
      rmSync(pidFile, { force: true });
      await until(() => !alive(remotePid), 'the remote sleep to die', 10_000);
      assert.equal(await activeLeases(), 0, 'the fresh lease was released');
      assert.match(stderr, new RegExp(`interrupted=${signal}`));
    });
  }

  it('Ctrl-C on a command that ignores SIGINT and SIGTERM: SIGTERM after 10 s, SIGKILL 5 s later, then exit 130 and release', async () => {
    const pidFile = `/tmp/crabbox-int3-${process.pid}`;
    rmSync(pidFile, { force: true });
    const child = spawn(process.execPath, [BIN, 'run', '--no-sync', '--', 'bash', '-c', `trap '' INT TERM; echo $$ > ${pidFile}; while :; do sleep 0.1; done`], { env, cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    await until(() => existsSync(pidFile) && readFileSync(pidFile, 'utf8').trim() !== '', 'the remote command to start');
    const remotePid = Number(readFileSync(pidFile, 'utf8'));
    const interruptedAt = Date.now();
    child.kill('SIGINT');
    await until(() => stderr.includes('sending SIGTERM'), 'the SIGTERM step', 20_000);
    assert.ok(alive(remotePid), 'the command ignored SIGTERM too');
    assert.equal(await exited, 130, stderr);
    const took = Date.now() - interruptedAt;
    assert.ok(took >= 14_000 && took < 40_000, `ended ${took} ms after Ctrl-C`);
    assert.match(stderr, /still running 10s after SIGINT; sending SIGTERM to its process group/);
    assert.match(stderr, /still running 5s after SIGTERM; sending SIGKILL to its process group/);
    rmSync(pidFile, { force: true });
    await until(() => !alive(remotePid), 'the remote command to be killed', 5_000);
    assert.equal(await activeLeases(), 0, 'the fresh lease was released');
  });

  it('a second Ctrl-C exits at once; the box still stops the command when the connection ends', async () => {
    const pidFile = `/tmp/crabbox-int2-${process.pid}`;
    rmSync(pidFile, { force: true });
    // The command ignores SIGINT, so the first Ctrl-C cannot end it.
    const child = spawn(process.execPath, [BIN, 'run', '--', 'bash', '-c', `trap '' INT; echo $$ > ${pidFile}; while :; do sleep 0.1; done`], { env, cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    await until(() => existsSync(pidFile) && readFileSync(pidFile, 'utf8').trim() !== '', 'the remote command to start');
    const remotePid = Number(readFileSync(pidFile, 'utf8'));
    child.kill('SIGINT');
    await until(() => stderr.includes('again to exit now'), 'the first interrupt to be acknowledged');
    assert.ok(alive(remotePid), 'the command ignored the first interrupt');
    child.kill('SIGINT');
    assert.equal(await exited, 130, stderr);
    const slug = /lease (\S+) \(cbx_[0-9a-f]{12}\) is left running: `crabbox stop (\S+)` stops it/.exec(stderr);
    assert.ok(slug && slug[1] === slug[2], `the second Ctrl-C names the lease it leaves and how to stop it: ${stderr}`);
    assert.match(stderr, /interrupted again; exiting now/);
    rmSync(pidFile, { force: true });
    await until(() => !alive(remotePid), 'the box to stop the orphaned command', 15_000);
    assert.equal(await activeLeases(), 1, 'the lease is left for cleanup to find');
  });
});

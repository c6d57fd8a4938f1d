// kill -9 of a real `crabbox run` (direct mode, local provider) while it syncs, while the command runs and while it
// releases. Whatever the moment, the box stops what the dead CLI started, and once the lease is past its deadline
// the next command's sweep names it and leaves no machine, key, user, process or directory. (Killed while leasing:
// test/e2e/crash.test.ts.)
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync, watch } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { commandLine, listProcesses } from '../../src/providers/local/procs.ts';
import { BIN, runBin, runCli } from '../../src/testing/cli.ts';
import { initRepo } from '../../src/testing/git.ts';
import { leaseLeftovers, machineDirs } from '../../src/testing/leftovers.ts';
import { runSandbox } from '../../src/testing/run-sandbox.ts';
import { until } from '../../src/testing/until.ts';

const sandbox = runSandbox({ prefix: 'crabbox-faults-cli-' });
const { env, boxes } = sandbox;
const stateDir = join(sandbox.path, 'state', 'crabbox');
const repo = join(sandbox.path, 'repo');
// Enough to keep rsync busy for a moment: 1500 files.
initRepo(repo, Object.fromEntries(Array.from({ length: 1500 }, (_, i) => [`files/f${i}.txt`, `${'x'.repeat(2000)}${i}\n`])));

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The local machine's lease state as its labels say, or undefined. */
function labelState(leaseId: string): string | undefined {
  try {
    return (JSON.parse(readFileSync(join(stateDir, 'local', leaseId, 'machine.json'), 'utf8')) as { labels: Record<string, string> }).labels['crabbox-state'];
  } catch {
    return undefined;
  }
}

/** Starts `crabbox run -- sh -c <script>` and SIGKILLs it (only it) once `moment` returns true for its new lease. */
async function killedRun(script: string, moment: (leaseId: string) => boolean): Promise<string> {
  const earlier = new Set(machineDirs(stateDir));
  const child = spawn(process.execPath, [BIN, 'run', '--', 'sh', '-c', script], { env, cwd: repo, stdio: 'ignore' });
  const exited = new Promise((resolve) => child.on('exit', resolve));
  const leaseId = await until(() => machineDirs(stateDir).find((id) => !earlier.has(id) && moment(id)), 'the moment to kill', 60_000, 5);
  child.kill('SIGKILL');
  await exited;
  return leaseId;
}

/** Past the deadline, the next command's sweep says what it removed, and nothing of the lease is left. */
async function sweptClean(leaseId: string, offset = '3h'): Promise<void> {
  const next = await runBin(['list', '--json'], { env: { ...env, CRABBOX_CLOCK_OFFSET: offset }, cwd: repo });
  assert.equal(next.code, 0, next.stderr);
  assert.match(next.stderr, new RegExp(`^crabbox: removed 1 expired or abandoned lease: ${leaseId} \\([\\w-]+\\)$`, 'm'), 'the user is told which lease was removed');
  assert.deepEqual((JSON.parse(next.stdout) as { leases: unknown[] }).leases, []);
  assert.deepEqual(leaseLeftovers({ stateDir, leaseId, boxesRoot: boxes }), []);
}

describe('a crabbox run killed -9 mid-flight (direct mode, local provider)', () => {
  after(() => sandbox.remove());

  it('killed while syncing: the command never runs, and the next command\'s sweep removes everything once the lease expired', async () => {
    const ran = `/tmp/crabbox-faults-sync-${process.pid}`;
    rmSync(ran, { force: true });
    const leaseId = await killedRun(`touch ${ran}`, () => listProcesses().some((p) => commandLine(p.pid)?.[0]?.endsWith('rsync') && commandLine(p.pid)!.join(' ').includes(repo)));
    assert.notDeepEqual(leaseLeftovers({ stateDir, leaseId, boxesRoot: boxes }), [], 'the killed CLI left its box behind');
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(existsSync(ran), false, 'the command never ran');
    await sweptClean(leaseId);
  });

  it('killed while the command runs: the box stops the command, and the next command\'s sweep removes everything once the lease expired', async () => {
    const pidFile = `/tmp/crabbox-faults-run-${process.pid}`;
    rmSync(pidFile, { force: true });
    const leaseId = await killedRun(`echo $$ > ${pidFile}; while :; do sleep 0.1; done`, () => existsSync(pidFile) && readFileSync(pidFile, 'utf8').trim() !== '');
    const remote = Number(readFileSync(pidFile, 'utf8'));
    rmSync(pidFile, { force: true });
    await until(() => !alive(remote), 'the box to stop the orphaned command', 15_000);
    assert.notDeepEqual(leaseLeftovers({ stateDir, leaseId, boxesRoot: boxes }), [], 'the lease outlived the CLI');
    await sweptClean(leaseId);
  });

  it('killed while releasing: the lease already says released, and the next command removes the rest at once', async () => {
    const warm = await runCli(['warmup', '--json'], { env, cwd: repo });
    assert.equal(warm.code, 0, warm.stderr);
    const leaseId = (JSON.parse(warm.stdout) as { id: string }).id;
    // The release first labels the lease released (so a crash after it leaves something cleanup may delete), then
    // deletes: the machine dir's watcher sees that label change and the CLI dies right after it.
    const stop = spawn(process.execPath, [BIN, 'stop', leaseId], { env, cwd: repo, stdio: 'ignore' });
    const exited = new Promise((resolve) => stop.on('exit', resolve));
    const machineDir = join(stateDir, 'local', leaseId);
    await new Promise<void>((resolve) => {
      const watcher = watch(machineDir, () => {
        if (labelState(leaseId) !== 'released') return;
        stop.kill('SIGKILL');
        watcher.close();
        resolve();
      });
    });
    await exited;
    assert.notDeepEqual(leaseLeftovers({ stateDir, leaseId, boxesRoot: boxes }), [], 'the release was cut short');
    // A released lease is terminal: no deadline to wait for (an offset of one minute only lets the sweep run again).
    await sweptClean(leaseId, '2m');
  });
});

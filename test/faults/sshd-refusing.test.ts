// The box's sshd refuses: its process is gone (connection refused), or it no longer accepts the lease key. Every
// command that needs the box fails at once with one line and exit 74 (never a hang, never a retry loop on a key
// refusal), and `crabbox stop` still removes everything.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { machineLayout } from '../../src/providers/local/layout.ts';
import { closeMaster, leaseKeyDir, leaseTarget } from '../../src/ssh/index.ts';
import { ExitCode } from '../../src/domain/exit-codes.ts';
import { runBin } from '../../src/testing/cli.ts';
import { initRepo } from '../../src/testing/git.ts';
import { leaseLeftovers } from '../../src/testing/leftovers.ts';
import { runSandbox } from '../../src/testing/run-sandbox.ts';
import { generateKeyPair } from '../../src/providers/hetzner/fake/keys.ts';

const sandbox = runSandbox({ prefix: 'crabbox-faults-sshd-' });
const { env, boxes } = sandbox;
const stateDir = join(sandbox.path, 'state', 'crabbox');
const repo = join(sandbox.path, 'repo');
initRepo(repo, { 'a.txt': 'a\n' });

interface Warm {
  id: string;
  machine: { host: string; ports: number[]; sshUser: string };
}

async function warm(): Promise<Warm> {
  const r = await runBin(['warmup', '--json'], { env, cwd: repo });
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as Warm;
}

const closeWarmConnection = (lease: Warm): Promise<void> =>
  closeMaster(leaseTarget({ keyDir: leaseKeyDir(stateDir, lease.id), leaseId: lease.id, host: lease.machine.host, ports: lease.machine.ports, user: lease.machine.sshUser, connectTimeoutSeconds: 5 }));

/** Each command that needs the box: one stderr line, exit 74, well inside the connect timeout's bounds. */
async function refusedEverywhere(id: string, why: RegExp): Promise<void> {
  for (const argv of [['ssh', id, '--', 'true'], ['run', '--id', id, '--', 'true'], ['run', '--id', id, '--no-sync', '--', 'true']]) {
    const started = Date.now();
    const r = await runBin(argv, { env, cwd: repo, timeoutMs: 60_000 });
    assert.equal(r.code, ExitCode.sshFailed, `${argv.join(' ')}: ${r.stderr}`);
    const lines = r.stderr.trim().split('\n').filter((l) => !l.startsWith('crabbox: sync=') && !l.includes(' exit=74 '));
    assert.equal(lines.length, 1, `${argv.join(' ')}: ${r.stderr}`);
    assert.match(lines[0]!, why);
    assert.ok(Date.now() - started < 45_000, `${argv.join(' ')} gave up in time`);
  }
}

describe('the box\'s sshd refuses', () => {
  after(() => sandbox.remove());

  it('connection refused (sshd gone): ssh and run fail at once with one line and exit 74; stop still removes everything', async () => {
    const lease = await warm();
    const layout = machineLayout({ stateDir, boxesRoot: boxes, leaseId: lease.id });
    // The listening sshd dies; the warm connection (ControlMaster, served by its own sshd child) is closed too.
    process.kill(Number(readFileSync(layout.pidFile, 'utf8').trim()), 'SIGKILL');
    await closeWarmConnection(lease);
    await refusedEverywhere(lease.id, /Connection refused/);
    const stop = await runBin(['stop', lease.id], { env, cwd: repo });
    assert.equal(stop.code, 0, stop.stderr);
    assert.deepEqual(leaseLeftovers({ stateDir, leaseId: lease.id, boxesRoot: boxes }), []);
  });

  it('the lease key refused: ssh and run fail at once with one line naming the key and exit 74; stop still removes everything', async () => {
    const lease = await warm();
    const layout = machineLayout({ stateDir, boxesRoot: boxes, leaseId: lease.id });
    // The box accepts another key from now on; the warm connection (ControlMaster) is closed so the refusal shows.
    writeFileSync(layout.authorizedKeys, `${generateKeyPair('someone-else').publicKey}\n`);
    await closeWarmConnection(lease);
    await refusedEverywhere(lease.id, /the box refused the lease key/);
    const stop = await runBin(['stop', lease.id], { env, cwd: repo });
    assert.equal(stop.code, 0, stop.stderr);
    assert.deepEqual(leaseLeftovers({ stateDir, leaseId: lease.id, boxesRoot: boxes }), []);
  });
});

import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { runBin, BIN } from '../../src/testing/cli.ts';
import { isolatedEnv } from '../../src/testing/tmp.ts';
import { leaseLeftovers, machineDirs } from '../../src/testing/leftovers.ts';

describe('a CLI killed while it holds a fresh lease', () => {
  const root = mkdtempSync('/tmp/crabbox-crash-');
  const env = isolatedEnv(root);
  const stateDir = join(root, 'state', 'crabbox');
  after(() => rmSync(root, { recursive: true, force: true }));

  /** Starts `warmup` and SIGKILLs it the moment its box's sshd is running, before it can finish. */
  async function killedWarmup(): Promise<string> {
    const child = spawn(process.execPath, [BIN, 'warmup'], { env, stdio: 'ignore' });
    const exited = new Promise((resolve) => child.on('exit', resolve));
    const deadline = Date.now() + 30_000;
    for (;;) {
      const [id] = machineDirs(stateDir);
      const file = id && join(stateDir, 'local', id, 'machine.json');
      if (file && existsSync(file) && readFileSync(file, 'utf8').includes('"running"')) {
        child.kill('SIGKILL');
        await exited;
        return id;
      }
      assert.ok(Date.now() < deadline, 'warmup never started a box');
      await sleep(5);
    }
  }

  it('is swept by the next command once the lease has expired', async () => {
    const id = await killedWarmup();
    assert.notDeepEqual(leaseLeftovers({ stateDir, leaseId: id }), [], 'the killed CLI left a box behind');
    // Not yet expired: the sweep keeps it.
    const early = await runBin(['list', '--json'], { env });
    assert.equal(early.code, 0, early.stderr);
    assert.deepEqual(machineDirs(stateDir), [id]);
    // Past TTL (90m) and the stale window: the next command's sweep removes everything.
    const late = await runBin(['list', '--json'], { env: { ...env, CRABBOX_CLOCK_OFFSET: '3h' } });
    assert.equal(late.code, 0, late.stderr);
    assert.deepEqual(JSON.parse(late.stdout).leases, []);
    assert.deepEqual(leaseLeftovers({ stateDir, leaseId: id }), []);
  });

  it('is removed by cleanup (dry run first changes nothing)', async () => {
    const id = await killedWarmup();
    const dry = await runBin(['cleanup', '--dry-run', '--json'], { env: { ...env, CRABBOX_CLOCK_OFFSET: '3h' } });
    assert.equal(dry.code, 0, dry.stderr);
    assert.deepEqual(JSON.parse(dry.stdout).deleted.map((d: { id: string }) => d.id), [id]);
    assert.deepEqual(machineDirs(stateDir), [id]);
    const real = await runBin(['cleanup', '--json'], { env: { ...env, CRABBOX_CLOCK_OFFSET: '3h' } });
    assert.equal(real.code, 0, real.stderr);
    assert.equal(JSON.parse(real.stdout).dryRun, false);
    assert.deepEqual(leaseLeftovers({ stateDir, leaseId: id }), []);
  });
});

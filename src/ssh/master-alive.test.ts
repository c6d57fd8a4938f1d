// The ControlMaster check on every warm run is a connect to the control socket, in process (it used to spawn
// `ssh -O check`). It must agree with ssh's own check: up while a master listens, down with no socket, after the
// master was told to exit, and when the master died and left its socket file behind.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createLocalProvider } from '../providers/local/local-provider.ts';
import { newLeaseId } from '../domain/ids.ts';
import { tempDir } from '../testing/tmp.ts';
import { testBoxesRoot } from '../testing/boxes-root.ts';
import { openLocalLease } from '../testing/local-lease.ts';
import { closeMaster, masterAlive } from './exec.ts';
import { sshOptions } from './target.ts';

describe('masterAlive: the in-process ControlMaster check', () => {
  const state = tempDir('crabbox-master-alive-');
  const boxes = testBoxesRoot();
  const provider = createLocalProvider({ stateDir: state.path, boxesRoot: boxes.path });
  after(() => {
    state.remove();
    boxes.remove();
  });

  it('agrees with `ssh -O check`: up with a master, down without one, after -O exit, and over a dead master\'s socket', async (t) => {
    const lease = await openLocalLease(provider, { stateDir: state.path, boxesRoot: boxes.path, leaseId: newLeaseId() });
    t.after(async () => {
      await lease.close();
      await provider.delete(lease.leaseId);
    });
    const target = lease.target;
    const sshCheck = (): boolean => spawnSync('ssh', [...sshOptions(target, target.ports[0]!), '-O', 'check', '--', target.host], { stdio: 'ignore' }).status === 0;

    // openLocalLease waited for ssh, which started the master.
    assert.equal(await masterAlive(target), true);
    assert.equal(sshCheck(), true);

    await closeMaster(target);
    assert.equal(await masterAlive(target), false, 'after -O exit');
    assert.equal(sshCheck(), false);

    // A master killed outright leaves its socket file; connecting to it is refused.
    assert.equal((await lease.sh('true')).code, 0, 'a command brings the master back');
    assert.equal(await masterAlive(target), true);
    const pid = /pid=(\d+)/.exec(spawnSync('ssh', [...sshOptions(target, target.ports[0]!), '-O', 'check', '--', target.host], { encoding: 'utf8' }).stderr)?.[1];
    assert.ok(pid, 'ssh -O check names the master');
    process.kill(Number(pid), 'SIGKILL');
    for (let i = 0; i < 200 && spawnSync('kill', ['-0', pid!]).status === 0; i++) await new Promise((r) => setImmediate(r));
    assert.ok(existsSync(target.controlPath), 'the dead master left its socket file');
    assert.equal(await masterAlive(target), false, 'a stale socket is not a master');
    assert.equal(sshCheck(), false);
    assert.equal((await lease.sh('true')).code, 0, 'and the next command still connects');
  });
});

import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, statSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import { join } from 'node:path';
import { userInfo } from 'node:os';
import { runProviderContract, baseSpec, answersSsh } from '../provider.contract.ts';
import { createLocalProvider } from './local-provider.ts';
import { leaseUserName, machineLayout } from './layout.ts';
import { lookupUser } from './users.ts';
import { commandLine, listProcesses } from './procs.ts';
import { newLeaseId } from '../../domain/ids.ts';
import { ManualClock } from '../../domain/clock.ts';
import { tempDir } from '../../testing/tmp.ts';
import { testBoxesRoot } from '../../testing/boxes-root.ts';
import { createClientKey, createHostKey, leaseKeyDir, leaseTarget, sshExec, writeKnownHosts, closeMaster, waitReady, connect } from '../../ssh/index.ts';
import { freePort } from './sshd.ts';
import { isCrabboxError } from '../../domain/errors.ts';

const isCrabboxErrorCode = (error: unknown, code: string): boolean => isCrabboxError(error) && error.code === code;

const boxesRootForTest = (): { path: string; remove(): void } => testBoxesRoot();

async function specFor(stateDir: string, leaseId: string) {
  const dir = leaseKeyDir(stateDir, leaseId);
  const sshPublicKey = await createClientKey(dir, leaseId);
  const hostKey = await createHostKey(leaseId);
  return baseSpec(leaseId, { sshPublicKey, hostKey });
}

runProviderContract('local', async () => {
  const state = tempDir();
  const boxes = boxesRootForTest();
  const provider = createLocalProvider({ stateDir: state.path, boxesRoot: boxes.path });
  return {
    provider,
    spec: (leaseId) => specFor(state.path, leaseId),
    reachable: answersSsh,
    teardown: async () => {
      state.remove();
      boxes.remove();
    },
  };
});

describe('local provider over real sshd and ssh', () => {
  const state = tempDir();
  const boxes = boxesRootForTest();
  const provider = createLocalProvider({ stateDir: state.path, boxesRoot: boxes.path });
  after(() => {
    state.remove();
    boxes.remove();
  });

  it('runs a command with the pinned host key, refuses a changed one, and leaves nothing behind', async () => {
    const leaseId = newLeaseId();
    const spec = await specFor(state.path, leaseId);
    const machine = await provider.create(spec);
    const keyDir = leaseKeyDir(state.path, leaseId);
    await writeKnownHosts(join(keyDir, 'known_hosts'), machine.host, machine.ports, machine.hostKey);
    const target = leaseTarget({ keyDir, leaseId, host: machine.host, ports: machine.ports, user: machine.sshUser, connectTimeoutSeconds: 5 });
    const layout = machineLayout({ stateDir: state.path, boxesRoot: boxes.path, leaseId });
    try {
      await waitReady(target, Date.now() + 20_000);
      const out = new PassThrough();
      let text = '';
      out.on('data', (b: Buffer) => (text += b.toString()));
      const result = await sshExec(target, ['sh', '-c', 'id -un; pwd; echo "$1"; exit 7', 'sh', '$(touch /tmp/never)'], { stdout: out, stderr: new PassThrough() });
      assert.equal(result.exitCode, 7, 'remote exit code passes through');
      const [user, , arg] = text.trim().split('\n');
      assert.equal(user, machine.sshUser);
      assert.equal(arg, '$(touch /tmp/never)');
      // As root (CI) each lease has its own Unix user owning the work root; unprivileged, the invoking user is used.
      const expectedUser = process.getuid?.() === 0 ? leaseUserName(leaseId) : userInfo().username;
      assert.equal(machine.sshUser, expectedUser);
      assert.equal(statSync(machine.workRoot).uid, lookupUser(expectedUser)?.uid);

      // Another key in known_hosts: the pinned key no longer matches, which must fail at once.
      await closeMaster(target);
      const other = await createHostKey(leaseId);
      await writeKnownHosts(target.knownHostsFile, machine.host, machine.ports, other.publicKey);
      await assert.rejects(sshExec(target, ['true'], { stdout: new PassThrough(), stderr: new PassThrough() }), (error: unknown) => {
        assert.ok(isCrabboxErrorCode(error, 'host_key_mismatch'), String(error));
        assert.doesNotMatch((error as Error).message, /\n/);
        return true;
      });
      // A deadline that has already passed allows one round of probes: a mismatch treated as "still booting" would
      // end in `timeout`, so getting host_key_mismatch back proves it is never retried.
      await assert.rejects(waitReady(target, 0, { clock: new ManualClock(0) }), (error: unknown) => isCrabboxErrorCode(error, 'host_key_mismatch'));
    } finally {
      await closeMaster(target);
      assert.equal(await provider.delete(machine.providerId), 'deleted');
    }
    assert.equal(await provider.delete(machine.providerId), 'already-gone');
    assert.ok(!existsSync(layout.machineDir), 'machine dir removed');
    assert.ok(!existsSync(layout.boxDir), 'box dir removed');
    assert.equal(lookupUser(leaseUserName(leaseId)), undefined, 'no lease user left');
    const sshds = listProcesses().filter((p) => commandLine(p.pid)?.join(' ').includes(layout.sshdConfig));
    assert.deepEqual(sshds, [], 'no sshd of ours left');
    assert.ok(!existsSync('/tmp/never'));
  });

  it('tries the primary port, then fallbacks in order; a box that never answers is ssh_failed', async () => {
    const leaseId = newLeaseId();
    const machine = await provider.create(await specFor(state.path, leaseId));
    const keyDir = leaseKeyDir(state.path, leaseId);
    const closed = await freePort();
    await writeKnownHosts(join(keyDir, 'known_hosts'), machine.host, [closed, ...machine.ports], machine.hostKey);
    const target = leaseTarget({ keyDir, leaseId, host: machine.host, ports: [closed, ...machine.ports], user: machine.sshUser, connectTimeoutSeconds: 5 });
    try {
      assert.equal(await connect(target), machine.ports[0], 'the fallback port answered');
      // Aborted once the command is known to run (it printed), so the abort interrupts a running command.
      const out = new PassThrough();
      let text = '';
      const aborted = new AbortController();
      out.on('data', (b: Buffer) => {
        text += b.toString();
        if (text.includes('started\n')) aborted.abort();
      });
      const pending = sshExec(target, ['sh', '-c', 'echo started; sleep 30; echo finished'], { stdout: out, stderr: new PassThrough(), signal: aborted.signal });
      await assert.rejects(pending, (error: unknown) => isCrabboxErrorCode(error, 'interrupted'));
      assert.equal(text, 'started\n', 'the command ran and was cut off before it finished');
      const dead = { ...target, ports: [closed], controlPath: join(state.path, 'no-master') };
      await assert.rejects(sshExec(dead, ['true']), (error: unknown) => isCrabboxErrorCode(error, 'ssh_failed') && /Connection refused/.test((error as Error).message));
      const clock = new ManualClock(0);
      const stopClock = clock.autoAdvance(); // the retries between probes wait on the injected clock only
      try {
        await assert.rejects(waitReady(dead, 30_000, { clock }), (error: unknown) => isCrabboxErrorCode(error, 'timeout'));
      } finally {
        stopClock();
      }
    } finally {
      await closeMaster(target);
      await provider.delete(machine.providerId);
    }
  });
});

// Finding 2 of the security audit (docs/security.md): the ControlMaster directory cannot be squatted.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { newLeaseId } from '../domain/ids.ts';
import { createLocalProvider } from '../providers/local/local-provider.ts';
import { tempDir } from '../testing/tmp.ts';
import { testBoxesRoot } from '../testing/boxes-root.ts';
import { createLocalAccount, type LocalAccount } from '../testing/local-account.ts';
import { openLocalLease } from '../testing/local-lease.ts';
import { controlPathFor, isPrivateDir, MAX_CONTROL_PATH } from './control-dir.ts';

/** Runs `fn` with some environment variables replaced (os.tmpdir() reads TMPDIR on every call). */
async function withEnv<T>(vars: Record<string, string | undefined>, fn: () => Promise<T> | T): Promise<T> {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  const apply = (values: Record<string, string | undefined>): void => {
    for (const [k, v] of Object.entries(values)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
  apply(vars);
  try {
    return await fn();
  } finally {
    apply(saved);
  }
}

describe('the ControlMaster socket lives only where nobody else can write', () => {
  const base = tempDir('crabbox-cm-');
  const longKeyDir = (): string => join(base.path, 'state-dir-long-enough-to-push-the-socket-path-over-the-limit', 'leases', newLeaseId());
  after(() => base.remove());

  it('uses the private key dir when the path is short enough', () => {
    const keyDir = join(base.path, 'k');
    assert.equal(controlPathFor(keyDir, 'cbx_0123456789ab', {}), join(keyDir, 'cm'));
  });

  it('falls back to the caller\'s private XDG runtime dir, and never to one others can reach', () => {
    const runtime = mkdtempSync(join(tmpdir(), 'xdg-'));
    chmodSync(runtime, 0o700);
    const keyDir = longKeyDir();
    const path = controlPathFor(keyDir, 'cbx_0123456789ab', { XDG_RUNTIME_DIR: runtime });
    assert.equal(path, join(runtime, 'crabbox', '0123456789ab'));
    assert.ok(isPrivateDir(dirname(path)));
    chmodSync(runtime, 0o755);
    const other = controlPathFor(keyDir, 'cbx_0123456789ab', { XDG_RUNTIME_DIR: runtime });
    assert.ok(!other.startsWith(runtime), 'a runtime dir open to others is not used');
    rmSync(runtime, { recursive: true, force: true });
  });

  it('otherwise a mkdtemp dir, remembered and checked again on every use; short enough for ssh', () => {
    const keyDir = longKeyDir();
    mkdirSync(dirname(keyDir), { recursive: true, mode: 0o700 });
    const first = controlPathFor(keyDir, 'cbx_0123456789ab', {});
    assert.ok(Buffer.byteLength(first) <= MAX_CONTROL_PATH, first);
    assert.ok(isPrivateDir(dirname(first)));
    assert.equal(controlPathFor(keyDir, 'cbx_0123456789ab', {}), first, 'later commands find the same socket');
    chmodSync(dirname(first), 0o777);
    const second = controlPathFor(keyDir, 'cbx_0123456789ab', {});
    assert.notEqual(dirname(second), dirname(first), 'a remembered dir that became open to others is replaced');
    for (const p of [first, second]) rmSync(dirname(p), { recursive: true, force: true });
  });
});

describe('finding 2: an account that squats the fallback control dir gets nothing', { concurrency: false }, () => {
  let attacker: LocalAccount;
  // /tmp as a CI machine has it: world-writable and sticky.
  const shared = mkdtempSync('/tmp/crabbox-cm-shared-');
  chmodSync(shared, 0o1777);
  // A state dir long enough that the per-lease socket path does not fit (common in CI workspaces).
  const state = mkdtempSync(join(tmpdir(), 'crabbox-control-master-attack-with-a-long-state-dir-'));
  const boxes = testBoxesRoot();
  const provider = createLocalProvider({ stateDir: state, boxesRoot: boxes.path });
  before(async () => {
    attacker = await createLocalAccount();
  });
  after(async () => {
    await attacker.remove();
    rmSync(shared, { recursive: true, force: true });
    rmSync(state, { recursive: true, force: true });
    boxes.remove();
  });

  it('a pre-created $TMPDIR/cbx-<uid> with a fake mux master is neither used nor contacted', async () => {
    const leaseId = newLeaseId();
    const uid = process.getuid?.() ?? 0;
    const squat = join(shared, `cbx-${uid}`);
    const socket = join(squat, leaseId.slice(4));
    const log = join(attacker.home, 'mux.log');
    // The attacker makes the directory crabbox used to fall back to, and listens where the lease's socket would be.
    assert.equal(attacker.run(['mkdir', '-m', '0777', squat]).status, 0);
    const server = attacker.start([process.execPath, '-e', `
      const fs = require('node:fs');
      require('node:net').createServer((s) => { fs.appendFileSync(${JSON.stringify(log)}, 'session handed to the attacker\\n'); s.on('data', (d) => fs.appendFileSync(${JSON.stringify(log)}, d)); }).listen(${JSON.stringify(socket)}, () => fs.writeFileSync(${JSON.stringify(log)}, ''));
    `]);
    try {
      for (let i = 0; i < 200 && !existsSync(log); i++) await sleep(25);
      assert.ok(lstatSync(socket).isSocket(), 'the fake master listens');
      await withEnv({ TMPDIR: shared, XDG_RUNTIME_DIR: undefined }, async () => {
        try {
          const lease = await openLocalLease(provider, { stateDir: state, boxesRoot: boxes.path, leaseId }).catch((error: unknown) => error as Error);
          assert.equal(readFileSync(log, 'utf8'), '', 'nothing ever connected to the attacker\'s socket');
          assert.ok(!(lease instanceof Error), String(lease));
          try {
            const r = await lease.sh('echo "$1"', 'from the real box');
            assert.equal(r.stdout, 'from the real box\n');
            assert.equal(readFileSync(log, 'utf8'), '');
            assert.ok(!lease.target.controlPath.startsWith(`${squat}/`), lease.target.controlPath);
            assert.ok(lease.target.controlPath === 'none' || isPrivateDir(dirname(lease.target.controlPath)));
          } finally {
            await lease.close();
          }
        } finally {
          await provider.delete(leaseId);
        }
      });
    } finally {
      server.kill('SIGKILL');
    }
  });
});

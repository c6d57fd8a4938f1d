// Findings 1 and 8 of the security audit (docs/security.md), attacked for real: as root, with a second,
// unprivileged account that the test creates and removes.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { createLocalProvider } from './local-provider.ts';
import { ROOT_BOXES_DIR } from './layout.ts';
import { lookupUser } from './users.ts';
import { newLeaseId } from '../../domain/ids.ts';
import { isCrabboxError } from '../../domain/errors.ts';
import { tempDir } from '../../testing/tmp.ts';
import { testBoxesRoot } from '../../testing/boxes-root.ts';
import { createLocalAccount, type LocalAccount } from '../../testing/local-account.ts';
import { localSpec, openLocalLease } from '../../testing/local-lease.ts';
import { createClientKey, leaseKeyPaths, sshExec } from '../../ssh/index.ts';

const mode = (path: string): number => lstatSync(path).mode & 0o7777;

describe('finding 1: the boxes root cannot be squatted', { concurrency: false }, () => {
  let attacker: LocalAccount;
  const state = tempDir('crabbox-squat-');
  // Stands in for /var/tmp: world-writable and sticky, where the old default root lived.
  const shared = mkdtempSync('/tmp/crabbox-squat-shared-');
  chmodSync(shared, 0o1777);
  // What the attacker wants root to touch: a root-only directory and file.
  const victim = mkdtempSync('/var/lib/crabbox-victim-');
  chmodSync(victim, 0o700);
  writeFileSync(join(victim, 'secret'), 'root only\n', { mode: 0o600 });

  before(async () => {
    attacker = await createLocalAccount();
  });
  after(async () => {
    await attacker.remove();
    state.remove();
    rmSync(shared, { recursive: true, force: true });
    rmSync(victim, { recursive: true, force: true });
  });

  it('as root, the default boxes root is root-owned under /var/lib, not in a world-writable directory', () => {
    assert.equal(ROOT_BOXES_DIR, '/var/lib/crabbox/boxes');
  });

  it('refuses a boxes root another account created first, and root touches nothing the attacker pointed at', async () => {
    const leaseId = newLeaseId();
    const squatted = join(shared, 'crabbox-boxes');
    // The attacker creates the root first and plants the lease's box dir as a symlink to the victim directory.
    assert.equal(attacker.run(['mkdir', '-m', '0777', squatted]).status, 0);
    assert.equal(attacker.run(['ln', '-s', victim, join(squatted, leaseId)]).status, 0);
    const provider = createLocalProvider({ stateDir: state.path, boxesRoot: squatted });
    const outcome = await provider.create(await localSpec(state.path, leaseId)).then(() => undefined, (error: unknown) => error);
    assert.equal(mode(victim), 0o700, 'the victim directory keeps its mode');
    assert.equal(statSync(victim).uid, 0);
    assert.deepEqual(readdirSync(victim), ['secret'], 'nothing was created inside the victim directory');
    assert.equal(mode(join(victim, 'secret')), 0o600);
    assert.equal(readFileSync(join(victim, 'secret'), 'utf8'), 'root only\n');
    assert.ok(isCrabboxError(outcome) && outcome.code === 'invalid_config', `create must refuse the squatted root, got ${String(outcome)}`);
    assert.match(outcome.message, /owned by uid \d+, not root/);
    // The failed create removed what it had made (its state), without following the planted link.
    assert.equal(await provider.delete(leaseId), 'already-gone');
    assert.deepEqual(readdirSync(victim), ['secret']);
    assert.equal(readFileSync(join(victim, 'secret'), 'utf8'), 'root only\n');
  });

  it('refuses a root-owned boxes root that others can write, a symlinked root, and a root below a directory the attacker owns', async () => {
    const open = join(shared, 'open-root');
    mkdirSync(open, { mode: 0o777 });
    chmodSync(open, 0o777);
    const linked = join(shared, 'linked-root');
    const realRoot = testBoxesRoot();
    symlinkSync(realRoot.path, linked);
    const attackerDir = join(shared, 'attacker-dir');
    assert.equal(attacker.run(['mkdir', '-m', '0755', attackerDir]).status, 0);
    const below = join(attackerDir, 'boxes');
    for (const [root, why] of [[open, /writable by group or others/], [linked, /is a symlink/], [below, /parent .* is owned by uid/]] as const) {
      const provider = createLocalProvider({ stateDir: state.path, boxesRoot: root });
      const leaseId = newLeaseId();
      await assert.rejects(provider.create(await localSpec(state.path, leaseId)), (error: unknown) => isCrabboxError(error) && error.code === 'invalid_config' && why.test((error as Error).message), String(root));
      assert.equal(existsSync(join(state.path, 'local', leaseId)), false, 'the refused create removed its machine dir');
    }
    realRoot.remove();
  });

  it('a box it accepts: root-owned 0711 root and box dir, root-owned key, the rest the lease user\'s and 0700', async () => {
    const boxes = testBoxesRoot();
    const provider = createLocalProvider({ stateDir: state.path, boxesRoot: boxes.path });
    const lease = await openLocalLease(provider, { stateDir: state.path, boxesRoot: boxes.path, leaseId: newLeaseId() });
    try {
      const { layout } = lease;
      assert.equal(mode(boxes.path), 0o711);
      assert.equal(mode(layout.boxDir), 0o711);
      assert.equal(statSync(layout.boxDir).uid, 0);
      const user = lookupUser(lease.machine.sshUser)!;
      for (const dir of [layout.home, layout.workRoot, layout.tmpDir]) {
        assert.equal(mode(dir), 0o700, dir);
        assert.equal(statSync(dir).uid, user.uid, `${dir} belongs to the lease user`);
      }
      assert.equal(mode(layout.authorizedKeys), 0o644);
      assert.equal(statSync(layout.authorizedKeys).uid, 0);
    } finally {
      await lease.close();
      await provider.delete(lease.leaseId);
      boxes.remove();
    }
  });
});

describe('finding 8: a lease user cannot change which key sshd accepts', () => {
  const state = tempDir('crabbox-keys-');
  const boxes = testBoxesRoot();
  after(() => {
    state.remove();
    boxes.remove();
  });

  it('renaming ~/.ssh and planting another key in the home changes nothing', async () => {
    const provider = createLocalProvider({ stateDir: state.path, boxesRoot: boxes.path });
    const lease = await openLocalLease(provider, { stateDir: state.path, boxesRoot: boxes.path, leaseId: newLeaseId() });
    try {
      const other = leaseKeyPaths(join(state.path, 'intruder'));
      const intruderKey = await createClientKey(other.dir, lease.leaseId);
      // Everything a lease user can do in its own home to swap the key file sshd reads.
      const planted = await lease.sh([
        'if [ -e "$HOME/.ssh" ]; then mv "$HOME/.ssh" "$HOME/.ssh.old"; fi',
        'mkdir -p "$HOME/.ssh" && chmod 700 "$HOME/.ssh"',
        'printf "%s\\n" "$1" > "$HOME/.ssh/authorized_keys" && chmod 600 "$HOME/.ssh/authorized_keys"',
      ].join('\n'), intruderKey);
      assert.equal(planted.code, 0, planted.stderr);
      await lease.close();
      const intruder = { ...lease.target, identityFile: other.identity, controlPath: join(state.path, 'intruder-cm') };
      await assert.rejects(sshExec(intruder, ['true'], { stdout: new PassThrough(), stderr: new PassThrough() }), (error: unknown) => isCrabboxError(error) && error.code === 'ssh_failed');
      const still = await lease.sh('id -un');
      assert.equal(still.stdout.trim(), lease.machine.sshUser, 'the lease key still works');
      assert.ok(!lease.layout.authorizedKeys.startsWith(`${lease.layout.home}/`), 'the authorized key lives outside the home');
    } finally {
      await lease.close();
      await provider.delete(lease.leaseId);
    }
  });
});

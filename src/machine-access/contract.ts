import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { isCrabboxError } from '../domain/errors.ts';
import { systemClock } from '../domain/clock.ts';
import { sshCapture, writeKnownHosts, type SshTarget } from '../ssh/index.ts';
import type { AccessTarget, MachineAccess } from './access.ts';

/** One machine to run the contract on, made fresh for each test and removed afterwards. */
export interface AccessFixture {
  access: MachineAccess;
  machine: AccessTarget;
  /** Real boxes only: where ssh reaches the machine (host, port) and its pinned host key. */
  ssh?: { host: string; port: number; hostKey: string } | undefined;
  /** Real boxes only: runs a command as root on the box (to look at it from outside). */
  asRoot?: ((script: string) => { status: number; stdout: string }) | undefined;
  cleanup(): Promise<void>;
}

export interface AccessFactory {
  make(): Promise<AccessFixture>;
  /** A real box (sshd, Unix users): the isolation tests log in over ssh and look at the box as root. */
  real: boolean;
}

let leaseCounter = 0;
/** A fresh lease id and its user for a test (`cbx_`/`cbx-` + 12 hex, unique per process run). */
export function testLease(): { leaseId: string; user: string } {
  leaseCounter++;
  const hex = `${process.pid.toString(16).padStart(6, '0').slice(-6)}${leaseCounter.toString(16).padStart(6, '0')}`;
  return { leaseId: `cbx_${hex}`, user: `cbx-${hex}` };
}

/** An ed25519 key pair for a test lease, in a private temp dir. */
function leaseKey(dir: string, name: string): { identity: string; publicKey: string } {
  const identity = join(dir, name);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', name, '-f', identity]);
  return { identity, publicKey: readFileSync(`${identity}.pub`, 'utf8').trim() };
}

/** Runs `command` on the box as `user` with `identity` over real ssh (pinned host key); status 255 when refused. */
async function loginAs(fixture: AccessFixture, dir: string, user: string, identity: string, command: string): Promise<{ status: number; stdout: string; stderr: string }> {
  const ssh = fixture.ssh!;
  const knownHostsFile = join(dir, 'known_hosts');
  await writeKnownHosts(knownHostsFile, ssh.host, [ssh.port], ssh.hostKey);
  const target: SshTarget = { host: ssh.host, ports: [ssh.port], user, identityFile: identity, knownHostsFile, controlPath: 'none', connectTimeoutSeconds: 10, oneShot: true };
  try {
    const r = await sshCapture(target, command);
    return { status: r.exitCode, stdout: r.stdout, stderr: r.stderr };
  } catch (error) {
    if (isCrabboxError(error)) return { status: 255, stdout: '', stderr: error.message };
    throw error;
  }
}

/** The behaviour every MachineAccess implementation must show (src/machine-access/access.ts). */
export function runAccessContract(name: string, factory: AccessFactory): void {
  const test = (title: string, fn: (f: AccessFixture, dir: string) => Promise<void>): void => {
    it(title, async () => {
      const fixture = await factory.make();
      const dir = mkdtempSync('/var/tmp/crabbox-access-test-');
      try {
        await fn(fixture, dir);
      } finally {
        rmSync(dir, { recursive: true, force: true });
        await fixture.cleanup();
      }
    });
  };

  describe(`MachineAccess contract: ${name}`, () => {
    test('prepare, then a grant gives the lease its own user and work root; granting again is the same', async (f, dir) => {
      await f.access.prepare(f.machine);
      const { leaseId, user } = testLease();
      const key = leaseKey(dir, 'a');
      const first = await f.access.grant(f.machine, { leaseId, user, publicKey: key.publicKey });
      assert.equal(first.sshUser, user);
      assert.ok(first.workRoot.startsWith('/'));
      assert.deepEqual(await f.access.grant(f.machine, { leaseId, user, publicKey: key.publicKey }), first);
      const report = await f.access.scrub(f.machine, user);
      assert.deepEqual(report, { clean: true, left: [] });
    });

    test('a scrub of a user that was never granted (or is gone already) is clean', async (f) => {
      const { user } = testLease();
      assert.deepEqual(await f.access.scrub(f.machine, user), { clean: true, left: [] });
      await f.access.revoke(f.machine, user);
    });

    test('a name that is not a lease user is refused before anything happens', async (f) => {
      await assert.rejects(f.access.grant(f.machine, { leaseId: 'cbx_000000000001', user: 'root', publicKey: 'ssh-ed25519 AAAA x' }));
      await assert.rejects(f.access.scrub(f.machine, 'root'));
      await assert.rejects(f.access.revoke(f.machine, '../etc'));
    });

    if (!factory.real) return;

    test('the lease logs in as its user with its key into its 0700 work root; no other key and no other user gets in', async (f, dir) => {
      const a = testLease();
      const key = leaseKey(dir, 'a');
      const other = leaseKey(dir, 'other');
      const granted = await f.access.grant(f.machine, { leaseId: a.leaseId, user: a.user, publicKey: key.publicKey });
      try {
        const who = await loginAs(f, dir, a.user, key.identity, `id -un; stat -c '%a %U' ${granted.workRoot}; touch ${granted.workRoot}/x && echo wrote`);
        assert.equal(who.status, 0, who.stderr);
        assert.deepEqual(who.stdout.trim().split('\n'), [a.user, `700 ${a.user}`, 'wrote']);
        assert.equal((await loginAs(f, dir, a.user, other.identity, 'true')).status, 255, 'another key is refused');
        assert.equal((await loginAs(f, dir, 'root', key.identity, 'true')).status, 255, 'the lease key is no key for root');
      } finally {
        await f.access.scrub(f.machine, a.user);
      }
    });

    test('isolation: after A is released and B claims the machine, nothing of A is visible or running and A\'s key no longer logs in', async (f, dir) => {
      const a = testLease();
      const b = testLease();
      const keyA = leaseKey(dir, 'a');
      const keyB = leaseKey(dir, 'b');
      const grantedA = await f.access.grant(f.machine, { leaseId: a.leaseId, user: a.user, publicKey: keyA.publicKey });
      const marker = `crabbox-iso-${a.user}`;
      const setup = [
        'set -e',
        `echo secret > ${grantedA.workRoot}/${marker}-work`,
        `echo secret > "$HOME/${marker}-home"`,
        `echo secret > /tmp/${marker}-tmp`,
        `mkdir -p /tmp/${marker}-dir/deep && echo x > /tmp/${marker}-dir/deep/file`,
        `echo secret > /dev/shm/${marker}-shm`,
        // A double-forked, setsid'd daemon that outlives the session.
        `setsid bash -c '(exec -a ${marker}-daemon sleep 3600) </dev/null >/dev/null 2>&1 &' </dev/null >/dev/null 2>&1`,
        `echo '* * * * * touch /tmp/${marker}-cron' | crontab -`,
        `echo 'touch /tmp/${marker}-at' | at now + 1 hour 2>/dev/null`,
        'crontab -l >/dev/null && echo ok',
      ].join('\n');
      const ran = await loginAs(f, dir, a.user, keyA.identity, setup);
      assert.equal(ran.status, 0, ran.stderr);
      assert.match(ran.stdout, /ok/);
      for (let i = 0; i < 50 && f.asRoot!(`pgrep -f '[${marker[0]}]${marker.slice(1)}-daemon'`).status !== 0; i++) await systemClock.sleep(50);
      assert.equal(f.asRoot!(`pgrep -f '[${marker[0]}]${marker.slice(1)}-daemon'`).status, 0, 'the daemon runs after the session ended');

      const report = await f.access.scrub(f.machine, a.user);
      assert.deepEqual(report, { clean: true, left: [] });

      const grantedB = await f.access.grant(f.machine, { leaseId: b.leaseId, user: b.user, publicKey: keyB.publicKey });
      try {
        const look = await loginAs(f, dir, b.user, keyB.identity, [
          `ls -a ${grantedB.workRoot} "$HOME"`,
          `ls /tmp /var/tmp /dev/shm 2>/dev/null | grep -c ${marker} || true`,
          `pgrep -f '[${marker[0]}]${marker.slice(1)}-daemon' || echo no-daemon`,
          `ls ${grantedA.workRoot} 2>&1 | head -1`,
          `crontab -l 2>&1 | grep -c ${marker} || true`,
        ].join('; '));
        assert.equal(look.status, 0, look.stderr);
        assert.doesNotMatch(look.stdout, new RegExp(`${marker}-(work|home)`));
        assert.match(look.stdout, /^0$/m, 'no file of A in the temp dirs');
        assert.match(look.stdout, /no-daemon/);
        assert.match(look.stdout, /No such file or directory/, "A's work root is gone");
        assert.equal((await loginAs(f, dir, a.user, keyA.identity, 'true')).status, 255, "A's key no longer logs in as A");
        assert.equal((await loginAs(f, dir, b.user, keyA.identity, 'true')).status, 255, "A's key does not log in as B");
        // Seen as root: no process, crontab, at job or file of A anywhere the lease could write.
        assert.notEqual(f.asRoot!(`pgrep -f '[${marker[0]}]${marker.slice(1)}-daemon'`).status, 0);
        assert.equal(f.asRoot!(`getent passwd ${a.user}`).status, 2, "A's user is gone");
        assert.equal(f.asRoot!(`ls /var/spool/cron/crontabs/${a.user}`).status, 2, "A's crontab is gone");
        assert.equal(f.asRoot!(`atq | grep -c ${a.user}`).stdout.trim(), '0', "A's at job is gone");
        assert.equal(f.asRoot!(`find /tmp /var/tmp /dev/shm -xdev -name '${marker}*' | head -1`).stdout.trim(), '');
      } finally {
        await f.access.scrub(f.machine, b.user);
      }
    });

    test('revoke ends access at once: the key is refused and every process of the user is gone', async (f, dir) => {
      const a = testLease();
      const key = leaseKey(dir, 'a');
      await f.access.grant(f.machine, { leaseId: a.leaseId, user: a.user, publicKey: key.publicKey });
      try {
        const started = await loginAs(f, dir, a.user, key.identity, `setsid bash -c '(exec -a crabbox-revoke-${a.user} sleep 3600) </dev/null >/dev/null 2>&1 &' </dev/null >/dev/null 2>&1; echo started`);
        assert.equal(started.status, 0, started.stderr);
        await f.access.revoke(f.machine, a.user);
        assert.equal((await loginAs(f, dir, a.user, key.identity, 'true')).status, 255);
        assert.notEqual(f.asRoot!(`pgrep -f '[c]rabbox-revoke-${a.user}'`).status, 0);
      } finally {
        await f.access.scrub(f.machine, a.user);
      }
    });
  });
}

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderUserData } from './user-data.ts';
import { bootDebianBox, type DebianBox } from '../testing/debian-box.ts';
import { generateKeyPair } from '../providers/hetzner/fake/keys.ts';
import { poolBoxScript } from '../machine-access/ssh.ts';

/**
 * The rendered cloud-init really runs: its files and runcmd are applied to a minimal Debian root (debootstrap),
 * in a chroot inside a network namespace of the test's own (loopback only), and sshd is started from the result
 * (src/testing/debian-box.ts).
 */

describe('runner bootstrap in a Debian chroot', () => {
  const lease = generateKeyPair('lease');
  const host = generateKeyPair('host');
  let box: DebianBox;
  let keyFile = '';
  let merged = '';
  let bootstrapOutput = '';
  let config: DebianBox['config'];
  const knownHostsFile = (): string => join(box.dir, 'known_hosts');
  const inNs = (cmd: string[], timeout?: number) => box.inNs(cmd, timeout);
  const inRoot = (cmd: string[]) => box.inRoot(cmd);
  const ssh = (user: string, port: number, command: string, extra: string[] = [], knownHosts = knownHostsFile()) =>
    box.ssh({ user, port, command, identity: keyFile, knownHosts, extra: ['-o', 'HostKeyAlgorithms=ssh-ed25519', ...extra] });

  before(async () => {
    const userData = renderUserData({ sshPublicKey: lease.publicKey, hostKey: host, ports: [2222, 22], user: 'crabbox', workRoot: '/work/crabbox' });
    assert.match(userData, /^#cloud-config\n/);
    box = await bootDebianBox('plain', userData, {
      before: (b) => {
        keyFile = join(b.dir, 'lease_key');
        writeFileSync(keyFile, lease.privateKey, { mode: 0o600 });
        writeFileSync(join(b.dir, 'known_hosts'), `[127.0.0.1]:2222 ${host.publicKey}\n127.0.0.1 ${host.publicKey}\n`);
        // A would-be root login target, so "root login refused" is proven by sshd, not by a missing key.
        mkdirSync(join(b.merged, 'root', '.ssh'), { recursive: true, mode: 0o700 });
        writeFileSync(join(b.merged, 'root', '.ssh', 'authorized_keys'), `${lease.publicKey}\n`, { mode: 0o600 });
      },
      ready: (b) => b.ssh({ user: 'crabbox', port: 2222, command: 'true', identity: keyFile, knownHosts: join(b.dir, 'known_hosts') }).status === 0,
    });
    merged = box.merged;
    bootstrapOutput = box.output;
    config = box.config;
  });

  after(() => box?.close());

  it('tolerates packages that are already installed (no network in the namespace)', () => {
    assert.match(bootstrapOutput, /packages already installed/);
    assert.match(bootstrapOutput, /crabbox-bootstrap: ready/);
  });

  it('logs in as crabbox with the lease key on 2222 and on 22, and crabbox-ready succeeds', () => {
    for (const port of [2222, 22]) {
      const r = ssh('crabbox', port, 'id -un && crabbox-ready');
      assert.equal(r.status, 0, `port ${port}: ${r.stderr}`);
      assert.equal(r.stdout, 'crabbox\nready\n');
    }
  });

  it('presents exactly the pinned host key', () => {
    const other = generateKeyPair('impostor');
    const wrong = join(box.dir, 'wrong_known_hosts');
    writeFileSync(wrong, `[127.0.0.1]:2222 ${other.publicKey}\n`);
    const r = ssh('crabbox', 2222, 'true', [], wrong);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /REMOTE HOST IDENTIFICATION HAS CHANGED|Host key verification failed/);
    assert.equal(config.ssh_keys.ed25519_public.trim(), host.publicKey.trim(), 'cloud-init installs the same key on a real box');
    assert.equal(readFileSync(join(merged, 'etc/ssh/ssh_host_ed25519_key.pub'), 'utf8').trim(), host.publicKey.trim());
    assert.ok(!existsSync(join(merged, 'etc/ssh/ssh_host_rsa_key')), 'no other host keys remain');
    assert.ok(!existsSync(join(merged, 'etc/crabbox/ssh_host_ed25519_key')), 'the staged private key is removed');
  });

  it('refuses root login even with an authorized key', () => {
    const r = ssh('root', 2222, 'true');
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /Permission denied/);
  });

  it('offers no password or keyboard-interactive login', () => {
    const r = ssh('crabbox', 2222, 'true', ['-o', 'PreferredAuthentications=password,keyboard-interactive', '-o', 'PubkeyAuthentication=no']);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /Permission denied \(publickey\)/, 'the server lists publickey as the only method');
    const effective = inRoot(['/usr/sbin/sshd', '-T']).stdout;
    for (const line of ['passwordauthentication no', 'kbdinteractiveauthentication no', 'permitrootlogin no', 'allowusers crabbox', 'port 2222', 'port 22', 'maxsessions 64']) {
      assert.ok(effective.split('\n').includes(line), `sshd -T has "${line}"`);
    }
    const shadow = readFileSync(join(merged, 'etc/shadow'), 'utf8').split('\n').find((l) => l.startsWith('crabbox:'));
    assert.equal(shadow?.split(':')[1], '*', 'crabbox has no password');
  });

  it('gives crabbox the work root and removes stale work directories at boot', () => {
    const work = join(merged, 'work/crabbox');
    const passwd = readFileSync(join(merged, 'etc/passwd'), 'utf8').split('\n').find((l) => l.startsWith('crabbox:'))!;
    assert.equal(statSync(work).uid, Number(passwd.split(':')[2]));
    const made = ssh('crabbox', 2222, 'mkdir -p /work/crabbox/cbx_0123456789ab/src && touch /work/crabbox/cbx_0123456789ab/src/f');
    assert.equal(made.status, 0, made.stderr);
    const unit = readFileSync(join(merged, 'etc/systemd/system/crabbox-clean-work.service'), 'utf8');
    const exec = /^ExecStart=(\S+)$/m.exec(unit)?.[1];
    assert.equal(exec, '/usr/local/lib/crabbox/clean-work.sh');
    const r = inRoot([exec!]);
    assert.equal(r.status, 0, r.stderr);
    assert.ok(!existsSync(join(work, 'cbx_0123456789ab')), 'the stale directory is gone');
    assert.ok(existsSync(work), 'the work root stays');
    assert.equal(ssh('crabbox', 2222, 'crabbox-ready').status, 0);
  });

  it('is idempotent: running the bootstrap again succeeds and keeps the login working', () => {
    for (const cmd of config.runcmd) assert.equal(inRoot(cmd).status, 0);
    assert.equal(ssh('crabbox', 22, 'crabbox-ready').status, 0);
  });

  it('takes warm pool lease users: the admin (crabbox, sudo) grants one, it logs in with its own key from /etc/crabbox/keys, and is gone after the scrub', () => {
    const poolLease = generateKeyPair('pool-lease');
    const poolKey = join(box.dir, 'pool_lease_key');
    writeFileSync(poolKey, poolLease.privateKey, { mode: 0o600 });
    writeFileSync(join(merged, 'tmp/pool-box.sh'), poolBoxScript(), { mode: 0o755 });
    const user = 'cbx-00000000b001';
    const granted = ssh('crabbox', 2222, `sudo -n bash /tmp/pool-box.sh prepare /var/lib/crabbox/leases /etc/crabbox/keys yes && sudo -n bash /tmp/pool-box.sh grant ${user} /var/lib/crabbox/leases /etc/crabbox/keys '${poolLease.publicKey}'`);
    assert.equal(granted.status, 0, granted.stderr);
    assert.match(granted.stdout, new RegExp(`^work /var/lib/crabbox/leases/${user}/work$`, 'm'));
    const asLease = (command: string) => inNs(['ssh', '-F', '/dev/null', '-i', poolKey, '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=yes',
      '-o', `UserKnownHostsFile=${knownHostsFile()}`, '-o', 'ConnectTimeout=5', '-p', '2222', `${user}@127.0.0.1`, command], 30_000);
    const who = asLease(`id -un; stat -c '%a %U' /var/lib/crabbox/leases/${user}/work; sudo -n true 2>/dev/null && echo sudo || echo no-sudo`);
    assert.equal(who.status, 0, who.stderr);
    assert.equal(who.stdout, `${user}\n700 ${user}\nno-sudo\n`);
    const keyFile = statSync(join(merged, `etc/crabbox/keys/${user}`));
    assert.deepEqual([keyFile.uid, keyFile.mode & 0o777], [0, 0o644], 'the lease key is root\'s');
    assert.notEqual(ssh(user, 2222, 'true').status, 0, "the admin key is not the lease's");
    const scrubbed = ssh('crabbox', 2222, `sudo -n bash /tmp/pool-box.sh scrub ${user} /var/lib/crabbox/leases /etc/crabbox/keys`);
    assert.equal(scrubbed.status, 0, scrubbed.stderr);
    assert.equal(scrubbed.stdout.trim(), 'found\nclean', 'the user was there, and nothing of it is left');
    assert.notEqual(asLease('true').status, 0, 'the lease key no longer logs in');
  });
});

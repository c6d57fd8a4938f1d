import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderUserData } from './user-data.ts';
import { readBootstrapFile, shippedText } from './files.ts';
import { bootDebianBox, writeFileBody, type DebianBox } from '../testing/debian-box.ts';
import { generateKeyPair } from '../providers/hetzner/fake/keys.ts';
import { tempDir } from '../testing/tmp.ts';

/**
 * A cold (single-lease) cloud box's own lease user (docs/bootstrap.md, step 5a), the bootstrap run for real in a Debian
 * chroot inside a network namespace (src/testing/debian-box.ts): the lease logs in as `cbx-<hex>` (not as the admin
 * user), works in its own 0700 workdir, has no sudo and cannot read another user's home; the admin key still manages
 * the box through sudo. Once with the lease key, once with the coordinator's SSH user CA.
 */

const USER = 'cbx-0123456789ab';
const OTHER = 'cbx-00000000beef';
const WORK = `/var/lib/crabbox/leases/${USER}/work`;

function keysFor(tag: string) {
  const dir = tempDir(`crabbox-bootstrap-lu-${tag}-`);
  const path = (name: string): string => join(dir.path, name);
  const write = (name: string, pair: { privateKey: string; publicKey: string }): void => {
    writeFileSync(path(name), pair.privateKey, { mode: 0o600 });
    writeFileSync(`${path(name)}.pub`, `${pair.publicKey}\n`);
  };
  return { dir, path, write };
}

describe('a cold cloud box with its own lease user (lease key, no user CA)', () => {
  const lease = generateKeyPair('lease');
  const admin = generateKeyPair('admin');
  const host = generateKeyPair('host');
  const { dir, path, write } = keysFor('key');
  let box: DebianBox;
  let userData = '';
  const ssh = (user: string, identity: string, command: string, port = 2222, on: DebianBox = box) => on.ssh({ user, port, command, identity: path(identity), knownHosts: path('known_hosts') });

  before(async () => {
    writeFileSync(path('known_hosts'), `[127.0.0.1]:2222 ${host.publicKey}\n127.0.0.1 ${host.publicKey}\n`);
    write('lease', lease);
    write('admin', admin);
    userData = renderUserData({ sshPublicKey: lease.publicKey, hostKey: host, ports: [2222, 22], user: 'crabbox', workRoot: '/work/crabbox', leaseUser: USER, adminKey: admin.publicKey });
    box = await bootDebianBox('lukey', userData, { ready: (b) => ssh(USER, 'lease', 'true', 2222, b).status === 0 });
  });

  after(() => {
    box?.close();
    dir.remove();
  });

  it('logs the lease in as its own user on 2222 and 22, in its own 0700 home and workdir, and crabbox-ready succeeds', () => {
    for (const port of [2222, 22]) {
      const r = ssh(USER, 'lease', `id -un && echo "$HOME" && crabbox-ready && touch ${WORK}/x && stat -c '%U %a' "$HOME" ${WORK}`, port);
      assert.equal(r.status, 0, `port ${port}: ${r.stderr}`);
      assert.equal(r.stdout, `${USER}\n/var/lib/crabbox/leases/${USER}/home\nready\n${USER} 700\n${USER} 700\n`);
    }
  });

  it('the lease key is that user\'s only: it is not the admin, and the admin has only the admin key', () => {
    assert.match(ssh('crabbox', 'lease', 'true').stderr, /Permission denied \(publickey\)/);
    assert.equal(readFileSync(join(box.merged, 'home/crabbox/.ssh/authorized_keys'), 'utf8'), `${admin.publicKey}\n`);
    assert.equal(readFileSync(join(box.merged, `etc/crabbox/keys/${USER}`), 'utf8'), `${lease.publicKey}\n`);
    assert.match(ssh(USER, 'admin', 'true').stderr, /Permission denied \(publickey\)/, 'the admin key is not the lease user');
  });

  it('the lease user cannot sudo', () => {
    const r = ssh(USER, 'lease', 'sudo -n true');
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /password is required|not in the sudoers|may not run sudo/);
    const groups = ssh(USER, 'lease', 'id -G | tr " " "\\n" | grep -qx 27');
    assert.equal(groups.status, 1, `not in the sudo group: ${groups.stderr}`);
  });

  it("cannot read another lease user's home nor the admin's", () => {
    const made = ssh('crabbox', 'admin', `sudo -n /usr/local/lib/crabbox/pool-box.sh grant ${OTHER} /var/lib/crabbox/leases /etc/crabbox/keys '${generateKeyPair('other').publicKey}' && sudo -n -u ${OTHER} sh -c 'echo secret > "$HOME/f"'`);
    assert.equal(made.status, 0, made.stderr);
    for (const target of [`/var/lib/crabbox/leases/${OTHER}/home/f`, `/var/lib/crabbox/leases/${OTHER}/work`, '/home/crabbox/.ssh/authorized_keys', '/home/crabbox']) {
      const r = ssh(USER, 'lease', `ls -la ${target} || exit 9; cat ${target} 2>/dev/null; exit 0`);
      assert.equal(r.status, 9, `${target} is readable: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, /Permission denied/);
    }
  });

  it('the admin still manages the box with sudo, and re-running the bootstrap changes nothing', () => {
    const r = ssh('crabbox', 'admin', 'id -un && sudo -n id -un && sudo -n sshd -t && echo ok');
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'crabbox\nroot\nok\n');
    for (const cmd of box.config.runcmd) assert.equal(box.inRoot(cmd).status, 0);
    assert.equal(ssh(USER, 'lease', 'id -un', 22).stdout, `${USER}\n`);
    assert.equal(statSync(join(box.merged, WORK)).mode & 0o777, 0o700);
    assert.equal(existsSync(join(box.merged, 'usr/local/lib/crabbox/pool-box.sh')), true);
    const scrub = ssh('crabbox', 'admin', `sudo -n /usr/local/lib/crabbox/pool-box.sh scrub ${OTHER} /var/lib/crabbox/leases /etc/crabbox/keys`);
    assert.equal(scrub.stdout.trim(), 'found\nclean', scrub.stderr);
  });

  it('ships pool-box.sh itself (gzipped) and the big scripts gzipped, under the 16 KB limit', () => {
    const file = box.config.write_files.find((f) => f.path === '/usr/local/lib/crabbox/pool-box.sh')!;
    assert.equal(file.encoding, 'gz+b64');
    assert.equal(writeFileBody(file).toString('utf8'), shippedText('pool-box.sh', readBootstrapFile('pool-box.sh')), 'the script, without its comment lines');
    assert.ok(Buffer.byteLength(userData) < 16 * 1024);
  });
});

describe('a cold cloud box with its own lease user and the SSH user CA', () => {
  const lease = generateKeyPair('lease');
  const host = generateKeyPair('host');
  const { dir, path, write } = keysFor('ca');
  let box: DebianBox;
  let userData = '';
  const ssh = (user: string, identity: string, command: string, on: DebianBox = box) => on.ssh({ user, port: 2222, command, identity: path(identity), knownHosts: path('known_hosts') });
  const certify = (name: string, principal: string): void => {
    execFileSync('ssh-keygen', ['-q', '-s', path('ca'), '-I', 'cbx_0123456789ab', '-n', principal, '-V', '-5m:+1h', `${path(name)}.pub`], { stdio: 'pipe' });
  };

  before(async () => {
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'ca', '-f', path('ca')]);
    writeFileSync(path('known_hosts'), `[127.0.0.1]:2222 ${host.publicKey}\n`);
    write('lease', lease);
    certify('lease', USER);
    write('bare', lease);
    write('as-admin', lease);
    certify('as-admin', 'crabbox');
    userData = renderUserData({
      sshPublicKey: lease.publicKey, hostKey: host, ports: [2222, 22], user: 'crabbox', workRoot: '/work/crabbox', leaseUser: USER,
      userCa: { publicKeys: [readFileSync(path('ca.pub'), 'utf8')], principal: USER },
    });
    box = await bootDebianBox('luca', userData, { ready: (b) => ssh(USER, 'lease', 'true', b).status === 0 });
  });

  after(() => {
    box?.close();
    dir.remove();
  });

  it("the certificate naming the lease user logs in as that user, with no sudo; the key alone does not, and nothing holds the key", () => {
    const r = ssh(USER, 'lease', `id -un && crabbox-ready && stat -c '%U %a' ${WORK}`);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, `${USER}\nready\n${USER} 700\n`);
    assert.notEqual(ssh(USER, 'lease', 'sudo -n true').status, 0);
    assert.match(ssh(USER, 'bare', 'true').stderr, /Permission denied/);
    assert.equal(readFileSync(join(box.merged, `etc/crabbox/keys/${USER}`), 'utf8'), `${USER}\n`, 'the principal, not the key');
    const material = lease.publicKey.split(' ')[1]!;
    assert.equal(userData.includes(material), false, 'the user data does not carry the lease key');
    for (const file of box.config.write_files) assert.equal(writeFileBody(file).toString('utf8').includes(material), false, `${file.path} does not hold the lease key`);
  });

  it('the lease certificate is not the admin, even one naming the admin user: the admin has no principal and no key', () => {
    assert.match(ssh('crabbox', 'lease', 'true').stderr, /Permission denied/);
    assert.match(ssh('crabbox', 'as-admin', 'true').stderr, /Permission denied/);
    assert.equal(existsSync(join(box.merged, 'etc/crabbox/principals/crabbox')), false);
    assert.equal(existsSync(join(box.merged, 'home/crabbox/.ssh/authorized_keys')), false);
  });
});

describe('a cold cloud box whose class the coordinator grants sudo (decision 0060)', () => {
  const lease = generateKeyPair('lease');
  const host = generateKeyPair('host');
  const { dir, path, write } = keysFor('sudo');
  let box: DebianBox;
  const ssh = (command: string, on: DebianBox = box) => on.ssh({ user: USER, port: 2222, command, identity: path('lease'), knownHosts: path('known_hosts') });

  before(async () => {
    writeFileSync(path('known_hosts'), `[127.0.0.1]:2222 ${host.publicKey}\n`);
    write('lease', lease);
    const userData = renderUserData({ sshPublicKey: lease.publicKey, hostKey: host, ports: [2222, 22], user: 'crabbox', workRoot: '/work/crabbox', leaseUser: USER, leaseSudo: true });
    box = await bootDebianBox('lusudo', userData, { ready: (b) => ssh('true', b).status === 0 });
  });

  after(() => {
    box?.close();
    dir.remove();
  });

  it('the lease user may sudo, through a visudo-checked 0440 entry of its own', () => {
    const r = ssh('sudo -n id -u');
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), '0');
    const entry = statSync(join(box.merged, 'etc/sudoers.d', USER));
    assert.deepEqual([entry.mode & 0o777, entry.uid], [0o440, 0]);
    assert.equal(readFileSync(join(box.merged, 'etc/sudoers.d', USER), 'utf8').trim().split('\n').at(-1), `${USER} ALL=(ALL:ALL) NOPASSWD: ALL`);
  });
});

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { renderUserData } from './user-data.ts';
import { bootDebianBox, type DebianBox } from '../testing/debian-box.ts';
import { generateKeyPair } from '../providers/hetzner/fake/keys.ts';
import { tempDir } from '../testing/tmp.ts';
import { poolBoxScript } from '../machine-access/ssh.ts';

/**
 * The cloud bootstrap of a box that trusts the coordinator's SSH user CA (docs/ssh-ca.md), run for real in a Debian
 * chroot inside a network namespace (src/testing/debian-box.ts): a certificate naming the lease's principal logs in
 * on 2222 and 22, the lease key alone does not, and nothing on the box holds the lease key.
 */

const LEASE_ID = 'cbx_0123456789ab';
const PRINCIPAL = 'cbx-0123456789ab';

describe('runner bootstrap with an SSH user CA in a Debian chroot', () => {
  const lease = generateKeyPair('lease');
  const host = generateKeyPair('host');
  const keys = tempDir('crabbox-bootstrap-ca-keys-');
  let box: DebianBox;
  let userData = '';
  const path = (name: string): string => join(keys.path, name);
  /** Signs the lease key with `ca` (ssh-keygen, the reference implementation) into `<key>-cert.pub`, which ssh loads by itself. */
  const certify = (key: string, ca: string, options: { principal?: string; id?: string } = {}): void => {
    execFileSync('ssh-keygen', ['-q', '-s', path(ca), '-I', options.id ?? LEASE_ID, '-n', options.principal ?? PRINCIPAL, '-V', '-5m:+1h', `${path(key)}.pub`], { stdio: 'pipe' });
  };
  const keyCopy = (name: string): void => {
    writeFileSync(path(name), lease.privateKey, { mode: 0o600 });
    writeFileSync(`${path(name)}.pub`, `${lease.publicKey}\n`);
  };
  const login = (key: string, port = 2222, command = 'id -un', on: DebianBox = box) => on.ssh({ user: 'crabbox', port, command, identity: path(key), knownHosts: path('known_hosts') });

  before(async () => {
    for (const ca of ['ca', 'impostor-ca']) execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', ca, '-f', path(ca)]);
    writeFileSync(path('known_hosts'), `[127.0.0.1]:2222 ${host.publicKey}\n127.0.0.1 ${host.publicKey}\n`);
    keyCopy('lease');
    certify('lease', 'ca');
    userData = renderUserData({
      sshPublicKey: lease.publicKey, hostKey: host, ports: [2222, 22], user: 'crabbox', workRoot: '/work/crabbox',
      userCa: { publicKeys: [readFileSync(path('ca.pub'), 'utf8')], principal: PRINCIPAL },
    });
    box = await bootDebianBox('ca', userData, { ready: (b) => login('lease', 2222, 'true', b).status === 0 });
  });

  after(() => {
    box?.close();
    keys.remove();
  });

  it('logs in as crabbox with a certificate of the CA on 2222 and on 22, and crabbox-ready succeeds', () => {
    for (const port of [2222, 22]) {
      const r = login('lease', port, 'id -un && crabbox-ready');
      assert.equal(r.status, 0, `port ${port}: ${r.stderr}`);
      assert.equal(r.stdout, 'crabbox\nready\n');
    }
  });

  it('refuses the lease key without its certificate, and holds the key nowhere', () => {
    keyCopy('bare');
    const r = login('bare');
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /Permission denied \(publickey\)/);
    const material = lease.publicKey.split(' ')[1]!;
    assert.equal(userData.includes(material), false, 'the user data does not carry the lease key');
    for (const file of box.config.write_files) assert.equal(Buffer.from(file.content, 'base64').toString('utf8').includes(material), false, `${file.path} does not hold the lease key`);
    assert.equal(existsSync(join(box.merged, 'home/crabbox/.ssh/authorized_keys')), false, 'no authorized key for crabbox');
    assert.equal(existsSync(join(box.merged, 'etc/crabbox/authorized_keys')), false);
    assert.equal(readFileSync(join(box.merged, 'etc/crabbox/principals/crabbox'), 'utf8'), `${PRINCIPAL}\n`);
    const effective = box.inRoot(['/usr/sbin/sshd', '-T']).stdout.split('\n');
    for (const line of ['trustedusercakeys /etc/crabbox/user_ca_keys', 'authorizedprincipalsfile /etc/crabbox/principals/%u', 'revokedkeys /etc/crabbox/revoked_keys', 'authorizedkeysfile none']) {
      assert.ok(effective.includes(line), `sshd -T has "${line}"`);
    }
  });

  it("refuses another lease's certificate and another CA's", () => {
    keyCopy('other-lease');
    certify('other-lease', 'ca', { principal: 'cbx-ba9876543210', id: 'cbx_ba9876543210' });
    assert.match(login('other-lease').stderr, /Permission denied/);
    keyCopy('other-ca');
    certify('other-ca', 'impostor-ca');
    assert.match(login('other-ca').stderr, /Permission denied/);
  });

  it('refuses a certificate whose lease id is in the revocation list, before it expires', () => {
    keyCopy('revoked');
    certify('revoked', 'ca', { id: 'cbx_0000000000aa' });
    assert.equal(login('revoked').status, 0, 'accepted before the revocation');
    writeFileSync(join(box.merged, 'tmp/revoke.spec'), 'id: cbx_0000000000aa\n');
    copyFileSync(path('ca.pub'), join(box.merged, 'tmp/ca.pub'));
    const r = box.inRoot(['ssh-keygen', '-q', '-k', '-u', '-f', '/etc/crabbox/revoked_keys', '-s', '/tmp/ca.pub', '/tmp/revoke.spec']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(login('revoked').stderr, /Permission denied/);
    assert.equal(login('lease').status, 0, 'the lease itself still logs in');
  });

  it('is idempotent: running the bootstrap again keeps the certificate login and adds no key', () => {
    for (const cmd of box.config.runcmd) assert.equal(box.inRoot(cmd).status, 0);
    assert.equal(login('lease', 22).status, 0);
    assert.equal(existsSync(join(box.merged, 'home/crabbox/.ssh/authorized_keys')), false);
  });
});

describe('a warm pool machine bootstrapped with an SSH user CA, granted and revoked by pool-box.sh', () => {
  const admin = generateKeyPair('pool-admin');
  const leaseKey = generateKeyPair('pool-lease');
  const host = generateKeyPair('pool-host');
  const keys = tempDir('crabbox-bootstrap-ca-pool-');
  const USER = 'cbx-00000000b001';
  let box: DebianBox;
  const path = (name: string): string => join(keys.path, name);
  const write = (name: string, pair: { privateKey: string; publicKey: string }): string => {
    writeFileSync(path(name), pair.privateKey, { mode: 0o600 });
    writeFileSync(`${path(name)}.pub`, `${pair.publicKey}\n`);
    return path(name);
  };
  const certify = (name: string, principal: string, id: string): void => {
    execFileSync('ssh-keygen', ['-q', '-s', path('ca'), '-I', id, '-n', principal, '-V', '-5m:+1h', `${path(name)}.pub`], { stdio: 'pipe' });
  };
  const ssh = (user: string, identity: string, command: string, on: DebianBox = box) => on.ssh({ user, port: 2222, command, identity: path(identity), knownHosts: path('known_hosts') });
  const asAdmin = (command: string) => ssh('crabbox', 'admin', command);

  before(async () => {
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'ca', '-f', path('ca')]);
    writeFileSync(path('known_hosts'), `[127.0.0.1]:2222 ${host.publicKey}\n`);
    write('admin', admin);
    write('lease', leaseKey);
    certify('lease', USER, 'cbx_00000000b001');
    write('bare', leaseKey);
    write('other', leaseKey);
    certify('other', 'cbx-00000000b002', 'cbx_00000000b002');
    const userData = renderUserData({ sshPublicKey: admin.publicKey, hostKey: host, ports: [2222, 22], user: 'crabbox', workRoot: '/work/crabbox', userCa: { publicKeys: [readFileSync(path('ca.pub'), 'utf8')] } });
    box = await bootDebianBox('capool', userData, { ready: (b) => ssh('crabbox', 'admin', 'true', b).status === 0 });
    writeFileSync(join(box.merged, 'tmp/pool-box.sh'), poolBoxScript(), { mode: 0o755 });
  });

  after(() => {
    box?.close();
    keys.remove();
  });

  it("the admin keeps its key; a grant names the lease user's principal, its certificate logs in, the key alone and another lease's certificate do not", () => {
    const granted = asAdmin(`sudo -n bash /tmp/pool-box.sh prepare /var/lib/crabbox/leases /etc/crabbox/keys yes && sudo -n bash /tmp/pool-box.sh grant ${USER} /var/lib/crabbox/leases /etc/crabbox/keys '${leaseKey.publicKey}'`);
    assert.equal(granted.status, 0, granted.stderr);
    assert.equal(readFileSync(join(box.merged, `etc/crabbox/keys/${USER}`), 'utf8'), `${USER}\n`, 'the principal, not the key');
    const r = ssh(USER, 'lease', 'id -un');
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, `${USER}\n`);
    assert.match(ssh(USER, 'bare', 'true').stderr, /Permission denied/);
    assert.match(ssh(USER, 'other', 'true').stderr, /Permission denied/);
    assert.match(ssh('crabbox', 'lease', 'true').stderr, /Permission denied/, 'a lease certificate is not the admin');
  });

  it('host-cert makes sshd present the host key certificate: a known_hosts with only the host CA is accepted, another CA is not', () => {
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'host-ca', '-f', path('host-ca')]);
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'other-host-ca', '-f', path('other-host-ca')]);
    writeFileSync(path('host.pub'), `${host.publicKey}\n`);
    execFileSync('ssh-keygen', ['-q', '-s', path('host-ca'), '-h', '-I', 'mch_00000000b001', '-n', '127.0.0.1', '-V', '-5m:+1h', path('host.pub')]);
    const cert = readFileSync(path('host-cert.pub'), 'utf8').trim().split(' ').slice(0, 2).join(' ');
    const ca = (name: string): string => readFileSync(path(`${name}.pub`), 'utf8').trim().split(' ').slice(0, 2).join(' ');
    const trusting = (name: string): string => {
      writeFileSync(path(`kh-${name}`), `@cert-authority [127.0.0.1]:2222 ${ca(name)}\n`);
      return path(`kh-${name}`);
    };
    assert.notEqual(box.ssh({ user: 'crabbox', port: 2222, command: 'true', identity: path('admin'), knownHosts: trusting('host-ca') }).status, 0, 'no certificate yet');
    // A certificate for some other key is refused by the script before sshd sees it.
    writeFileSync(path('stranger.pub'), `${generateKeyPair('stranger').publicKey}\n`);
    execFileSync('ssh-keygen', ['-q', '-s', path('host-ca'), '-h', '-I', 'x', '-n', '127.0.0.1', path('stranger.pub')]);
    const stranger = readFileSync(path('stranger-cert.pub'), 'utf8').trim().split(' ').slice(0, 2).join(' ');
    const wrong = asAdmin(`sudo -n bash /tmp/pool-box.sh host-cert '${stranger}'`);
    assert.equal(wrong.status, 2);
    assert.match(wrong.stderr, /not for this box's host key/);
    const installed = asAdmin(`sudo -n bash /tmp/pool-box.sh host-cert '${cert}'`);
    assert.equal(installed.status, 0, installed.stderr);
    let accepted = box.ssh({ user: 'crabbox', port: 2222, command: 'true', identity: path('admin'), knownHosts: trusting('host-ca') });
    for (let i = 0; i < 50 && accepted.status !== 0; i++) {
      // sshd re-executes on the HUP: give it a moment (the coordinator's certifyHost retries the same way).
      execFileSync('sleep', ['0.1']);
      accepted = box.ssh({ user: 'crabbox', port: 2222, command: 'true', identity: path('admin'), knownHosts: trusting('host-ca') });
    }
    assert.equal(accepted.status, 0, accepted.stderr);
    const refused = box.ssh({ user: 'crabbox', port: 2222, command: 'true', identity: path('admin'), knownHosts: trusting('other-host-ca') });
    assert.notEqual(refused.status, 0);
    assert.match(refused.stderr, /Host key verification failed|No ED25519 host key is known/);
    assert.equal(asAdmin('true').status, 0, 'the pinned plain key still works (clients made before the certificate)');
  });

  it("revoke puts the lease in the box's KRL: its certificate is refused even with its principal listed again, and the scrub ends clean", () => {
    const revoked = asAdmin(`sudo -n bash /tmp/pool-box.sh revoke ${USER} /etc/crabbox/keys`);
    assert.equal(revoked.status, 0, revoked.stderr);
    writeFileSync(join(box.merged, `etc/crabbox/keys/${USER}`), `${USER}\n`, { mode: 0o644 });
    assert.match(ssh(USER, 'lease', 'true').stderr, /Permission denied/, 'refused by the KRL alone');
    const listed = box.inRoot(['ssh-keygen', '-Q', '-l', '-f', '/etc/crabbox/revoked_keys']);
    assert.match(listed.stdout, /cbx_00000000b001/);
    const scrubbed = asAdmin(`sudo -n bash /tmp/pool-box.sh scrub ${USER} /var/lib/crabbox/leases /etc/crabbox/keys`);
    assert.equal(scrubbed.status, 0, scrubbed.stderr);
    assert.equal(scrubbed.stdout.trim(), 'found\nclean', 'the user was there, and nothing of it is left');
    assert.equal(asAdmin('true').status, 0, 'the admin still logs in');
  });
});

describe('user data without an SSH user CA', () => {
  it('carries no CA file, tells the bootstrap so, and keeps the lease key', () => {
    const lease = generateKeyPair('lease');
    const text = renderUserData({ sshPublicKey: lease.publicKey, hostKey: generateKeyPair('host'), ports: [2222, 22], user: 'crabbox', workRoot: '/work/crabbox' });
    const files = (parse(text) as { write_files: { path: string; content: string }[] }).write_files;
    assert.deepEqual(files.filter((f) => /user_ca|principals/.test(f.path)), []);
    const decoded = (path: string): string => Buffer.from(files.find((f) => f.path === path)!.content, 'base64').toString('utf8');
    assert.match(decoded('/etc/crabbox/bootstrap.env'), /^CRABBOX_USER_CA='no'$/m);
    assert.equal(decoded('/etc/crabbox/authorized_keys'), `${lease.publicKey}\n`);
  });
});

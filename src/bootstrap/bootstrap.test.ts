import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parse } from 'yaml';
import { renderUserData } from './user-data.ts';
import { ensureDebianRoot } from '../testing/debian-root.ts';
import { tempDir } from '../testing/tmp.ts';
import { generateKeyPair } from '../providers/hetzner/fake/keys.ts';
import { poolBoxScript } from '../machine-access/ssh.ts';

/**
 * The rendered cloud-init really runs: its files and runcmd are applied to a minimal Debian root (debootstrap),
 * in a chroot inside a network namespace of the test's own (loopback only), and sshd is started from the result.
 */
const root = ensureDebianRoot();

interface CloudConfig {
  write_files: { path: string; permissions: string; encoding: string; content: string }[];
  runcmd: string[][];
  ssh_keys: { ed25519_public: string };
}

function run(cmd: string, args: string[], options: { timeout?: number } = {}): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: options.timeout ?? 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Removes mounts and namespaces a crashed earlier run left behind (their names carry the dead run's pid). */
function cleanupCrashedRuns(): void {
  const mounts = readFileSync('/proc/mounts', 'utf8').split('\n').map((l) => l.split(' ')[1] ?? '');
  for (const target of mounts.reverse()) {
    const pid = /\/crabbox-bootstrap-(\d+)-/.exec(target)?.[1];
    if (pid && !alive(Number(pid))) run('umount', ['-l', target]);
  }
  for (const line of run('ip', ['netns', 'list']).stdout.split('\n')) {
    const pid = /^crabbox-bt-(\d+)\b/.exec(line)?.[1];
    if (pid && !alive(Number(pid))) run('ip', ['netns', 'del', `crabbox-bt-${pid}`]);
  }
}

describe('runner bootstrap in a Debian chroot', () => {
  const tmp = tempDir(`crabbox-bootstrap-${process.pid}-`);
  const ns = `crabbox-bt-${process.pid}`;
  const merged = join(tmp.path, 'merged');
  const lease = generateKeyPair('lease');
  const host = generateKeyPair('host');
  const keyFile = join(tmp.path, 'lease_key');
  const mounts: string[] = [];
  let sshd: ChildProcess | undefined;
  let config: CloudConfig;
  let bootstrapOutput = '';

  const inNs = (cmd: string[], timeout?: number) => run('ip', ['netns', 'exec', ns, ...cmd], { timeout });
  const inRoot = (cmd: string[]) => inNs(['chroot', merged, ...cmd]);
  const ssh = (user: string, port: number, command: string, extra: string[] = [], knownHosts = join(tmp.path, 'known_hosts')) =>
    inNs(['ssh', '-F', '/dev/null', '-i', keyFile, '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=yes', '-o', `UserKnownHostsFile=${knownHosts}`,
      '-o', 'ConnectTimeout=5', '-o', 'HostKeyAlgorithms=ssh-ed25519', ...extra, '-p', String(port), `${user}@127.0.0.1`, command], 30_000);

  before(async () => {
    if (!root.ok) throw new Error(`the bootstrap test cannot run: ${root.reason}; run the suite as root after \`bash scripts/setup.sh --test\`, as CI does`);
    cleanupCrashedRuns();
    for (const dir of ['upper', 'work', 'merged']) mkdirSync(join(tmp.path, dir));
    const mount = (args: string[], target: string) => {
      const r = run('mount', [...args, target]);
      assert.equal(r.status, 0, `mount ${args.join(' ')}: ${r.stderr}`);
      mounts.unshift(target);
    };
    // The cached root stays pristine: the test writes into an overlay on top of it.
    mount(['-t', 'overlay', 'overlay', '-o', `lowerdir=${root.path},upperdir=${join(tmp.path, 'upper')},workdir=${join(tmp.path, 'work')}`], merged);
    mount(['-t', 'proc', 'proc'], join(merged, 'proc'));
    mount(['--bind', '/dev'], join(merged, 'dev'));
    assert.equal(run('ip', ['netns', 'add', ns]).status, 0, 'ip netns add');
    assert.equal(inNs(['ip', 'link', 'set', 'lo', 'up']).status, 0);

    writeFileSync(keyFile, lease.privateKey, { mode: 0o600 });
    const userData = renderUserData({ sshPublicKey: lease.publicKey, hostKey: host, ports: [2222, 22], user: 'crabbox', workRoot: '/work/crabbox' });
    assert.match(userData, /^#cloud-config\n/);
    config = parse(userData) as CloudConfig;
    // What cloud-init's write_files does: decode, write, chmod.
    for (const file of config.write_files) {
      assert.equal(file.encoding, 'b64');
      const target = join(merged, file.path);
      mkdirSync(dirname(target), { recursive: true });
      writeFileSync(target, Buffer.from(file.content, 'base64'));
      chmodSync(target, Number.parseInt(file.permissions, 8));
    }
    // A would-be root login target, so "root login refused" is proven by sshd, not by a missing key.
    mkdirSync(join(merged, 'root', '.ssh'), { recursive: true, mode: 0o700 });
    writeFileSync(join(merged, 'root', '.ssh', 'authorized_keys'), `${lease.publicKey}\n`, { mode: 0o600 });
    for (const cmd of config.runcmd) {
      const r = inRoot(cmd);
      bootstrapOutput += r.stdout + r.stderr;
      assert.equal(r.status, 0, `bootstrap failed:\n${r.stdout}\n${r.stderr}`);
    }
    writeFileSync(join(tmp.path, 'known_hosts'), `[127.0.0.1]:2222 ${host.publicKey}\n127.0.0.1 ${host.publicKey}\n`);
    sshd = spawn('ip', ['netns', 'exec', ns, 'chroot', merged, '/usr/sbin/sshd', '-D', '-e'], { stdio: ['ignore', 'ignore', 'pipe'] });
    const deadline = Date.now() + 20_000;
    while (ssh('crabbox', 2222, 'true').status !== 0) {
      if (Date.now() > deadline || sshd.exitCode !== null) throw new Error('sshd from the bootstrapped root did not accept a login on 2222 within 20s');
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  });

  after(() => {
    if (sshd?.pid && sshd.exitCode === null) sshd.kill('SIGTERM');
    for (const target of mounts) run('umount', ['-l', target]);
    run('ip', ['netns', 'del', ns]);
    tmp.remove();
  });

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
    const wrong = join(tmp.path, 'wrong_known_hosts');
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
    const poolKey = join(tmp.path, 'pool_lease_key');
    writeFileSync(poolKey, poolLease.privateKey, { mode: 0o600 });
    writeFileSync(join(merged, 'tmp/pool-box.sh'), poolBoxScript(), { mode: 0o755 });
    const user = 'cbx-00000000b001';
    const granted = ssh('crabbox', 2222, `sudo -n bash /tmp/pool-box.sh prepare /var/lib/crabbox/leases /etc/crabbox/keys yes && sudo -n bash /tmp/pool-box.sh grant ${user} /var/lib/crabbox/leases /etc/crabbox/keys '${poolLease.publicKey}'`);
    assert.equal(granted.status, 0, granted.stderr);
    assert.match(granted.stdout, new RegExp(`^work /var/lib/crabbox/leases/${user}/work$`, 'm'));
    const asLease = (command: string) => inNs(['ssh', '-F', '/dev/null', '-i', poolKey, '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=yes',
      '-o', `UserKnownHostsFile=${join(tmp.path, 'known_hosts')}`, '-o', 'ConnectTimeout=5', '-p', '2222', `${user}@127.0.0.1`, command], 30_000);
    const who = asLease(`id -un; stat -c '%a %U' /var/lib/crabbox/leases/${user}/work; sudo -n true 2>/dev/null && echo sudo || echo no-sudo`);
    assert.equal(who.status, 0, who.stderr);
    assert.equal(who.stdout, `${user}\n700 ${user}\nno-sudo\n`);
    const keyFile = statSync(join(merged, `etc/crabbox/keys/${user}`));
    assert.deepEqual([keyFile.uid, keyFile.mode & 0o777], [0, 0o644], 'the lease key is root\'s');
    assert.notEqual(ssh(user, 2222, 'true').status, 0, "the admin key is not the lease's");
    const scrubbed = ssh('crabbox', 2222, `sudo -n bash /tmp/pool-box.sh scrub ${user} /var/lib/crabbox/leases /etc/crabbox/keys`);
    assert.equal(scrubbed.status, 0, scrubbed.stderr);
    assert.equal(scrubbed.stdout.trim(), 'clean');
    assert.notEqual(asLease('true').status, 0, 'the lease key no longer logs in');
  });
});

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parse } from 'yaml';
import { renderUserData } from './user-data.ts';
import { ensureDebianRoot } from '../testing/debian-root.ts';
import { tempDir } from '../testing/tmp.ts';
import { writeFileBody } from '../testing/debian-box.ts';
import { generateKeyPair } from '../providers/hetzner/fake/keys.ts';

/**
 * Tunnel mode's bootstrap really runs: the rendered cloud-init is applied to the cached Debian root (an overlay), in a
 * chroot inside a network namespace of the test's own that has a loopback and one "public" address (192.0.2.10, a
 * documentation address, added to that namespace's own interface only). A stand-in `cloudflared` is on the image, as on
 * an image that ships it, so nothing is downloaded.
 */
const root = ensureDebianRoot();
const PUBLIC = '192.0.2.10';

function run(cmd: string, args: string[], timeout = 60_000): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('runner bootstrap in tunnel mode (Debian chroot, own network namespace)', () => {
  const tmp = tempDir(`crabbox-bootstrap-tunnel-${process.pid}-`);
  const ns = `crabbox-btt-${process.pid}`;
  const merged = join(tmp.path, 'merged');
  const lease = generateKeyPair('lease');
  const host = generateKeyPair('host');
  const keyFile = join(tmp.path, 'lease_key');
  const token = Buffer.from(JSON.stringify({ a: '0123456789abcdef0123456789abcdef', t: 'c0ffee00-0000-4000-8000-000000000001', s: 'dHVubmVsLXNlY3JldC10dW5uZWwtc2VjcmV0LXR1bm5lbA==' })).toString('base64');
  const mounts: string[] = [];
  let sshd: ChildProcess | undefined;
  let output = '';

  const inNs = (cmd: string[], timeout?: number) => run('ip', ['netns', 'exec', ns, ...cmd], timeout);
  const inRoot = (cmd: string[]) => inNs(['chroot', merged, ...cmd]);
  const ssh = (address: string, port: number, command: string) =>
    inNs(['ssh', '-F', '/dev/null', '-i', keyFile, '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=yes', '-o', `UserKnownHostsFile=${join(tmp.path, 'known_hosts')}`,
      '-o', 'ConnectTimeout=5', '-p', String(port), `crabbox@${address}`, command], 30_000);

  before(async () => {
    if (!root.ok) throw new Error(`the bootstrap test cannot run: ${root.reason}; run the suite as root after \`bash scripts/setup.sh --test\`, as CI does`);
    for (const dir of ['upper', 'work', 'merged']) mkdirSync(join(tmp.path, dir));
    const mount = (args: string[], target: string) => {
      const r = run('mount', [...args, target]);
      assert.equal(r.status, 0, `mount ${args.join(' ')}: ${r.stderr}`);
      mounts.unshift(target);
    };
    mount(['-t', 'overlay', 'overlay', '-o', `lowerdir=${root.path},upperdir=${join(tmp.path, 'upper')},workdir=${join(tmp.path, 'work')}`], merged);
    mount(['-t', 'proc', 'proc'], join(merged, 'proc'));
    mount(['--bind', '/dev'], join(merged, 'dev'));
    assert.equal(run('ip', ['netns', 'add', ns]).status, 0, 'ip netns add');
    for (const cmd of [['ip', 'link', 'set', 'lo', 'up'], ['ip', 'addr', 'add', `${PUBLIC}/32`, 'dev', 'lo']]) {
      const r = inNs(cmd);
      assert.equal(r.status, 0, `${cmd.join(' ')}: ${r.stderr}`);
    }
    writeFileSync(join(merged, 'usr/bin/cloudflared'), '#!/bin/sh\necho "stand-in cloudflared $*"\n', { mode: 0o755 });
    writeFileSync(keyFile, lease.privateKey, { mode: 0o600 });
    const config = parse(renderUserData({ sshPublicKey: lease.publicKey, hostKey: host, ports: [2222, 22], user: 'crabbox', workRoot: '/work/crabbox', tunnelToken: token })) as {
      write_files: { path: string; permissions: string; owner?: string; encoding: string; content: string }[];
      runcmd: string[][];
    };
    for (const file of config.write_files) {
      const target = join(merged, file.path);
      mkdirSync(dirname(target), { recursive: true });
      writeFileSync(target, writeFileBody(file));
      chmodSync(target, Number.parseInt(file.permissions, 8));
    }
    for (const cmd of config.runcmd) {
      const r = inRoot(cmd);
      output += r.stdout + r.stderr;
      assert.equal(r.status, 0, `bootstrap failed:\n${r.stdout}\n${r.stderr}`);
    }
    writeFileSync(join(tmp.path, 'known_hosts'), ['127.0.0.1', '[127.0.0.1]:2222', PUBLIC, `[${PUBLIC}]:2222`].map((h) => `${h} ${host.publicKey}\n`).join(''));
    sshd = spawn('ip', ['netns', 'exec', ns, 'chroot', merged, '/usr/sbin/sshd', '-D', '-e'], { stdio: ['ignore', 'ignore', 'pipe'] });
    const deadline = Date.now() + 20_000;
    while (ssh('127.0.0.1', 2222, 'true').status !== 0) {
      if (Date.now() > deadline || sshd.exitCode !== null) throw new Error('sshd from the bootstrapped root did not accept a login on 127.0.0.1:2222 within 20s');
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  });

  after(() => {
    if (sshd?.pid && sshd.exitCode === null) sshd.kill('SIGTERM');
    for (const target of mounts) run('umount', ['-l', target]);
    run('ip', ['netns', 'del', ns]);
    tmp.remove();
  });

  it('installs the connector unit reading the token from a root-only file, and the token is nowhere else', () => {
    const env = statSync(join(merged, 'etc/crabbox/tunnel.env'));
    assert.deepEqual([env.uid, env.gid, env.mode & 0o777], [0, 0, 0o600]);
    assert.equal(readFileSync(join(merged, 'etc/crabbox/tunnel.env'), 'utf8'), `TUNNEL_TOKEN=${token}\n`);
    const unit = readFileSync(join(merged, 'etc/systemd/system/crabbox-tunnel.service'), 'utf8');
    assert.match(unit, /^EnvironmentFile=\/etc\/crabbox\/tunnel\.env$/m);
    assert.doesNotMatch(unit, new RegExp(token.slice(0, 20)));
    assert.ok(!output.includes(token), 'the bootstrap never prints the token');
    assert.ok(!readFileSync(join(merged, 'etc/crabbox/bootstrap.env'), 'utf8').includes(token));
  });

  it('sshd listens on loopback only: the connector\'s way in works, the public address has no SSH port', () => {
    const effective = inRoot(['/usr/sbin/sshd', '-T']).stdout.split('\n');
    assert.deepEqual(effective.filter((l) => l.startsWith('listenaddress ')).sort(), ['listenaddress 127.0.0.1:22', 'listenaddress 127.0.0.1:2222']);
    const inside = ssh('127.0.0.1', 2222, 'id -un && crabbox-ready');
    assert.equal(inside.status, 0, inside.stderr);
    assert.equal(inside.stdout, 'crabbox\nready\n');
    for (const port of [2222, 22]) {
      const outside = ssh(PUBLIC, port, 'true');
      assert.notEqual(outside.status, 0);
      assert.match(outside.stderr, /Connection refused/, `${PUBLIC}:${port}`);
    }
    const listening = inNs(['ss', '-Hltn']).stdout;
    assert.doesNotMatch(listening, /(0\.0\.0\.0|\*|\[::\]|192\.0\.2\.10):(22|2222)\b/, listening);
  });
});

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { runBin } from '../../src/testing/cli.ts';
import { isolatedEnv } from '../../src/testing/tmp.ts';
import { initRepo } from '../../src/testing/git.ts';
import { createNetns, type NetnsFixture } from '../../src/testing/netns.ts';
import { requireCommands, requireRoot } from '../../src/testing/requires.ts';
import { startStaticHost, type StaticHostFixture } from '../../src/testing/static-host.ts';
import { controlPathFor } from '../../src/ssh/control-dir.ts';
import { closeMaster, leaseTarget, readLeaseTransport, sshCapture, sshExec, writeKnownHosts, type SshTarget } from '../../src/ssh/index.ts';
import { ExitCode } from '../../src/domain/exit-codes.ts';

/** Whether a TCP connection to 127.0.0.1:port from this side is refused. */
function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.on('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.on('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'ECONNREFUSED'));
  });
}

describe('a box reachable only through a proxy (sshd in a network namespace, a relay as ProxyCommand)', () => {
  requireRoot('ip netns, sshd and a Unix user for the box');
  requireCommands('ip', 'sshd', 'rsync', 'git');
  const root = mkdtempSync('/tmp/cbx-px-');
  const env = isolatedEnv(root);
  const repo = join(root, 'repo');
  let ns: NetnsFixture;
  let box: StaticHostFixture;
  let impostor: StaticHostFixture;
  // A quoted word in the command: it must survive ssh's config parsing and rsync's splitting of `-e`.
  const proxyCommand = (): string => `${ns.relayCommand} 'stand-in proxy'`;
  const writeConfig = (proxy: Record<string, string> | undefined): void => {
    mkdirSync(join(root, 'config', 'crabbox'), { recursive: true });
    writeFileSync(join(root, 'config', 'crabbox', 'config.yaml'), stringify({ provider: 'ssh', static: { hosts: [box.entry(box.ports[0]!)] }, ...(proxy ? { proxy } : {}) }));
  };

  before(async () => {
    ns = createNetns();
    box = await startStaticHost({ netns: ns.name });
    impostor = await startStaticHost({ netns: ns.name });
    // Six files: more than the inline limit, so the sync is rsync's.
    initRepo(repo, Object.fromEntries(Array.from({ length: 6 }, (_, i) => [`src/f${i}.txt`, `file ${i}\n`])));
  });
  after(async () => {
    await runBin(['cleanup'], { env, cwd: repo }).catch(() => undefined);
    await box?.stop();
    await impostor?.stop();
    ns?.remove();
    rmSync(root, { recursive: true, force: true });
  });

  it('the box port is refused from this side, and warmup without the proxy fails to connect', async () => {
    assert.equal(await refused(box.ports[0]!), true, 'nothing answers on the box port outside the namespace');
    writeConfig(undefined);
    const warm = await runBin(['warmup', '--provider', 'ssh'], { env, cwd: repo });
    assert.equal(warm.code, ExitCode.tempFail, warm.stderr);
    assert.match(warm.stderr, /Connection refused/);
  });

  it('warmup, ssh, run with an rsync sync and cp both ways all go through the proxy command; an impostor behind it is refused', async () => {
    writeConfig({ command: proxyCommand() });
    const warm = await runBin(['warmup', '--provider', 'ssh', '--json'], { env, cwd: repo });
    assert.equal(warm.code, 0, warm.stderr);
    const id = (JSON.parse(warm.stdout) as { id: string }).id;
    const keyDir = join(root, 'state', 'crabbox', 'leases', id);
    assert.deepEqual(JSON.parse(readFileSync(join(keyDir, 'transport.json'), 'utf8')), { kind: 'proxy-command', command: proxyCommand() });

    const ssh = await runBin(['ssh', id, '--', 'echo', 'through'], { env, cwd: repo });
    assert.equal(ssh.code, 0, ssh.stderr);
    assert.equal(ssh.stdout, 'through\n');

    const run = await runBin(['run', '--id', id, '--', 'sh', '-c', 'cat src/f0.txt src/f5.txt'], { env, cwd: repo });
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /file 0\nfile 5\n/);

    // cp both ways, through the same proxy: down by the fetch exec, up by rsync.
    const down = join(root, 'down.txt');
    const got = await runBin(['cp', `${id}:src/f5.txt`, down], { env, cwd: repo });
    assert.equal(got.code, 0, got.stderr);
    assert.equal(readFileSync(down, 'utf8'), 'file 5\n');
    const upFile = join(root, 'up.txt');
    writeFileSync(upFile, 'sent up through the proxy\n');
    const sent = await runBin(['cp', upFile, `${id}:uploaded/up.txt`], { env, cwd: repo });
    assert.equal(sent.code, 0, sent.stderr);
    const back = await runBin(['run', '--id', id, '--no-sync', '--', 'cat', 'uploaded/up.txt'], { env, cwd: repo });
    assert.equal(back.code, 0, back.stderr);
    assert.equal(back.stdout, 'sent up through the proxy\n');

    // Close the master so the next command connects afresh, then have the proxy hand it to another sshd.
    execFileSync('ssh', ['-o', `ControlPath=${controlPathFor(keyDir, id, env)}`, '-O', 'exit', 'box'], { stdio: 'ignore' });
    const diverted = await runBin(['ssh', id, '--', 'echo', 'pwned'], { env: { ...env, CBX_RELAY_DIVERT: String(impostor.ports[0]) }, cwd: repo });
    assert.equal(diverted.code, ExitCode.sshFailed, diverted.stderr);
    // The provider's own admin connection meets the impostor first; its configured host key refuses it.
    assert.match(diverted.stderr, /presented a host key that does not match its configured hostKey; refusing to connect/);
    assert.doesNotMatch(diverted.stdout, /pwned/);
    // The lease's own transport and pinned known_hosts refuse it too.
    const target = leaseTarget({ keyDir, leaseId: id, host: '127.0.0.1', ports: [box.ports[0]!], user: box.user, connectTimeoutSeconds: 5, transport: readLeaseTransport(keyDir) });
    process.env.CBX_RELAY_DIVERT = String(impostor.ports[0]);
    try {
      await assert.rejects(sshExec(target, ['echo', 'pwned'], { stdout: 'inherit' }), (error: Error & { code?: string }) => error.code === 'host_key_mismatch' && /does not match the key pinned for this lease/.test(error.message));
    } finally {
      delete process.env.CBX_RELAY_DIVERT;
    }
    await closeMaster(target);

    const stop = await runBin(['stop', id], { env, cwd: repo });
    assert.equal(stop.code, 0, stop.stderr);
  });

  it('the Cloudflare Access transport: ssh runs cloudflared for the tunnel host name, pins the key for that name, and refuses an impostor', async () => {
    // A stand-in cloudflared: `access ssh --hostname <host>` is relayed to the box, as the real one relays through the tunnel.
    const hostname = 'mch-0123456789ab.boxes.example.com';
    const bin = join(root, 'bin');
    mkdirSync(bin, { recursive: true });
    writeFileSync(join(bin, 'cloudflared'), `#!/bin/sh\n[ "$1 $2 $3 $4" = "access ssh --hostname ${hostname}" ] || { echo "stand-in cloudflared: unexpected $*" >&2; exit 2; }\nexec ${ns.relayCommand.replace('%h %p', `127.0.0.1 ${box.ports[0]}`)}\n`, { mode: 0o755 });
    const knownHosts = join(root, 'tunnel_known_hosts');
    await writeKnownHosts(knownHosts, hostname, [2222], box.hostKey);
    const target: SshTarget = {
      host: hostname, ports: [2222], user: box.user, identityFile: box.identityFile, knownHostsFile: knownHosts, controlPath: 'none', connectTimeoutSeconds: 5, oneShot: true,
      transport: { kind: 'cloudflare', hostname },
    };
    const saved = process.env.PATH;
    process.env.PATH = `${bin}:${saved}`;
    try {
      const who = await sshCapture(target, ['id', '-un']);
      assert.equal(who.exitCode, 0, who.stderr);
      assert.equal(who.stdout, `${box.user}\n`);
      process.env.CBX_RELAY_DIVERT = String(impostor.ports[0]);
      await assert.rejects(sshCapture(target, ['true']), (error: Error & { code?: string }) => error.code === 'host_key_mismatch');
    } finally {
      delete process.env.CBX_RELAY_DIVERT;
      process.env.PATH = saved;
    }
  });
});

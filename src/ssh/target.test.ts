import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { sshArgv, rsyncRsh, type SshTarget } from './target.ts';
import { knownHostsText } from './known-hosts.ts';
import { classifySshFailure } from './errors.ts';

const target: SshTarget = {
  host: '127.0.0.1',
  ports: [2222, 22],
  user: 'crabbox',
  identityFile: '/s/leases/cbx_0123456789ab/id_ed25519',
  knownHostsFile: '/s/leases/cbx_0123456789ab/known_hosts',
  controlPath: '/s/leases/cbx_0123456789ab/cm',
  connectTimeoutSeconds: 7,
};

describe('ssh argv', () => {
  it('ignores user config, forwards nothing and pins the host key', () => {
    const argv = sshArgv(target, 2222, 'true');
    assert.deepEqual(argv.slice(0, 2), ['-F', '/dev/null']);
    for (const option of ['BatchMode=yes', 'IdentitiesOnly=yes', 'StrictHostKeyChecking=yes', 'GlobalKnownHostsFile=/dev/null', 'ForwardAgent=no', 'ForwardX11=no', 'ClearAllForwardings=yes', 'ConnectTimeout=7', 'ControlMaster=auto', 'LogLevel=ERROR', `ControlPath=${target.controlPath}`, `UserKnownHostsFile=${target.knownHostsFile}`]) {
      assert.ok(argv.includes(option), option);
    }
    assert.deepEqual(argv.slice(-3), ['--', '127.0.0.1', 'true']);
    assert.equal(argv[argv.indexOf('-p') + 1], '2222');
  });

  it('a box on this machine skips the slow sntrup761 key exchange; a remote or proxied box keeps OpenSSH\'s order', () => {
    const kex = (t: SshTarget): string | undefined => sshArgv(t, 22, 'true').find((a) => a.startsWith('KexAlgorithms='));
    for (const host of ['127.0.0.1', '127.3.2.1', '::1', 'localhost']) assert.equal(kex({ ...target, host }), 'KexAlgorithms=-sntrup761x25519-sha512,sntrup761x25519-sha512@openssh.com', host);
    for (const host of ['203.0.113.7', '10.0.0.5', 'box.example.com', '127.0.0.1.example.com', '1127.0.0.1']) assert.equal(kex({ ...target, host }), undefined, host);
    assert.equal(kex({ ...target, transport: { kind: 'proxy-jump', jump: 'me@bastion.example.com' } }), undefined, 'through a proxy the traffic leaves the machine');
    // What ssh itself makes of the option: the hybrid is gone from the list it offers, the rest keeps its order.
    const argv = sshArgv(target, 22, 'true');
    const offered = spawnSync('ssh', ['-G', ...argv.slice(0, argv.indexOf('--')), '127.0.0.1'], { encoding: 'utf8' }).stdout;
    const line = /^kexalgorithms (.*)$/m.exec(offered)?.[1] ?? '';
    assert.ok(line.includes('curve25519-sha256'), line);
    assert.doesNotMatch(line, /sntrup761/);
  });

  it('a one-shot target uses no ControlMaster but keeps every other option', () => {
    const argv = sshArgv({ ...target, oneShot: true }, 2222, 'true');
    assert.ok(argv.includes('ControlMaster=no') && argv.includes('ControlPath=none'));
    assert.equal(argv.some((a) => a.startsWith('ControlPersist=') || a === `ControlPath=${target.controlPath}`), false);
    const others = (a: string[]) => a.filter((x) => x !== '-o' && !x.startsWith('Control'));
    assert.deepEqual(others(argv), others(sshArgv(target, 2222, 'true')));
  });

  it('gives rsync the same options as one quoted string', () => {
    const rsh = rsyncRsh({ ...target, identityFile: '/a b/id' }, 22);
    assert.match(rsh, /^ssh -F \/dev\/null /);
    assert.match(rsh, /'IdentityFile="\/a b\/id"'/);
    assert.match(rsh, /-p 22 /);
  });

  it('a proxy transport adds exactly one proxy option, passed to ssh unquoted; direct adds none', () => {
    const proxyArgs = (t: SshTarget): string[] => sshArgv(t, 2222, 'true').filter((a) => /^Proxy(Command|Jump)=/.test(a));
    assert.deepEqual(proxyArgs(target), []);
    assert.deepEqual(proxyArgs({ ...target, transport: { kind: 'direct' } }), []);
    assert.deepEqual(proxyArgs({ ...target, transport: { kind: 'proxy-command', command: "ssh -W %h:%p 'bastion one'" } }), ["ProxyCommand=ssh -W %h:%p 'bastion one'"]);
    assert.deepEqual(proxyArgs({ ...target, transport: { kind: 'proxy-jump', jump: 'me@bastion.example.com:2200' } }), ['ProxyJump=me@bastion.example.com:2200']);
    assert.deepEqual(proxyArgs({ ...target, transport: { kind: 'cloudflare', hostname: 'cbx-1.boxes.example.com' } }), ['ProxyCommand=cloudflared access ssh --hostname %h']);
    // Everything else, the pinning included, is the same as without a proxy (for a remote box: a loopback one also
    // changes its key exchange when direct, see the test above).
    const remote = { ...target, host: '203.0.113.7' };
    const rest = (t: SshTarget): string[] => sshArgv(t, 2222, 'true').filter((a, i, all) => !/^Proxy/.test(a) && !(a === '-o' && /^Proxy/.test(all[i + 1] ?? '')));
    assert.deepEqual(rest({ ...remote, transport: { kind: 'proxy-jump', jump: 'b' } }), sshArgv(remote, 2222, 'true'));
  });

  it('quotes rsync -e words the way rsync splits them (a quote doubled, no backslash)', () => {
    const rsh = rsyncRsh({ ...target, transport: { kind: 'proxy-command', command: "relay %h %p 'it''s'" } }, 22);
    assert.ok(rsh.includes(`'ProxyCommand=relay %h %p ''it''''s'''`), rsh);
  });

  it('pins one key for every port, in ssh host pattern form', () => {
    assert.equal(knownHostsText('10.0.0.1', [2222, 22, 2222], 'ssh-ed25519 AAAAC3Nza comment'), '[10.0.0.1]:2222 ssh-ed25519 AAAAC3Nza\n10.0.0.1 ssh-ed25519 AAAAC3Nza\n');
    assert.throws(() => knownHostsText('h', [22], 'not a key'));
  });

  it('classifies ssh failures', () => {
    assert.equal(classifySshFailure('@@@\nWARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!\nHost key verification failed.'), 'host_key');
    assert.equal(classifySshFailure('user@127.0.0.1: Permission denied (publickey).'), 'auth');
    assert.equal(classifySshFailure('ssh: connect to host 127.0.0.1 port 1: Connection refused'), 'connect');
    assert.equal(classifySshFailure('some remote output'), 'other');
  });
});

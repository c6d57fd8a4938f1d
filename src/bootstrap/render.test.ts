import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parse } from 'yaml';
import { render } from './render.ts';
import { renderUserData } from './user-data.ts';
import { bootstrapFilesDir } from './files.ts';
import { generateKeyPair } from '../providers/hetzner/fake/keys.ts';
import { writeFileBody } from '../testing/debian-box.ts';

describe('render', () => {
  it('escapes by filter', () => {
    assert.equal(render('a: {{ v | yaml }}', { v: 'x"\ny' }), 'a: "x\\"\\ny"');
    assert.equal(render("X={{ v | sh }}", { v: "it's" }), "X='it'\\''s'");
    assert.equal(render('{{ v | b64 }}', { v: 'hi' }), 'aGk=');
    assert.equal(render('port {{ p }}', { p: '2222' }), 'port 2222');
  });

  it('refuses unplain raw values, unknown names, unknown filters and unused variables', () => {
    assert.throws(() => render('{{ v }}', { v: 'a; rm -rf /' }), /not plain/);
    assert.throws(() => render('{{ missing }}', {}), /has no value/);
    assert.throws(() => render('{{ v | nope }}', { v: 'x' }), /unknown template filter/);
    assert.throws(() => render('static', { v: 'x' }), /never used: v/);
    assert.throws(() => render('{{ v | yaml }} {{', { v: 'x' }), /malformed placeholder/);
  });
});

describe('renderUserData', () => {
  const lease = generateKeyPair('lease');
  const host = generateKeyPair('host');
  const input = { sshPublicKey: lease.publicKey, hostKey: host, ports: [2222, 22], user: 'crabbox', workRoot: '/work/crabbox' };

  it('is valid cloud-config carrying the files, the pinned host key and one runcmd', () => {
    const text = renderUserData(input);
    const doc = parse(text) as Record<string, any>;
    assert.equal(doc.ssh_keys.ed25519_public.trim(), host.publicKey);
    assert.deepEqual(doc.ssh_genkeytypes, []);
    assert.equal(doc.ssh_pwauth, false);
    assert.equal(doc.disable_root, true);
    assert.deepEqual(doc.runcmd, [['/usr/local/lib/crabbox/bootstrap.sh']]);
    const files = Object.fromEntries(doc.write_files.map((f: any) => [f.path, writeFileBody(f).toString('utf8')]));
    assert.equal(files['/etc/crabbox/authorized_keys'], `${lease.publicKey}\n`);
    assert.match(files['/etc/crabbox/bootstrap.env'], /^CRABBOX_SSH_PORTS='2222 22'$/m);
    assert.match(files['/usr/local/bin/crabbox-ready'], /^#!\/bin\/bash/);
    assert.equal(doc.write_files.find((f: any) => f.path === '/etc/crabbox/ssh_host_ed25519_key').permissions, '0600');
  });

  it('tunnel mode adds the root-only token file and the connector unit, and the token is nowhere else', () => {
    const token = Buffer.from(JSON.stringify({ a: 'acct', t: 'tunnel-id', s: 'c2VjcmV0LXNlY3JldC1zZWNyZXQ=' })).toString('base64');
    const text = renderUserData({ ...input, tunnelToken: token });
    const doc = parse(text) as Record<string, any>;
    const file = (path: string) => doc.write_files.find((f: any) => f.path === path);
    const decoded = (path: string) => Buffer.from(file(path).content, 'base64').toString('utf8');
    assert.equal(file('/etc/crabbox/tunnel.env').permissions, '0600');
    assert.equal(file('/etc/crabbox/tunnel.env').owner, 'root:root');
    assert.equal(decoded('/etc/crabbox/tunnel.env'), `TUNNEL_TOKEN=${token}\n`);
    const unit = decoded('/etc/systemd/system/crabbox-tunnel.service');
    assert.match(unit, /^EnvironmentFile=\/etc\/crabbox\/tunnel\.env$/m);
    assert.match(unit, /^ExecStart=\/usr\/bin\/cloudflared --no-autoupdate tunnel run$/m, 'no token on the command line');
    assert.match(decoded('/etc/crabbox/bootstrap.env'), /^CRABBOX_TUNNEL='yes'$/m);
    const elsewhere = doc.write_files.filter((f: any) => f.path !== '/etc/crabbox/tunnel.env').map((f: any) => Buffer.from(f.content, 'base64').toString('utf8')).join('\n');
    assert.ok(!elsewhere.includes(token), 'the token is only in tunnel.env');
    assert.deepEqual(doc.runcmd, [['/usr/local/lib/crabbox/bootstrap.sh']]);
    // Without a token: no tunnel files, and the bootstrap is told so.
    const plain = parse(renderUserData(input)) as Record<string, any>;
    assert.equal(plain.write_files.some((f: any) => /tunnel/.test(f.path)), false);
    assert.match(Buffer.from(plain.write_files.find((f: any) => f.path === '/etc/crabbox/bootstrap.env').content, 'base64').toString(), /^CRABBOX_TUNNEL='no'$/m);
  });

  it('refuses values that are not what they claim to be', () => {
    assert.throws(() => renderUserData({ ...input, tunnelToken: 'short\nTUNNEL_TOKEN=x' }), /not a Cloudflare Tunnel token/);
    assert.throws(() => renderUserData({ ...input, sshPublicKey: 'ssh-ed25519 AAAA\nmalicious' }), /not an OpenSSH public key/);
    assert.throws(() => renderUserData({ ...input, hostKey: { ...host, privateKey: 'nope' } }), /OpenSSH private key/);
    assert.throws(() => renderUserData({ ...input, user: 'root;x' }), /invalid ssh user/);
    assert.throws(() => renderUserData({ ...input, workRoot: '/' }), /work root/);
    assert.throws(() => renderUserData({ ...input, ports: [0] }), /port/);
  });

  it('finds its files from the dist bundle as well as from src', () => {
    const repo = join(import.meta.dirname, '..', '..');
    assert.equal(bootstrapFilesDir(pathToFileURL(join(repo, 'dist', 'chunks', 'hetzner-abc.js')).href), join(repo, 'src', 'bootstrap', 'files'));
    assert.equal(bootstrapFilesDir(), join(repo, 'src', 'bootstrap', 'files'));
  });
});

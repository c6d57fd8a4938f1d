import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { gunzipSync } from 'node:zlib';
import { parse } from 'yaml';
import { MAX_USER_DATA_BYTES, renderUserData } from './user-data.ts';
import { gzippedBootstrapFile, readBootstrapFile, shippedText } from './files.ts';
import { bootstrapModule } from '../../scripts/worker-build.ts';
import { poolBoxScript } from '../machine-access/ssh.ts';
import { generateKeyPair } from '../providers/hetzner/fake/keys.ts';

/** The user data of a single-lease box with its own lease user (docs/bootstrap.md, decision 0058). */

type File = { path: string; encoding: string; content: string };
const filesOf = (text: string): File[] => (parse(text) as { write_files: File[] }).write_files;
const body = (files: File[], path: string): string => {
  const file = files.find((f) => f.path === path);
  if (!file) return 'missing';
  const raw = Buffer.from(file.content, 'base64');
  return (file.encoding === 'gz+b64' ? gunzipSync(raw) : raw).toString('utf8');
};

describe('user data with a lease user', () => {
  const lease = generateKeyPair('lease');
  const admin = generateKeyPair('admin');
  const input = { sshPublicKey: lease.publicKey, hostKey: generateKeyPair('host'), ports: [2222, 22], user: 'crabbox', workRoot: '/work/crabbox', leaseUser: 'cbx-0123456789ab' };

  it('gives the lease key to the lease user only, ships pool-box.sh gzipped, and the admin gets the admin key or nothing', () => {
    const files = filesOf(renderUserData({ ...input, adminKey: admin.publicKey }));
    const env = body(files, '/etc/crabbox/bootstrap.env');
    assert.match(env, /^CRABBOX_LEASE_USER='cbx-0123456789ab'$/m);
    assert.ok(env.includes(`CRABBOX_LEASE_KEY='${lease.publicKey}'`));
    assert.equal(body(files, '/etc/crabbox/authorized_keys'), `${admin.publicKey}\n`);
    assert.equal(files.find((f) => f.path === '/usr/local/lib/crabbox/pool-box.sh')?.encoding, 'gz+b64');
    assert.equal(body(files, '/usr/local/lib/crabbox/pool-box.sh'), shippedText('pool-box.sh', poolBoxScript()), 'the very script a pool claim runs, without its comment lines');
    assert.equal(body(files, '/usr/local/lib/crabbox/bootstrap.sh'), readBootstrapFile('scripts/bootstrap.sh'));
    assert.equal(body(filesOf(renderUserData(input)), '/etc/crabbox/authorized_keys'), '', 'no admin key: nobody logs in as the admin');
  });

  it('sudo for the lease user only when the coordinator asks (leaseSudo), never for a warm pool machine', () => {
    const env = (extra: object) => body(filesOf(renderUserData({ ...input, ...extra })), '/etc/crabbox/bootstrap.env');
    assert.match(env({}), /^CRABBOX_LEASE_SUDO='nosudo'$/m);
    assert.match(env({ leaseSudo: true }), /^CRABBOX_LEASE_SUDO='sudo'$/m);
    assert.throws(() => renderUserData({ ...input, leaseUser: undefined, leaseSudo: true }), /sudo is granted to a lease user only/);
  });

  it('without a lease user (a warm pool machine) carries no pool-box.sh and an empty lease user', () => {
    const files = filesOf(renderUserData({ ...input, leaseUser: undefined }));
    assert.equal(files.some((f) => f.path.endsWith('pool-box.sh')), false);
    assert.match(body(files, '/etc/crabbox/bootstrap.env'), /^CRABBOX_LEASE_USER=''$/m);
    assert.equal(body(files, '/etc/crabbox/authorized_keys'), `${lease.publicKey}\n`);
  });

  it('with a user CA: no lease key anywhere, the principal must be the lease user, and the admin gets no principal', () => {
    const ca = { publicKeys: [generateKeyPair('ca').publicKey], principal: 'cbx-0123456789ab' };
    const text = renderUserData({ ...input, userCa: ca });
    const files = filesOf(text);
    assert.match(body(files, '/etc/crabbox/bootstrap.env'), /^CRABBOX_LEASE_KEY='-'$/m);
    assert.equal(body(files, '/etc/crabbox/principals.new'), '');
    const material = lease.publicKey.split(' ')[1]!;
    assert.equal(text.includes(material), false);
    for (const f of files) assert.equal(body(files, f.path).includes(material), false, f.path);
    assert.throws(() => renderUserData({ ...input, userCa: { ...ca, principal: 'cbx-ba9876543210' } }), /principal must be the lease user/);
  });

  it('refuses a malformed lease user or admin key', () => {
    assert.throws(() => renderUserData({ ...input, leaseUser: 'crabbox' }), /invalid lease user/);
    assert.throws(() => renderUserData({ ...input, leaseUser: "cbx-0123'; id #" }), /invalid lease user/);
    assert.throws(() => renderUserData({ ...input, adminKey: 'ssh-ed25519 AAAA\nx' }), /admin SSH public key/);
  });

  it('the largest user data (tunnel, two CA keys, a lease user) fits under the 16 KB limit', () => {
    const token = Buffer.from(JSON.stringify({ a: '0123456789abcdef0123456789abcdef', t: 'c0ffee00-0000-4000-8000-000000000001', s: 'x'.repeat(44) })).toString('base64');
    const text = renderUserData({ ...input, tunnelToken: token, userCa: { publicKeys: [generateKeyPair('a').publicKey, generateKeyPair('b').publicKey], principal: input.leaseUser } });
    assert.ok(Buffer.byteLength(text) <= MAX_USER_DATA_BYTES, `${Buffer.byteLength(text)} bytes`);
  });

  it('the Worker build carries the same files and the same gzipped scripts (no zlib on Workers)', async () => {
    const worker = (await import(`data:text/javascript,${encodeURIComponent(bootstrapModule())}`)) as { readBootstrapFile(n: string): string; gzippedBootstrapFile(n: string): string };
    for (const name of ['pool-box.sh', 'scripts/bootstrap.sh', 'lease-user-files.yaml.tmpl']) {
      assert.equal(worker.readBootstrapFile(name), readBootstrapFile(name), name);
      assert.equal(gunzipSync(Buffer.from(worker.gzippedBootstrapFile(name), 'base64')).toString('utf8'), shippedText(name, readBootstrapFile(name)), name);
      assert.equal(gunzipSync(Buffer.from(gzippedBootstrapFile(name), 'base64')).toString('utf8'), shippedText(name, readBootstrapFile(name)), name);
    }
  });

  it('pool-box.sh ships without its comment lines and is still the same program (bash -n; every command and function kept)', () => {
    const source = readBootstrapFile('pool-box.sh');
    const shipped = shippedText('pool-box.sh', source);
    assert.ok(shipped.startsWith('#!/bin/bash\n'), 'the shebang stays');
    assert.doesNotMatch(shipped, /^\s*#(?!!\/bin\/bash$)/m, 'no comment line left');
    assert.equal(spawnSync('bash', ['-n'], { input: shipped }).status, 0, 'bash parses it');
    assert.deepEqual(shipped.split('\n').filter((l) => !/^\s*#/.test(l)), source.split('\n').filter((l) => !/^\s*#/.test(l)), 'only comment lines went');
    assert.equal(shippedText('scripts/bootstrap.sh', readBootstrapFile('scripts/bootstrap.sh')), readBootstrapFile('scripts/bootstrap.sh'), 'other files ship as they are');
  });
});

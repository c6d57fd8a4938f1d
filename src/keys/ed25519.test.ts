import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { findSshd } from '../providers/local/sshd.ts';
import { tempDir } from '../testing/tmp.ts';
import { encodePrivateKey, encodePublicKey, generateEd25519 } from './ed25519.ts';
import { fromBase64 } from './wire.ts';

/** Reads the fields of an unencrypted openssh-key-v1 file (what ssh-keygen wrote), to re-encode them. */
function parseOpenSshKey(pem: string): { seed: Uint8Array; publicBytes: Uint8Array; checkInt: number; comment: string } {
  const body = fromBase64(pem.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, ''));
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  let at = 'openssh-key-v1\0'.length;
  const string = (): Uint8Array => {
    const length = view.getUint32(at);
    const value = body.subarray(at + 4, at + 4 + length);
    at += 4 + length;
    return value;
  };
  string(); // cipher
  string(); // kdf
  string(); // kdf options
  at += 4; // key count
  string(); // public blob
  const section = string();
  const sv = new DataView(section.buffer, section.byteOffset, section.byteLength);
  const checkInt = sv.getUint32(0);
  const inner = { bytes: section, at: 8 };
  const field = (): Uint8Array => {
    const length = sv.getUint32(inner.at);
    const value = section.subarray(inner.at + 4, inner.at + 4 + length);
    inner.at += 4 + length;
    return value;
  };
  field(); // key type
  const publicBytes = field();
  const secret = field();
  const comment = new TextDecoder().decode(field());
  return { seed: secret.subarray(0, 32), publicBytes, checkInt, comment };
}

describe('in-process ed25519 SSH keys', () => {
  it('ssh-keygen reads the private key and derives the same public key line', async (t) => {
    const dir = tempDir('crabbox-keys-');
    t.after(() => dir.remove());
    const key = await generateEd25519('crabbox-test');
    assert.match(key.publicKey, /^ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI[A-Za-z0-9+/]{43} crabbox-test$/);
    const file = join(dir.path, 'id_ed25519');
    writeFileSync(file, key.privateKey, { mode: 0o600 });
    assert.equal(execFileSync('ssh-keygen', ['-y', '-f', file], { encoding: 'utf8' }).trim(), key.publicKey);
  });

  it('re-encoding a key ssh-keygen made gives byte-identical private and public files', (t) => {
    const dir = tempDir('crabbox-keys-');
    t.after(() => dir.remove());
    const file = join(dir.path, 'ref');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'crabbox-ref', '-f', file]);
    const pem = readFileSync(file, 'utf8');
    const fields = parseOpenSshKey(pem);
    assert.equal(fields.comment, 'crabbox-ref');
    assert.equal(encodePrivateKey(fields.seed, fields.publicBytes, fields.comment, fields.checkInt), pem);
    assert.equal(`${encodePublicKey(fields.publicBytes, fields.comment)}\n`, readFileSync(`${file}.pub`, 'utf8'));
  });

  it('a real sshd serves with it as HostKey, ssh logs in with it as identity, and a different pinned key is refused', async (t) => {
    const sshd = findSshd();
    assert.ok(sshd, 'sshd is needed for this test (scripts/setup.sh installs it)');
    const dir = tempDir('crabbox-keys-');
    t.after(() => dir.remove());
    const host = await generateEd25519('crabbox-host-test');
    const client = await generateEd25519('crabbox-client-test');
    const path = (name: string): string => join(dir.path, name);
    writeFileSync(path('host'), host.privateKey, { mode: 0o600 });
    writeFileSync(path('client'), client.privateKey, { mode: 0o600 });
    writeFileSync(path('authorized_keys'), `${client.publicKey}\n`, { mode: 0o600 });
    writeFileSync(path('sshd_config'), [
      `HostKey ${path('host')}`, `AuthorizedKeysFile ${path('authorized_keys')}`, 'StrictModes no', 'PasswordAuthentication no',
      'KbdInteractiveAuthentication no', 'UsePAM no', 'PidFile none', 'LogLevel ERROR', '',
    ].join('\n'), { mode: 0o600 });
    // sshd in inetd mode on ssh's stdin/stdout: the real server and key exchange, no port and no daemon left behind.
    const login = (pinned: string) => {
      writeFileSync(path('known_hosts'), `box ${pinned}\n`);
      return spawnSync('ssh', [
        '-F', '/dev/null', '-o', 'BatchMode=yes', '-o', 'IdentitiesOnly=yes', '-i', path('client'), '-o', `UserKnownHostsFile=${path('known_hosts')}`,
        '-o', 'GlobalKnownHostsFile=/dev/null', '-o', 'StrictHostKeyChecking=yes', '-o', 'HostKeyAlias=box',
        '-o', `ProxyCommand=${sshd} -i -f ${path('sshd_config')}`, '-l', process.env.USER ?? 'root', 'box', 'echo crabbox-login-ok',
      ], { encoding: 'utf8', timeout: 30_000 });
    };
    const ok = login(host.publicKey);
    assert.equal(ok.status, 0, ok.stderr);
    assert.equal(ok.stdout.trim(), 'crabbox-login-ok');
    const other = await generateEd25519('someone-else');
    const refused = login(other.publicKey);
    assert.equal(refused.status, 255);
    assert.match(refused.stderr, /host key verification failed|HOST IDENTIFICATION HAS CHANGED/i);
  });

  it('makes a different key every time and refuses a multi-line comment', async () => {
    const [a, b] = [await generateEd25519('x'), await generateEd25519('x')];
    assert.notEqual(a.publicKey, b.publicKey);
    assert.notEqual(a.privateKey, b.privateKey);
    await assert.rejects(generateEd25519('a\nb'), /one line/);
  });

  it('the keys module imports nothing from node:* (the Worker entry reuses it)', () => {
    const dir = new URL('.', import.meta.url);
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))) {
      const source = readFileSync(new URL(file, dir), 'utf8');
      assert.doesNotMatch(source, /from ['"](node:|fs|path|crypto|os|child_process|buffer)/, file);
      assert.doesNotMatch(source, /\bBuffer\b|\bprocess\./, file);
    }
  });
});

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readCertificate } from '../keys/certificate.ts';
import { tempDir } from '../testing/tmp.ts';
import { loadServeSettings } from './load-config.ts';
import { scrub } from './redaction.ts';
import { sshCaConfig } from './ssh-ca.ts';
import { harness, onTarget, type Harness } from './testkit.ts';

/**
 * `POST /v1/leases/:ref/certificate` (docs/ssh-ca.md): what the coordinator's user CA signs, for whom, and what it never
 * shows. Runs on Node and, through worker-target/ssh-ca.test.ts, in workerd over Durable Object SQLite.
 */

const dir = tempDir('crabbox-ssh-ca-');
const keygen = (name: string, extra: string[] = []): { file: string; pem: string; publicKey: string } => {
  const file = join(dir.path, name);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', name, '-f', file, ...extra]);
  return { file, pem: readFileSync(file, 'utf8'), publicKey: readFileSync(`${file}.pub`, 'utf8').trim() };
};
const ca = keygen('ca');
const next = keygen('ca-next');
const client = keygen('client');
/** The key's secret part as it would leak: the PEM body lines. */
const secretLines = ca.pem.split('\n').filter((l) => l && !l.startsWith('-----'));

describe(onTarget('the coordinator SSH user CA'), () => {
  let h: Harness;
  let alice: string;
  let bob: string;
  before(async () => {
    h = await harness({ config: { sshCa: sshCaConfig(ca.pem, next.publicKey) } });
    alice = await h.userToken('alice');
    bob = await h.userToken('bob');
  });
  after(async () => {
    await h.close();
    dir.remove();
  });

  const lease = async (body: Record<string, unknown> = {}) =>
    (await h.request('POST', '/v1/leases', { token: alice, body: { sshPublicKey: client.publicKey, ttlSeconds: 7200, idleTimeoutSeconds: 1800, ...body } })).json.lease;
  const certify = (id: string, body: Record<string, unknown> = {}, token = alice, source?: string) =>
    source
      ? h.fetch(`/v1/leases/${id}/certificate`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ sshPublicKey: client.publicKey, ...body }) }, { source })
          .then(async (r) => ({ status: r.status, json: await r.json() as any }))
      : h.request('POST', `/v1/leases/${id}/certificate`, { token, body: { sshPublicKey: client.publicKey, ...body } });

  it("signs the lease's key: key id = lease id, principal = the lease user, from a minute ago to the lease's expiry, pty only", async () => {
    const l = await lease();
    const res = await certify(l.id);
    assert.equal(res.status, 200, JSON.stringify(res.json));
    const now = Math.floor(h.clock.now() / 1000);
    const fields = readCertificate(res.json.certificate);
    assert.equal(fields.keyId, l.id);
    assert.deepEqual(fields.principals, [`cbx-${l.id.slice(4)}`]);
    assert.equal(fields.validAfter, now - 60);
    assert.equal(fields.validBefore, Date.parse(l.expiresAt) / 1000, 'until the lease expires (its idle deadline here)');
    assert.deepEqual(fields.extensions, ['permit-pty']);
    assert.equal(fields.caPublicKey, ca.publicKey.split(' ').slice(0, 2).join(' '));
    assert.deepEqual(res.json.caPublicKeys, [ca.publicKey, next.publicKey].map((k) => k.split(' ').slice(0, 2).join(' ')));
    assert.equal(res.json.validBefore, l.expiresAt);
    // ssh-keygen parses it, which checks the CA's signature over it.
    const file = join(dir.path, 'client-cert.pub');
    writeFileSync(file, `${res.json.certificate}\n`);
    const shown = execFileSync('ssh-keygen', ['-L', '-f', file], { encoding: 'utf8' });
    assert.match(shown, /user certificate/);
    assert.match(shown, new RegExp(`Key ID: "${l.id}"`));
  });

  it('forwarding extensions only when asked; source-address from the caller when known', async () => {
    const l = await lease();
    const asked = await certify(l.id, { forwarding: ['agent', 'port'], callerCidr: '198.51.100.7/32' });
    const fields = readCertificate(asked.json.certificate);
    assert.deepEqual(fields.extensions, ['permit-agent-forwarding', 'permit-port-forwarding', 'permit-pty']);
    assert.deepEqual(fields.criticalOptions, { 'source-address': '198.51.100.7/32' });
    const fromPeer = await certify(l.id, {}, alice, '203.0.113.9');
    assert.equal(fromPeer.status, 200, JSON.stringify(fromPeer.json));
    assert.deepEqual(readCertificate(fromPeer.json.certificate).criticalOptions, { 'source-address': '203.0.113.9/32' });
    assert.equal(fromPeer.json.sourceAddress, '203.0.113.9/32');
  });

  it('after a heartbeat the new certificate runs to the new expiry, never past the TTL cap', async () => {
    const l = await lease({ ttlSeconds: 3600, idleTimeoutSeconds: 2400 });
    assert.equal(readCertificate((await certify(l.id)).json.certificate).validBefore, Date.parse(l.createdAt) / 1000 + 2400);
    h.clock.advance(2000_000);
    const touched = (await h.request('POST', `/v1/leases/${l.id}/heartbeat`, { token: alice, body: {} })).json.lease;
    const again = readCertificate((await certify(l.id)).json.certificate);
    assert.equal(again.validBefore, Date.parse(touched.expiresAt) / 1000);
    assert.equal(again.validBefore, Date.parse(l.createdAt) / 1000 + 3600, 'capped by the TTL');
  });

  it('is an audit event (lease.certificate) that carries no key material', async () => {
    const l = await lease();
    await certify(l.id);
    const events = (await h.store.listEvents({ leaseId: l.id, type: 'lease.certificate', limit: 10 })).items;
    assert.equal(events.length, 1);
    assert.equal(events[0]!.actor, 'alice@example.com');
    assert.deepEqual(events[0]!.data?.principals, [`cbx-${l.id.slice(4)}`]);
    const text = JSON.stringify(events);
    for (const line of secretLines) assert.ok(!text.includes(line), 'no line of the CA key in the event');
  });

  it("another owner's lease is not found; an ended lease is refused; a bad key is one line", async () => {
    const l = await lease();
    const other = await certify(l.id, {}, bob);
    assert.equal(other.status, 404);
    const rsa = await certify(l.id, { sshPublicKey: `ssh-rsa ${'A'.repeat(40)} x` });
    assert.equal(rsa.status, 400);
    assert.match(rsa.json.message, /ssh-ed25519 keys only/);
    const priv = await certify(l.id, { sshPublicKey: ca.pem });
    assert.equal(priv.status, 400);
    assert.doesNotMatch(JSON.stringify(priv.json), new RegExp(secretLines[1]!.replace(/[+/]/g, '.')));
    await h.request('POST', `/v1/leases/${l.id}/release`, { token: alice });
    const ended = await certify(l.id);
    assert.equal(ended.status, 409);
    assert.match(ended.json.message, /released/);
  });

  it('the signing key is a secret: redacted, refused from a file others can read, and never echoed in a config error', () => {
    assert.equal(scrub(h.config, `leaked ${ca.pem} here`).includes(secretLines[0]!), false);
    const open = join(dir.path, 'open-ca');
    writeFileSync(open, ca.pem);
    chmodSync(open, 0o644);
    assert.throws(() => loadServeSettings({ CRABBOX_SSH_CA_KEY_FILE: open }), /readable by others/);
    chmodSync(open, 0o600);
    assert.deepEqual(loadServeSettings({ CRABBOX_SSH_CA_KEY_FILE: open }).config.sshCa?.publicKeys, [ca.publicKey.split(' ').slice(0, 2).join(' ')]);
    const locked = keygen('locked', ['-N', 'passphrase']);
    assert.throws(() => sshCaConfig(locked.pem, undefined), (error: Error) => /passphrase-protected/.test(error.message) && !error.message.includes(locked.pem.split('\n')[1]!));
    assert.throws(() => sshCaConfig('-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----', undefined), /CRABBOX_SSH_CA_KEY: the OpenSSH private key is truncated or corrupt/);
    assert.throws(() => sshCaConfig(undefined, next.publicKey), /needs the CA signing key/);
  });
});

describe(onTarget('a coordinator without an SSH CA'), () => {
  it('answers 404 with a one-line reason; leases keep their per-lease keys', async () => {
    await using h = await harness();
    const token = await h.userToken('alice');
    const l = (await h.request('POST', '/v1/leases', { token, body: { sshPublicKey: client.publicKey } })).json.lease;
    const res = await h.request('POST', `/v1/leases/${l.id}/certificate`, { token, body: { sshPublicKey: client.publicKey } });
    assert.equal(res.status, 404);
    assert.match(res.json.message, /no SSH certificate authority/);
  });
});

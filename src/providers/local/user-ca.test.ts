import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { generateHostKey } from '../../coordinator/host-key.ts';
import { isCrabboxError } from '../../domain/errors.ts';
import { machineLabels } from '../../domain/labels.ts';
import { loadCertificateAuthority, signUserCertificate, type CertificateAuthority } from '../../keys/certificate.ts';
import { createLocalMachineAccess } from '../../machine-access/local.ts';
import { sshCapture, writeKnownHosts, type SshTarget } from '../../ssh/index.ts';
import { testBoxesRoot } from '../../testing/boxes-root.ts';
import { requireCommands, requireRoot } from '../../testing/requires.ts';
import { tempDir } from '../../testing/tmp.ts';
import type { Machine } from '../provider.ts';
import { leaseUserName } from './layout.ts';
import { createLocalProvider } from './local-provider.ts';
import { revokeCertificates } from './user-ca.ts';

/**
 * Real OpenSSH (the system's sshd and ssh) against local boxes that trust a user CA (docs/ssh-ca.md): certificates
 * signed by src/keys/certificate.ts log in only as their own lease, only while valid, only from a trusted CA, and not
 * once their lease id is in the box's KRL.
 */

requireRoot('lease users and a box sshd serving several of them');
requireCommands('sshd', 'ssh', 'ssh-keygen');

const NOW = Math.floor(Date.now() / 1000); // the signer's clock: certificates are judged by sshd's real one
let n = 0;
const hex = (): string => `${process.pid.toString(16).padStart(6, '0').slice(-6)}${(0xca0000 + ++n).toString(16).slice(-6)}`;

/** A CA made by ssh-keygen (the operator's way), loaded from its 0600 file as the coordinator does. */
function makeCa(dir: string, name: string): Promise<CertificateAuthority> {
  const file = join(dir, name);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', name, '-f', file]);
  return loadCertificateAuthority(readFileSync(file, 'utf8'));
}

/** A lease's client key in `dir` (as the CLI keeps it). */
function clientKey(dir: string, name: string): { identity: string; publicKey: string; certificate: string } {
  const identity = join(dir, name);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', name, '-f', identity]);
  return { identity, publicKey: readFileSync(`${identity}.pub`, 'utf8').trim(), certificate: `${identity}-cert.pub` };
}

async function certify(ca: CertificateAuthority, key: { publicKey: string; certificate: string }, leaseId: string, over: { validAfter?: number; validBefore?: number; sourceAddress?: string } = {}): Promise<void> {
  const line = await signUserCertificate(ca, {
    publicKey: key.publicKey, keyId: leaseId, principals: [leaseUserName(leaseId)], serial: n,
    validAfter: over.validAfter ?? NOW - 60, validBefore: over.validBefore ?? NOW + 3600, sourceAddress: over.sourceAddress,
  });
  writeFileSync(key.certificate, `${line}\n`, { mode: 0o600 });
}

/** Runs `true` on the box as `user` with the key (and its certificate when the file exists); 255 when refused. */
async function login(box: { host: string; ports: number[]; hostKey: string }, dir: string, user: string, key: { identity: string; certificate: string }, withCert = true): Promise<{ status: number; stdout: string; stderr: string }> {
  const knownHostsFile = join(dir, `known_hosts_${box.ports[0]}`);
  await writeKnownHosts(knownHostsFile, box.host, box.ports, box.hostKey);
  // IdentitiesOnly loads `<identity>-cert.pub` anyway; a test of the plain key copies the key where no cert lies beside it.
  const target: SshTarget = { host: box.host, ports: box.ports, user, identityFile: key.identity, ...(withCert ? { certificateFile: key.certificate } : {}), knownHostsFile, controlPath: 'none', connectTimeoutSeconds: 10, oneShot: true };
  try {
    const r = await sshCapture(target, 'id -un');
    return { status: r.exitCode, stdout: r.stdout.trim(), stderr: r.stderr };
  } catch (error) {
    if (isCrabboxError(error)) return { status: 255, stdout: '', stderr: error.message };
    throw error;
  }
}

describe('local boxes with a user CA, with the real sshd and ssh', () => {
  const state = tempDir('crabbox-userca-state-');
  const boxes = testBoxesRoot();
  const keys = mkdtempSync('/var/tmp/crabbox-userca-keys-');
  const provider = createLocalProvider({ stateDir: state.path, boxesRoot: boxes.path });
  const made: string[] = [];
  let ca: CertificateAuthority;
  let next: CertificateAuthority;
  let stranger: CertificateAuthority;

  before(async () => {
    ca = await makeCa(keys, 'ca');
    next = await makeCa(keys, 'ca-next');
    stranger = await makeCa(keys, 'other-ca');
  });
  after(async () => {
    for (const id of made) await provider.delete(id).catch(() => undefined);
    rmSync(keys, { recursive: true, force: true });
    boxes.remove();
    state.remove();
  });

  async function coldBox(): Promise<Machine & { leaseId: string }> {
    const leaseId = `cbx_${hex()}`;
    const machine = await provider.create({
      leaseId, slug: 'ca-test', labels: machineLabels({ machineId: `mch_${leaseId.slice(4)}`, installation: 'test', createdAt: NOW * 1000 }),
      sshPublicKey: clientKey(keys, `plain-${leaseId}`).publicKey, hostKey: await generateHostKey(leaseId),
      userCa: { publicKeys: [ca.publicKey, next.publicKey], principal: leaseUserName(leaseId) },
    });
    made.push(leaseId);
    return { ...machine, leaseId };
  }

  it("a lease's certificate logs in as its own user; lease A's certificate cannot log in as lease B's user", async () => {
    const [a, b] = [await coldBox(), await coldBox()];
    const keyA = clientKey(keys, `a-${a.leaseId}`);
    await certify(ca, keyA, a.leaseId);
    const own = await login(a, keys, a.sshUser, keyA);
    assert.equal(own.status, 0, own.stderr);
    assert.equal(own.stdout, leaseUserName(a.leaseId));
    const cross = await login(b, keys, b.sshUser, keyA);
    assert.equal(cross.status, 255, 'A\'s certificate names A\'s principal, which B\'s box does not list');
  });

  it('the plain lease key is refused: the box takes certificates only', async () => {
    const a = await coldBox();
    const key = clientKey(keys, `nocert-${a.leaseId}`);
    // Installed as the box's key would be without a CA, and still refused.
    writeFileSync(join(boxes.path, a.leaseId, 'authorized_keys'), `${key.publicKey}\n`);
    assert.equal((await login(a, keys, a.sshUser, key, false)).status, 255);
  });

  it('an expired certificate is refused, one not yet valid too', async () => {
    const a = await coldBox();
    const key = clientKey(keys, `exp-${a.leaseId}`);
    await certify(ca, key, a.leaseId, { validAfter: NOW - 7200, validBefore: NOW - 60 });
    assert.equal((await login(a, keys, a.sshUser, key)).status, 255, 'expired');
    await certify(ca, key, a.leaseId, { validAfter: NOW + 600, validBefore: NOW + 7200 });
    assert.equal((await login(a, keys, a.sshUser, key)).status, 255, 'not yet valid');
    await certify(ca, key, a.leaseId);
    assert.equal((await login(a, keys, a.sshUser, key)).status, 0, 'the same key with a current certificate');
  });

  it("a certificate from another CA is refused; the second trusted key (a rotation) is accepted", async () => {
    const a = await coldBox();
    const key = clientKey(keys, `ca2-${a.leaseId}`);
    await certify(stranger, key, a.leaseId);
    assert.equal((await login(a, keys, a.sshUser, key)).status, 255, 'another CA');
    await certify(next, key, a.leaseId);
    assert.equal((await login(a, keys, a.sshUser, key)).status, 0, 'the next CA during a rotation');
  });

  it('source-address: a certificate for another network is refused, one for loopback accepted', async () => {
    const a = await coldBox();
    const key = clientKey(keys, `src-${a.leaseId}`);
    await certify(ca, key, a.leaseId, { sourceAddress: '203.0.113.0/24' });
    assert.equal((await login(a, keys, a.sshUser, key)).status, 255);
    await certify(ca, key, a.leaseId, { sourceAddress: '127.0.0.1/32' });
    assert.equal((await login(a, keys, a.sshUser, key)).status, 0);
  });

  it('a pool box: each lease logs in only as its own user, and a revoked lease is refused by the KRL before its certificate expires', async () => {
    const boxId = `cbx_${hex()}`;
    const box = await provider.create({
      leaseId: boxId, slug: 'ca-pool', labels: machineLabels({ machineId: `mch_${boxId.slice(4)}`, installation: 'test', createdAt: NOW * 1000 }),
      sshPublicKey: '', hostKey: await generateHostKey(boxId), shared: true, userCa: { publicKeys: [ca.publicKey] },
    });
    made.push(boxId);
    const access = createLocalMachineAccess({ stateDir: state.path, boxesRoot: boxes.path });
    const target = { id: `mch_${boxId.slice(4)}`, provider: 'local', providerId: boxId, host: box.host, ports: box.ports, hostKey: box.hostKey };
    const [a, b] = [`cbx_${hex()}`, `cbx_${hex()}`];
    const [keyA, keyB] = [clientKey(keys, `pa-${a}`), clientKey(keys, `pb-${b}`)];
    await certify(ca, keyA, a);
    await certify(ca, keyB, b);
    try {
      for (const [id, key] of [[a, keyA], [b, keyB]] as const) await access.grant(target, { leaseId: id, user: leaseUserName(id), publicKey: key.publicKey, principal: leaseUserName(id) });
      assert.equal((await login(box, keys, leaseUserName(a), keyA)).stdout, leaseUserName(a));
      assert.equal((await login(box, keys, leaseUserName(b), keyB)).stdout, leaseUserName(b));
      assert.equal((await login(box, keys, leaseUserName(b), keyA)).status, 255, "A's certificate as B's user");
      // The KRL alone: B's principal is still listed, its certificate still valid for an hour.
      await revokeCertificates(join(state.path, 'local', boxId), [b]);
      const revoked = await login(box, keys, leaseUserName(b), keyB);
      assert.equal(revoked.status, 255, 'a revoked lease id');
      assert.equal((await login(box, keys, leaseUserName(a), keyA)).status, 0, 'the other lease is untouched');
      // What a release does: revoke (principal emptied, id in the KRL), then A is refused too.
      await access.revoke(target, leaseUserName(a));
      assert.equal((await login(box, keys, leaseUserName(a), keyA)).status, 255, 'released');
      const listed = execFileSync('ssh-keygen', ['-Q', '-l', '-f', join(state.path, 'local', boxId, 'revoked_keys')], { encoding: 'utf8' });
      assert.match(listed, new RegExp(`id: ${a}`));
      assert.match(listed, new RegExp(`id: ${b}`));
    } finally {
      for (const id of [a, b]) await access.scrub(target, leaseUserName(id)).catch(() => undefined);
    }
  });
});

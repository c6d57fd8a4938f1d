import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { CoordinatorClient } from '../api/client.ts';
import { sshCaConfig } from '../coordinator/ssh-ca.ts';
import { harness, type Harness } from '../coordinator/testkit.ts';
import { ManualClock } from '../domain/clock.ts';
import { readCertificate } from '../keys/certificate.ts';
import { createLocalProvider } from '../providers/local/local-provider.ts';
import { sshCapture, type SshTarget } from '../ssh/index.ts';
import { testBoxesRoot } from '../testing/boxes-root.ts';
import { requireCommands, requireRoot } from '../testing/requires.ts';
import { tempDir } from '../testing/tmp.ts';
import { createBrokeredLeaseService } from './brokered.ts';
import { CERTIFICATE_REFRESH_MS } from './certificate-cache.ts';

/**
 * Brokered mode with the coordinator's SSH CA, end to end on this computer: an in-process coordinator (real SQLite)
 * makes `local` boxes (real sshd, a Unix user per lease) that take certificates only; the CLI's lease service asks for
 * the certificate, keeps it beside the lease key and logs in with it through real ssh.
 */

requireRoot('local boxes with a Unix user per lease');
requireCommands('sshd', 'ssh', 'ssh-keygen');

const dir = tempDir('crabbox-brokered-ca-');
const boxes = testBoxesRoot();
after(() => {
  boxes.remove();
  dir.remove();
});
execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'test-ca', '-f', join(dir.path, 'ca')]);
const CA = readFileSync(join(dir.path, 'ca'), 'utf8');

/** One ssh login through the lease's target; a single attempt, so a refusal shows at once. */
async function loginOnce(target: SshTarget): Promise<string> {
  const r = await sshCapture({ ...target, oneShot: true }, 'id -un');
  if (r.exitCode !== 0) throw new Error(`ssh exited ${r.exitCode}: ${r.stderr.trim()}`);
  return r.stdout.trim();
}

async function setup(name: string, clock: ManualClock): Promise<{ h: Harness; stateDir: string; leases: ReturnType<typeof createBrokeredLeaseService>; logins: string[] }> {
  const stateDir = join(dir.path, name);
  const local = createLocalProvider({ stateDir: join(dir.path, `${name}-coordinator`), boxesRoot: boxes.path });
  const h = await harness({ target: 'node', clock, providers: { local }, config: { defaultProvider: 'local', sshCa: sshCaConfig(CA, undefined) } });
  const token = await h.userToken(name);
  const client = new CoordinatorClient({ url: 'http://coordinator.test', token, tokenKind: 'user', fetch: (input, init) => Promise.resolve(h.app.fetch(new Request(input as string, init))) });
  const logins: string[] = [];
  const leases = createBrokeredLeaseService({
    client, stateDir, clock, connectTimeoutSeconds: 10, defaults: { ttlSeconds: 3600, idleTimeoutSeconds: 1800, keep: false },
    waitReady: async (target) => logins.push(await loginOnce(target)),
  });
  return { h, stateDir, leases, logins };
}

const certificateEvents = async (h: Harness, leaseId: string): Promise<number> => (await h.store.listEvents({ leaseId, type: 'lease.certificate', limit: 50 })).items.length;

describe('brokered mode with the coordinator SSH CA (real sshd and ssh)', () => {
  it('the CLI logs in with the certificate (the box has no authorized key), keeps it for the lease and asks again only when it would run out', async () => {
    const clock = new ManualClock(Date.now());
    const { h, stateDir, leases, logins } = await setup('alice', clock);
    try {
      const { lease, target } = await leases.create({});
      const keyDir = join(stateDir, 'leases', lease.id);
      assert.equal(target.certificateFile, join(keyDir, 'id_ed25519-cert.pub'));
      assert.deepEqual(logins, [`cbx-${lease.id.slice(4)}`], 'logged in as the lease user with the certificate');
      const box = readFileSync(join(dir.path, 'alice-coordinator', 'local', lease.id, 'sshd_config'), 'utf8');
      assert.match(box, /^AuthorizedKeysFile none$/m);
      assert.match(box, /^TrustedUserCAKeys /m);
      const cert = readCertificate(readFileSync(target.certificateFile!, 'utf8'));
      assert.equal(cert.keyId, lease.id);
      assert.equal(cert.validBefore, Math.floor(lease.expiresAt / 1000));
      // Without the certificate the same key is refused: the box trusts the CA, not the key.
      // ssh loads <identity>-cert.pub by itself, so the certificate is moved away to try the bare key.
      execFileSync('mv', [target.certificateFile!, `${target.certificateFile!}.away`]);
      try {
        await assert.rejects(loginOnce({ ...target, certificateFile: undefined }), /refused the lease key/);
      } finally {
        execFileSync('mv', [`${target.certificateFile!}.away`, target.certificateFile!]);
      }
      assert.equal(await certificateEvents(h, lease.id), 1);
      // A heartbeat with plenty of certificate left asks for nothing (the warm rerun path).
      clock.advance(60_000);
      await leases.touch(lease.id);
      assert.equal(await certificateEvents(h, lease.id), 1, 'cached');
      // Near the certificate's end, a heartbeat that moved the lease's expiry gets a new one.
      clock.advance(1800_000 - 60_000 - CERTIFICATE_REFRESH_MS + 1000);
      const touched = await leases.touch(lease.id);
      assert.equal(await certificateEvents(h, lease.id), 2, 'renewed');
      assert.equal(readCertificate(readFileSync(target.certificateFile!, 'utf8')).validBefore, Math.floor(touched.expiresAt / 1000));
      await leases.release(lease.id);
      assert.equal(existsSync(keyDir), false, 'key and certificate removed with the lease');
      const errors = (await h.store.listEvents({ type: 'provider.error', limit: 10 })).items.map((e) => e.data);
      assert.deepEqual(errors, []);
      assert.equal(existsSync(join(dir.path, 'alice-coordinator', 'local', lease.id)), false, 'the box is gone');
    } finally {
      for (const l of await leases.list().catch(() => [])) await leases.release(l.id).catch(() => undefined);
      await h.close();
    }
  });

  it('a certificate the coordinator signed with its clock two hours behind (already expired) is refused by the box', async () => {
    const clock = new ManualClock(Date.now() - 2 * 3600_000);
    const { h, stateDir, leases } = await setup('bob', clock);
    try {
      await assert.rejects(leases.create({}), /refused the lease key/);
      const { json } = await h.request('GET', '/v1/admin/leases?state=all', { token: await h.userToken('root') });
      assert.deepEqual(json.leases.map((l: { state: string }) => l.state), ['released'], 'the failed create released its lease');
      assert.equal(existsSync(join(stateDir, 'leases')), true);
    } finally {
      for (const l of await leases.list().catch(() => [])) await leases.release(l.id).catch(() => undefined);
      await h.close();
    }
  });
});

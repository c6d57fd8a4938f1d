import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { CoordinatorClient } from '../api/client.ts';
import { sshHostCaConfig } from '../coordinator/host-ca.ts';
import { loadServeSettings } from '../coordinator/load-config.ts';
import { scrub } from '../coordinator/redaction.ts';
import { reconcilePool } from '../coordinator/pool/reconcile.ts';
import { poolConfig } from '../coordinator/pool/config.ts';
import { sshCaConfig } from '../coordinator/ssh-ca.ts';
import { harness, type Harness } from '../coordinator/testkit.ts';
import { ManualClock } from '../domain/clock.ts';
import { isCrabboxError } from '../domain/errors.ts';
import { generateEd25519 } from '../keys/ed25519.ts';
import { loadCertificateAuthority, readCertificate, signHostCertificate } from '../keys/certificate.ts';
import { createLocalMachineAccess } from '../machine-access/local.ts';
import { createLocalProvider } from '../providers/local/local-provider.ts';
import { connect, sshCapture, type SshTarget } from '../ssh/index.ts';
import { privateDir } from '../ssh/keys.ts';
import { testBoxesRoot } from '../testing/boxes-root.ts';
import { requireCommands, requireRoot } from '../testing/requires.ts';
import { tempDir } from '../testing/tmp.ts';
import { createBrokeredLeaseService } from './brokered.ts';

/**
 * Host certificates end to end on this computer (docs/ssh-ca.md, "Host certificates"): an in-process coordinator
 * with a user CA and a host CA makes `local` boxes (real sshd) that present a host certificate; the CLI's lease
 * service writes a known_hosts that trusts only the host CA for the box's address and logs in through real ssh,
 * on a cold box and on a warm pool box reused by two leases; impostor boxes are refused with one line.
 */

requireRoot('local boxes with a Unix user per lease, and a local warm pool');
requireCommands('sshd', 'ssh', 'ssh-keygen');

const dir = tempDir('crabbox-host-ca-');
const boxes = testBoxesRoot();
after(() => {
  boxes.remove();
  dir.remove();
});
const keygen = (name: string): string => {
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', name, '-f', join(dir.path, name)]);
  return readFileSync(join(dir.path, name), 'utf8');
};
const USER_CA = keygen('user-ca');
const HOST_CA = keygen('host-ca');
const OTHER_CA = keygen('other-ca');
const hostCaPublic = (): string => readFileSync(join(dir.path, 'host-ca.pub'), 'utf8').trim().split(/\s+/).slice(0, 2).join(' ');

async function loginOnce(target: SshTarget): Promise<string> {
  const r = await sshCapture({ ...target, oneShot: true }, 'id -un');
  if (r.exitCode !== 0) throw new Error(`ssh exited ${r.exitCode}: ${r.stderr.trim()}`);
  return r.stdout.trim();
}

interface Setup {
  h: Harness;
  stateDir: string;
  coordinatorState: string;
  leases: ReturnType<typeof createBrokeredLeaseService>;
}

async function setup(name: string, pooled = false): Promise<Setup> {
  const stateDir = join(dir.path, name);
  const coordinatorState = join(dir.path, `${name}-coordinator`);
  const clock = new ManualClock(Date.now());
  const local = createLocalProvider({ stateDir: coordinatorState, boxesRoot: boxes.path });
  const sshCa = sshCaConfig(USER_CA, undefined);
  const pools = pooled ? [poolConfig({ name: 'warm', provider: 'local', min: 1, max: 1, users: true })] : [];
  const h = await harness({ target: 'node', clock, providers: { local }, config: { defaultProvider: 'local', sshCa, sshHostCa: sshHostCaConfig(HOST_CA, sshCa), pools } });
  if (pooled) h.deps.access = { local: createLocalMachineAccess({ stateDir: coordinatorState, boxesRoot: boxes.path, clock }) };
  const token = await h.userToken(name);
  const client = new CoordinatorClient({ url: 'http://coordinator.test', token, tokenKind: 'user', fetch: (input, init) => Promise.resolve(h.app.fetch(new Request(input as string, init))) });
  const leases = createBrokeredLeaseService({
    client, stateDir, clock, connectTimeoutSeconds: 10, defaults: { ttlSeconds: 3600, idleTimeoutSeconds: 1800, keep: false, ...(pooled ? { pool: true as const } : {}) },
    waitReady: async (target) => void (await loginOnce(target)),
  });
  return { h, stateDir, coordinatorState, leases };
}

async function cleanup(s: Setup): Promise<void> {
  for (const l of await s.leases.list().catch(() => [])) await s.leases.release(l.id).catch(() => undefined);
  const local = createLocalProvider({ stateDir: s.coordinatorState, boxesRoot: boxes.path });
  for (const m of await local.list({})) await local.delete(m.providerId).catch(() => undefined);
  await s.h.close();
}

/**
 * A `local` box the coordinator did not make, presenting a host certificate from `sign(hostPublicKey, principals)`, or
 * none. Its provider state dir is its own, so it is apart from every lease.
 */
async function impostor(name: string, sign?: (hostPublicKey: string, principals: string[]) => Promise<string>): Promise<{ port: number; remove(): Promise<unknown> }> {
  const local = createLocalProvider({ stateDir: join(dir.path, `impostor-${name}`), boxesRoot: boxes.path });
  const hostKey = await generateEd25519(`impostor-${name}`);
  const leaseId = `cbx_${Buffer.from(name.slice(0, 6)).toString('hex').padEnd(12, '0')}`;
  const machine = await local.create({
    leaseId, slug: name, labels: {}, sshPublicKey: (await generateEd25519('user')).publicKey, hostKey,
    ...(sign ? { signHostKey: (principals: string[]) => sign(hostKey.publicKey, principals) } : {}),
  });
  return { port: machine.ports[0]!, remove: () => local.delete(leaseId) };
}

describe('host certificates from the coordinator host CA (real sshd and ssh)', () => {
  it('signs an OpenSSH host certificate that ssh-keygen reads back: host type, principals, key id, validity', async () => {
    const host = await generateEd25519('a-host');
    const line = await signHostCertificate(await loadCertificateAuthority(HOST_CA), { publicKey: host.publicKey, keyId: 'mch_0123456789ab', principals: ['127.0.0.1', 'localhost'], validAfter: 1_800_000_000, validBefore: 1_800_003_600, serial: 7 });
    const file = join(dir.path, 'host-cert.pub');
    writeFileSync(file, `${line}\n`);
    const listed = execFileSync('ssh-keygen', ['-L', '-f', file], { encoding: 'utf8' });
    assert.match(listed, /Type: ssh-ed25519-cert-v01@openssh.com host certificate/);
    assert.match(listed, /Key ID: "mch_0123456789ab"/);
    assert.match(listed, /Serial: 7/);
    assert.match(listed, /Principals: \n\s+127\.0\.0\.1\n\s+localhost\n/);
    assert.match(listed, /Critical Options: \(none\)/);
    assert.match(listed, /Extensions: \(none\)/);
    const fields = readCertificate(line);
    assert.equal(fields.type, 'host');
    assert.equal(fields.publicKey, host.publicKey.split(' ').slice(0, 2).join(' '));
    assert.equal(fields.caPublicKey, hostCaPublic());
  });

  it('refuses a host CA key that is the user CA key, or not a key, in one line that never quotes it', () => {
    const sshCa = sshCaConfig(USER_CA, undefined);
    assert.throws(() => sshHostCaConfig(USER_CA, sshCa), (e: unknown) => isCrabboxError(e) && e.code === 'invalid_config' && /the host CA must be a key of its own/.test(e.message) && !e.message.includes('OPENSSH'));
    assert.throws(() => sshHostCaConfig('garbage', sshCa), (e: unknown) => isCrabboxError(e) && e.code === 'invalid_config' && /^CRABBOX_SSH_HOST_CA_KEY: not an OpenSSH private key/.test(e.message));
    assert.equal(sshHostCaConfig(undefined, sshCa), undefined, 'no key, no host CA: host keys are pinned');
  });

  it('loads the host CA from CRABBOX_SSH_HOST_CA_KEY_FILE (0600 only) and scrubs the key like the user CA key', () => {
    const file = join(dir.path, 'host-ca');
    chmodSync(file, 0o644);
    assert.throws(() => loadServeSettings({ CRABBOX_SSH_HOST_CA_KEY_FILE: file }), /CRABBOX_SSH_HOST_CA_KEY_FILE .* is readable by others/);
    chmodSync(file, 0o600);
    const config = loadServeSettings({ CRABBOX_SSH_HOST_CA_KEY_FILE: file }).config;
    assert.equal(config.sshHostCa?.publicKey, hostCaPublic());
    const secretLine = HOST_CA.split('\n')[1]!;
    assert.equal(scrub({ ...config, installation: 'test' }, `oops ${HOST_CA}`).includes(secretLine), false);
  });

  it('a cold box presents its certificate; the CLI trusts only the host CA for its address and logs in; impostors are refused', async () => {
    const s = await setup('cold');
    const impostors: { remove(): Promise<unknown> }[] = [];
    try {
      const { lease, target } = await s.leases.create({});
      const { json } = await s.h.request('GET', `/v1/leases/${lease.id}`, { token: await s.h.userToken('cold') });
      assert.equal(json.lease.machine.hostCa, hostCaPublic(), 'the answer names the host CA');
      assert.match(json.lease.machine.hostKey, /^ssh-ed25519 /, 'and the plain host key, for older clients');
      const port = target.ports[0]!;
      const knownHosts = readFileSync(target.knownHostsFile, 'utf8');
      assert.equal(knownHosts, `@cert-authority [127.0.0.1]:${port} ${hostCaPublic()}\n`, 'no pinned key, only the host CA for this address');
      assert.match(readFileSync(join(s.coordinatorState, 'local', lease.id, 'sshd_config'), 'utf8'), /^HostCertificate \S+-cert\.pub$/m);
      assert.equal(await loginOnce(target), `cbx-${lease.id.slice(4)}`);

      const other = await loadCertificateAuthority(OTHER_CA);
      const mine = await loadCertificateAuthority(HOST_CA);
      const forever = { keyId: 'impostor', validAfter: 0, validBefore: 4_000_000_000, serial: 1 };
      const cases: [string, ((hostPublicKey: string, principals: string[]) => Promise<string>) | undefined][] = [
        ['otherca', (publicKey, principals) => signHostCertificate(other, { ...forever, publicKey, principals })],
        ['unsigned', undefined],
        ['elsewhere', (publicKey) => signHostCertificate(mine, { ...forever, publicKey, principals: ['192.0.2.7'] })],
      ];
      for (const [name, sign] of cases) {
        const box = await impostor(name, sign);
        impostors.push(box);
        const controlDir = join(dir.path, `ctl-${name}`);
        await privateDir(controlDir);
        // The lease's own known_hosts, pointed at the impostor's port: what a CLI sees when something else answers.
        writeFileSync(target.knownHostsFile, `@cert-authority [127.0.0.1]:${box.port} ${hostCaPublic()}\n`);
        await assert.rejects(connect({ ...target, ports: [box.port], controlPath: join(controlDir, 's') }), (e: unknown) => {
          assert.ok(isCrabboxError(e) && e.code === 'host_key_mismatch', `${name}: ${String(e)}`);
          assert.equal(e.message, `host 127.0.0.1:${box.port} presented no host certificate from this installation's host CA; refusing to connect`);
          return true;
        });
      }
      await s.leases.release(lease.id);
    } finally {
      for (const box of impostors) await box.remove().catch(() => undefined);
      await cleanup(s);
    }
  });

  it('a warm pool box serves two leases one after another, each verified by the host CA without pinning its key', async () => {
    const s = await setup('pool', true);
    try {
      await reconcilePool(s.h.deps);
      const [made] = (await s.h.store.listMachines({ limit: 10 })).items;
      assert.equal(made?.state, 'idle');
      assert.equal(readCertificate(made.hostKey!).type, 'host', 'the machine record keeps the host certificate');
      assert.deepEqual(readCertificate(made.hostKey!).principals, ['127.0.0.1', 'localhost']);
      const ids: string[] = [];
      for (let i = 0; i < 2; i++) {
        const { lease, target } = await s.leases.create({});
        ids.push(lease.id);
        const { json } = await s.h.request('GET', `/v1/leases/${lease.id}`, { token: await s.h.userToken('pool') });
        assert.equal(json.lease.machineId, made.id, 'the same pool machine');
        assert.equal(readFileSync(target.knownHostsFile, 'utf8'), `@cert-authority [127.0.0.1]:${target.ports[0]} ${hostCaPublic()}\n`);
        assert.equal(await loginOnce(target), `cbx-${lease.id.slice(4)}`);
        await s.leases.release(lease.id);
        await reconcilePool(s.h.deps);
      }
      assert.notEqual(ids[0], ids[1]);
    } finally {
      await cleanup(s);
    }
  });
});

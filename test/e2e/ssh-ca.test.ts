// SSH certificates end to end (docs/ssh-ca.md): a real coordinator process with an SSH user CA and a host CA, a local
// warm pool of private sshds as root, the real CLI, host certificates trusted through @cert-authority, and a released
// lease's certificate refused by the box's KRL before it expires.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readCertificate } from '../../src/keys/certificate.ts';
import { runBin, type CliResult } from '../../src/testing/cli.ts';
import { initRepo } from '../../src/testing/git.ts';
import { requireRoot } from '../../src/testing/requires.ts';
import { startServe, type ServeProcess } from '../../src/testing/serve.ts';
import { isolatedEnv, tempDir } from '../../src/testing/tmp.ts';
import { removeCoordinatorBoxes } from '../../src/testing/leftovers.ts';

requireRoot('a local warm pool gives each lease its own Unix user');

const SHARED = 'ssh-ca-e2e-shared-token-0123456789';
const tmp = tempDir('crabbox-e2e-ssh-ca-');
const repo = join(tmp.path, 'repo');
const caKey = join(tmp.path, 'ssh-ca');
const hostCaKey = join(tmp.path, 'ssh-host-ca');
const hostCaLine = (): string => readFileSync(`${hostCaKey}.pub`, 'utf8').trim().split(' ').slice(0, 2).join(' ');
let coordinator: ServeProcess;

const configFile = join(tmp.path, 'coordinator.yaml');
writeFileSync(configFile, 'sharedTokenRole: maintainer\nsweepInterval: 2s\npools:\n  local-ca: { provider: local, min: 1, max: 2 }\n');

const userState = join(tmp.path, 'user', 'state', 'crabbox');
function env(): NodeJS.ProcessEnv {
  return isolatedEnv(join(tmp.path, 'user'), { CRABBOX_COORDINATOR: coordinator.url, CRABBOX_COORDINATOR_TOKEN: SHARED, CRABBOX_OWNER: 'keeper@example.com' });
}
const cli = (argv: string[]): Promise<CliResult> => runBin(argv, { env: env(), cwd: repo, timeoutMs: 120_000 });

async function waitIdle(): Promise<void> {
  for (let i = 0; i < 150; i++) {
    const r = await cli(['pool', '--json']);
    if (r.code === 0 && (JSON.parse(r.stdout) as { pools: { machines: { idle: number } }[] }).pools[0]!.machines.idle >= 1) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`the pool never had an idle machine: ${coordinator.stderr()}`);
}

describe('SSH certificates through a real coordinator and the real CLI', () => {
  before(async () => {
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'e2e-ca', '-f', caKey]);
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'e2e-host-ca', '-f', hostCaKey]);
    initRepo(repo, { 'hello.txt': 'hello\n' });
    coordinator = await startServe(
      isolatedEnv(join(tmp.path, 'coord'), { CRABBOX_SHARED_TOKEN: SHARED, CRABBOX_COORDINATOR_CONFIG: configFile, CRABBOX_SSH_CA_KEY_FILE: caKey, CRABBOX_SSH_HOST_CA_KEY_FILE: hostCaKey }),
      ['--db', join(tmp.path, 'coordinator.sqlite'), '--providers', 'local'],
    );
  });

  after(async () => {
    await coordinator?.stop();
    const mine = await removeCoordinatorBoxes(join(tmp.path, 'coord', 'state', 'crabbox', 'coordinator'), tmp.path);
    tmp.remove();
    assert.deepEqual(mine, [], 'no box of this test is left');
  });

  it('a pool lease logs in with its certificate; after stop the same certificate is refused though it has not expired', async () => {
    await waitIdle();
    const warm = await cli(['warmup', '--pool', '--json']);
    assert.equal(warm.code, 0, warm.stderr);
    const lease = JSON.parse(warm.stdout) as { id: string; slug: string; machine: { host: string; ports: number[]; sshUser: string } };
    const keyDir = join(userState, 'leases', lease.id);
    const cert = join(keyDir, 'id_ed25519-cert.pub');
    assert.ok(existsSync(cert), 'the certificate sits beside the lease key');
    const fields = readCertificate(readFileSync(cert, 'utf8'));
    assert.equal(fields.keyId, lease.id);
    assert.deepEqual(fields.principals, [`cbx-${lease.id.slice(4)}`]);
    // The pool machine presents a host certificate: the lease trusts the host CA for its address, no pinned key.
    assert.equal(readFileSync(join(keyDir, 'known_hosts'), 'utf8'), `@cert-authority [127.0.0.1]:${lease.machine.ports[0]} ${hostCaLine()}\n`);
    const who = await cli(['run', '--id', lease.slug, '--no-sync', '--', 'id', '-un']);
    assert.equal(who.code, 0, who.stderr);
    assert.equal(who.stdout.trim(), `cbx-${lease.id.slice(4)}`);
    const events = await cli(['events', '--lease', lease.id, '--json']);
    assert.equal(events.code, 0, events.stderr);
    assert.match(events.stdout, /"lease\.certificate"/);
    assert.doesNotMatch(events.stdout + coordinator.stderr(), /PRIVATE KEY|b3BlbnNzaC1rZXktdjE/, 'no CA key material (user or host CA) in events or the log');

    // Keep a copy of the key and certificate, then release: the box must refuse them at once.
    const keep = mkdtempSync(join(tmp.path, 'kept-'));
    for (const f of ['id_ed25519', 'id_ed25519-cert.pub', 'known_hosts']) copyFileSync(join(keyDir, f), join(keep, f));
    const tryLogin = () => spawnSync('ssh', [
      '-F', '/dev/null', '-o', 'BatchMode=yes', '-o', 'IdentitiesOnly=yes', '-i', join(keep, 'id_ed25519'), '-o', `CertificateFile=${join(keep, 'id_ed25519-cert.pub')}`,
      '-o', `UserKnownHostsFile=${join(keep, 'known_hosts')}`, '-o', 'StrictHostKeyChecking=yes', '-p', String(lease.machine.ports[0]),
      '-l', lease.machine.sshUser, lease.machine.host, 'true',
    ], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(tryLogin().status, 0, 'the copy logs in while the lease is live');
    const stop = await cli(['stop', lease.slug]);
    assert.equal(stop.code, 0, stop.stderr);
    assert.ok(fields.validBefore * 1000 > Date.now(), 'the certificate has not expired');
    const refused = tryLogin();
    assert.equal(refused.status, 255, refused.stderr);
    rmSync(keep, { recursive: true, force: true });
  });

  it('a cold lease (no pool) runs with a certificate only: its box has no authorized key', async () => {
    const warm = await cli(['warmup', '--json']);
    assert.equal(warm.code, 0, warm.stderr);
    const lease = JSON.parse(warm.stdout) as { id: string; slug: string };
    try {
      const box = join(tmp.path, 'coord', 'state', 'crabbox', 'coordinator', 'local', lease.id, 'sshd_config');
      assert.match(readFileSync(box, 'utf8'), /^AuthorizedKeysFile none$/m);
      assert.ok(existsSync(join(userState, 'leases', lease.id, 'id_ed25519-cert.pub')));
      assert.match(readFileSync(join(userState, 'leases', lease.id, 'known_hosts'), 'utf8'), /^@cert-authority \[127\.0\.0\.1\]:\d+ ssh-ed25519 \S+\n$/);
      assert.match(readFileSync(box, 'utf8'), /^HostCertificate /m);
      const run = await cli(['run', '--id', lease.slug, '--', 'cat', 'hello.txt']);
      assert.equal(run.code, 0, run.stderr);
      assert.equal(run.stdout, 'hello\n');
    } finally {
      assert.equal((await cli(['stop', lease.slug])).code, 0);
    }
  });
});

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { baseSpec } from '../provider.contract.ts';
import { createStaticProvider, keyMarker } from './static-provider.ts';
import { newLeaseId } from '../../domain/ids.ts';
import { tempDir } from '../../testing/tmp.ts';
import { startStaticHost, FOREIGN_KEY_LINE, type StaticHostFixture } from '../../testing/static-host.ts';
import { createClientKey, createHostKey, leaseKeyDir } from '../../ssh/index.ts';
import { requireCommands, requireRoot } from '../../testing/requires.ts';

/**
 * The `ssh` provider with the coordinator's SSH user CA (docs/ssh-ca.md), on a real static host (a Unix user and a
 * real sshd): a lease adds `cert-authority` lines limited to its principal instead of its key, so only a certificate
 * of the CA for that lease logs in as the host user; release removes the lines, so the certificate is refused at once.
 */

requireRoot('the static host fixture creates a Unix user and runs sshd');
requireCommands('sshd', 'ssh', 'ssh-keygen');

describe('ssh provider with a user CA on a real static host', () => {
  const state = tempDir('crabbox-static-ca-');
  let host: StaticHostFixture;
  const path = (name: string): string => join(state.path, name);
  before(async () => {
    host = await startStaticHost();
    for (const ca of ['ca', 'next-ca', 'other-ca']) execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', ca, '-f', path(ca)]);
  });
  after(async () => {
    await host.stop();
    state.remove();
  });
  const pool = () => createStaticProvider({ stateDir: state.path, hosts: [host.entry(host.ports[0]!)] });
  const caKeys = (...names: string[]): string[] => names.map((n) => readFileSync(path(`${n}.pub`), 'utf8').trim());

  /** A copy of the lease key under `name`, signed by `ca` for `principal` when given (ssh loads `<name>-cert.pub` itself). */
  function keyAs(leaseId: string, name: string, ca?: string, principal = `cbx-${leaseId.slice(4)}`): string {
    const identity = join(leaseKeyDir(state.path, leaseId), 'id_ed25519');
    copyFileSync(identity, path(name));
    copyFileSync(`${identity}.pub`, path(`${name}.pub`));
    if (ca) execFileSync('ssh-keygen', ['-q', '-s', path(ca), '-I', leaseId, '-n', principal, '-V', '-5m:+1h', path(`${name}.pub`)]);
    return path(name);
  }

  function login(identity: string): { status: number | null; stdout: string; stderr: string } {
    writeFileSync(path('known_hosts'), `[127.0.0.1]:${host.ports[0]} ${host.hostKey}\n`);
    const r = spawnSync('ssh', ['-F', '/dev/null', '-i', identity, '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes', '-o', `UserKnownHostsFile=${path('known_hosts')}`, '-o', 'StrictHostKeyChecking=yes',
      '-o', 'ConnectTimeout=5', '-p', String(host.ports[0]), `${host.user}@127.0.0.1`, 'id -un'], { encoding: 'utf8', timeout: 30_000 });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  }

  it("adds the CA lines for the lease's principal, not its key: a certificate logs in, the key alone, another lease's and another CA's do not; release revokes at once", async () => {
    const leaseId = newLeaseId();
    const sshPublicKey = await createClientKey(leaseKeyDir(state.path, leaseId), leaseId);
    const principal = `cbx-${leaseId.slice(4)}`;
    const spec = { ...baseSpec(leaseId, { sshPublicKey, hostKey: await createHostKey(leaseId) }), userCa: { publicKeys: caKeys('ca', 'next-ca'), principal } };
    await pool().create(spec);
    const lines = readFileSync(host.authorizedKeys, 'utf8').split('\n').filter((l) => l.endsWith(keyMarker(leaseId)));
    assert.equal(lines.length, 2, 'one line per trusted CA key');
    for (const [i, line] of lines.entries()) assert.equal(line, `cert-authority,principals="${principal}",no-agent-forwarding,no-X11-forwarding ${caKeys('ca', 'next-ca')[i]!.split(' ').slice(0, 2).join(' ')} ${keyMarker(leaseId)}`);
    assert.equal(readFileSync(host.authorizedKeys, 'utf8').includes(sshPublicKey.split(' ')[1]!), false, 'the lease key is not on the host');

    const cert = login(keyAs(leaseId, 'with-cert', 'ca'));
    assert.equal(cert.status, 0, cert.stderr);
    assert.equal(cert.stdout.trim(), host.user);
    assert.equal(login(keyAs(leaseId, 'rotated', 'next-ca')).status, 0, "the rotation's second key is trusted too");
    assert.match(login(keyAs(leaseId, 'bare')).stderr, /Permission denied/, 'the key alone is refused');
    assert.match(login(keyAs(leaseId, 'other-lease', 'ca', 'cbx-0123456789ab')).stderr, /Permission denied/, "another lease's principal is refused");
    assert.match(login(keyAs(leaseId, 'other-ca', 'other-ca')).stderr, /Permission denied/, "another CA's certificate is refused");

    assert.equal(await pool().delete(leaseId), 'deleted');
    assert.match(login(path('with-cert')).stderr, /Permission denied/, 'refused right after release, though the certificate is still valid');
    assert.equal(readFileSync(host.authorizedKeys, 'utf8').startsWith(`${FOREIGN_KEY_LINE}\n`), true, "the host's other lines are untouched");
  });

  it('keeps the lease key for a create without a CA (direct mode)', async () => {
    const leaseId = newLeaseId();
    const sshPublicKey = await createClientKey(leaseKeyDir(state.path, leaseId), leaseId);
    await pool().create(baseSpec(leaseId, { sshPublicKey, hostKey: await createHostKey(leaseId) }));
    assert.equal(login(keyAs(leaseId, 'plain')).status, 0);
    await pool().delete(leaseId);
  });
});

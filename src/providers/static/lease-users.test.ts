// Issue 15: per-lease Unix users on static `ssh` hosts (`static.hosts[].leaseUsers`), as root against a real sshd:
// a host prepared like an `ssh` pool host (admin user with passwordless sudo, `Match User cbx-*` reading keys from a
// root-owned dir), on which every lease gets its own user from pool-box.sh and release removes all of it.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createStaticProvider } from './static-provider.ts';
import type { StaticHostConfig } from './hosts.ts';
import { newLeaseId } from '../../domain/ids.ts';
import { isCrabboxError } from '../../domain/errors.ts';
import { systemClock } from '../../domain/clock.ts';
import { createDirectLeaseService } from '../../leases/direct.ts';
import { leaseUser } from '../../machine-access/access.ts';
import { leaseKeyDir, sshCapture, writeKnownHosts } from '../../ssh/index.ts';
import { tempDir } from '../../testing/tmp.ts';
import { localSpec } from '../../testing/local-lease.ts';
import { requireCommands, requireRoot } from '../../testing/requires.ts';
import { startStaticHost, type StaticHostFixture } from '../../testing/static-host.ts';

requireRoot('lease users are Unix accounts and the static host fixture runs sshd');
requireCommands('sshd', 'ssh', 'ssh-keygen', 'crontab', 'at', 'visudo');

describe('ssh provider with leaseUsers: each lease its own Unix user on a real static host', { concurrency: false }, () => {
  const state = tempDir('crabbox-static-users-');
  // Under /var/lib: sshd's StrictModes refuses keys below a world-writable directory such as /var/tmp.
  const root = mkdtempSync('/var/lib/crabbox-test-static-users-');
  chmodSync(root, 0o755);
  const dirs = { keysDir: join(root, 'keys'), leasesRoot: join(root, 'leases') };
  let host: StaticHostFixture;
  let roots = 0;
  before(async () => {
    host = await startStaticHost({ portCount: 2, pool: { keysDir: dirs.keysDir } });
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'ca', '-f', join(state.path, 'ca')]);
  });
  after(async () => {
    await host.stop();
    state.remove();
    rmSync(root, { recursive: true, force: true });
  });

  /** A provider over the fixture's two ports (two host entries on one machine, each with a work root of its own). */
  const pool = (extra: Partial<StaticHostConfig> = {}) => {
    const n = ++roots;
    return createStaticProvider({
      stateDir: state.path,
      leaseUserDirs: dirs,
      hosts: host.ports.map((port, i) => ({ ...host.entry(port, `~/users-${n}-${i}`), leaseUsers: true, ...extra })),
    });
  };
  const asRoot = (script: string): { status: number; stdout: string } => {
    const r = spawnSync('sh', ['-c', script], { encoding: 'utf8' });
    return { status: r.status ?? 128, stdout: r.stdout };
  };
  const identityOf = (leaseId: string): string => join(leaseKeyDir(state.path, leaseId), 'id_ed25519');

  /** Runs `command` as `user` over real ssh with `identity` (a lease key, or a copy of it beside its certificate). */
  async function login(port: number, user: string, identity: string, command: string): Promise<{ status: number; stdout: string; stderr: string }> {
    const knownHostsFile = join(state.path, 'known_hosts');
    await writeKnownHosts(knownHostsFile, '127.0.0.1', [port], host.hostKey);
    try {
      const r = await sshCapture({ host: '127.0.0.1', ports: [port], user, identityFile: identity, knownHostsFile, controlPath: 'none', connectTimeoutSeconds: 10, oneShot: true }, command);
      return { status: r.exitCode, stdout: r.stdout, stderr: r.stderr };
    } catch (error) {
      if (isCrabboxError(error)) return { status: 255, stdout: '', stderr: error.message };
      throw error;
    }
  }

  it("a claim makes the lease its own user with a 0700 home and workdir, named by the answer; a second lease on the machine cannot read them; no lease is the host user", async () => {
    const provider = pool();
    const before = readFileSync(host.authorizedKeys);
    const a = newLeaseId();
    const b = newLeaseId();
    const machineA = await provider.create(await localSpec(state.path, a));
    const machineB = await provider.create(await localSpec(state.path, b));
    try {
      assert.equal(machineA.sshUser, leaseUser(a));
      assert.equal(machineA.workRoot, `${dirs.leasesRoot}/${leaseUser(a)}/work`);
      assert.equal(machineA.adminUser, host.user, 'the host user is only the admin account');
      assert.equal(machineB.sshUser, leaseUser(b));
      assert.notEqual(machineA.ports[0], machineB.ports[0], 'the second lease took the other host entry');
      assert.deepEqual(await provider.get(a).then((m) => m && [m.sshUser, m.workRoot]), [machineA.sshUser, machineA.workRoot], 'get names the same user');
      assert.ok(readFileSync(host.authorizedKeys).equals(before), "the host user's authorized_keys is not touched");

      const wrote = await login(machineA.ports[0]!, machineA.sshUser, identityOf(a), `id -un; stat -c '%a %U' "${machineA.workRoot}" "$HOME"; echo secret > "${machineA.workRoot}/a-work"; echo secret > "$HOME/a-home" && echo wrote`);
      assert.equal(wrote.status, 0, wrote.stderr);
      assert.deepEqual(wrote.stdout.trim().split('\n'), [machineA.sshUser, `700 ${machineA.sshUser}`, `700 ${machineA.sshUser}`, 'wrote']);

      const homeA = `${dirs.leasesRoot}/${machineA.sshUser}/home`;
      const peek = await login(machineB.ports[0]!, machineB.sshUser, identityOf(b), `id -un; cat "${machineA.workRoot}/a-work" 2>&1; cat "${homeA}/a-home" 2>&1; ls "${machineA.workRoot}" 2>&1; sudo -n true 2>&1 || echo no-sudo`);
      assert.equal(peek.status, 0, peek.stderr);
      const lines = peek.stdout.trim().split('\n');
      assert.equal(lines[0], machineB.sshUser);
      assert.equal(lines.slice(1, 4).filter((l) => /Permission denied/.test(l)).length, 3, peek.stdout);
      assert.doesNotMatch(peek.stdout, /^secret$/m, 'nothing of A was read');
      assert.match(peek.stdout, /no-sudo/, 'no sudo without the setting');

      assert.equal((await login(machineA.ports[0]!, machineB.sshUser, identityOf(a), 'true')).status, 255, "A's key does not log in as B");
      assert.equal((await login(machineA.ports[0]!, host.user, identityOf(a), 'true')).status, 255, "A's key does not log in as the host user");
    } finally {
      await provider.delete(a);
      await provider.delete(b);
    }
  });

  it("release removes everything of the lease: processes (also a setsid daemon), crontab, at job, temp files, home and workdir; its key no longer logs in; again is already-gone", async () => {
    const provider = pool();
    const a = newLeaseId();
    const machine = await provider.create(await localSpec(state.path, a));
    const user = machine.sshUser;
    const uid = asRoot(`id -u ${user}`).stdout.trim();
    const marker = `crabbox-static-${user}`;
    const daemon = `pgrep -f '[${marker[0]}]${marker.slice(1)}-daemon'`;
    const ran = await login(machine.ports[0]!, user, identityOf(a), [
      'set -e',
      `echo secret > "${machine.workRoot}/${marker}-work"`,
      `echo secret > /tmp/${marker}-tmp`,
      `echo secret > /dev/shm/${marker}-shm`,
      `setsid bash -c '(exec -a ${marker}-daemon sleep 3600) </dev/null >/dev/null 2>&1 &' </dev/null >/dev/null 2>&1`,
      `echo '* * * * * touch /tmp/${marker}-cron' | crontab -`,
      `echo 'touch /tmp/${marker}-at' | at now + 1 hour 2>/dev/null`,
      'echo ok',
    ].join('\n'));
    assert.equal(ran.status, 0, ran.stderr);
    for (let i = 0; i < 50 && asRoot(daemon).status !== 0; i++) await systemClock.sleep(50);
    assert.equal(asRoot(daemon).status, 0, 'the daemon runs after the session ended');
    assert.equal(asRoot(`atq | grep -c ${user}`).stdout.trim(), '1', 'the at job is queued');

    assert.equal(await provider.delete(a), 'deleted');
    assert.notEqual(asRoot(daemon).status, 0, 'the setsid daemon is gone');
    assert.notEqual(asRoot(`pgrep -U ${uid}`).status, 0, 'no process of the UID');
    assert.equal(asRoot(`getent passwd ${user}`).status, 2, 'the user is gone');
    assert.ok(!existsSync(`/var/spool/cron/crontabs/${user}`), 'the crontab is gone');
    assert.equal(asRoot(`atq | grep -c ${user}`).stdout.trim(), '0', 'the at job is gone');
    assert.equal(asRoot(`find /tmp /var/tmp /dev/shm -xdev \\( -name '${marker}*' -o -uid ${uid} \\) | head -1`).stdout.trim(), '', 'no temp file');
    assert.ok(!existsSync(`${dirs.leasesRoot}/${user}`), 'home and workdir are gone');
    assert.ok(!existsSync(`${dirs.keysDir}/${user}`), 'the key file is gone');
    assert.equal((await login(machine.ports[0]!, user, identityOf(a), 'true')).status, 255, 'the key no longer logs in');
    assert.equal(await provider.delete(a), 'already-gone', 'releasing again finds nothing');
    assert.equal(await provider.get(a), undefined);
  });

  it("the CLI's direct lease flow waits for ssh as the lease user (its own known_hosts and ControlMaster) and its release removes the user", async () => {
    const config = {
      owner: 'ada@example.com', org: 'local', coordinator: undefined,
      lease: { ttlSeconds: 3600, idleTimeoutSeconds: 1800, keep: false },
      ssh: { port: 22, fallbackPorts: [], connectTimeoutSeconds: 5 },
      paths: { userConfig: join(state.path, 'config.yaml'), stateDir: state.path },
    };
    const leases = createDirectLeaseService({ config, provider: pool(), clock: systemClock, readyTimeoutMs: 20_000 });
    const { lease } = await leases.create();
    const user = leaseUser(lease.id);
    assert.equal(lease.machine?.sshUser, user, 'ready was proven over ssh as the lease user');
    assert.equal(lease.machine?.workRoot, `${dirs.leasesRoot}/${user}/work`);
    assert.equal(asRoot(`getent passwd ${user}`).status, 0);
    assert.equal((await leases.release(lease.id)).result, 'released');
    assert.equal(asRoot(`getent passwd ${user}`).status, 2, 'the user is gone');
    assert.ok(!existsSync(`${dirs.leasesRoot}/${user}`));
  });

  it('a release while the claim is being set up wins: no user is made after it, and create fails with lease_not_active', async () => {
    const provider = pool();
    const a = newLeaseId();
    // onProviderId runs right after the claim, before the user is made: the moment a concurrent release lands.
    const outcome = await provider
      .create(await localSpec(state.path, a), { onProviderId: async (id) => void (await provider.delete(id)) })
      .then(() => undefined, (error: unknown) => error);
    assert.ok(isCrabboxError(outcome) && outcome.code === 'lease_not_active', String(outcome));
    assert.equal(asRoot(`getent passwd ${leaseUser(a)}`).status, 2, 'no user');
    assert.ok(!existsSync(`${dirs.leasesRoot}/${leaseUser(a)}`), 'no home or workdir');
    assert.ok(!existsSync(`${dirs.keysDir}/${leaseUser(a)}`), 'no key file');
    assert.equal(await provider.get(a), undefined, 'no claim');
  });

  it('a user left behind without its claim (a crash mid-release) is removed by the next release; the create again after a crash is the same user', async () => {
    const provider = pool();
    const a = newLeaseId();
    const spec = await localSpec(state.path, a);
    const first = await provider.create(spec);
    assert.deepEqual(await provider.create(spec), first, 'creating again with the same lease id grants the same user and workdir');
    const claim = join(host.home, `users-${roots}-0`, '.crabbox-claim');
    assert.equal(readFileSync(join(host.home, `users-${roots}-0`, a, 'meta', 'labels.json'), 'utf8').length > 0, true);
    rmSync(claim);
    assert.equal(asRoot(`getent passwd ${first.sshUser}`).status, 0, 'the user is still there');
    assert.equal(await provider.delete(a), 'deleted');
    assert.equal(asRoot(`getent passwd ${first.sshUser}`).status, 2, 'the user is gone');
  });

  it('with sudo: true on the host entry the lease user may sudo through a visudo-checked 0440 entry; release removes it with the user', async () => {
    const provider = pool({ sudo: true });
    const a = newLeaseId();
    const machine = await provider.create(await localSpec(state.path, a));
    const entry = `/etc/sudoers.d/${machine.sshUser}`;
    try {
      const st = statSync(entry);
      assert.deepEqual([st.mode & 0o777, st.uid], [0o440, 0]);
      assert.equal(spawnSync('visudo', ['-c', '-q', '-f', entry]).status, 0);
      const r = await login(machine.ports[0]!, machine.sshUser, identityOf(a), 'sudo -n id -u');
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout.trim(), '0');
    } finally {
      assert.equal(await provider.delete(a), 'deleted');
    }
    assert.ok(!existsSync(entry), 'the sudoers entry is gone');
    assert.equal(asRoot(`getent passwd ${machine.sshUser}`).status, 2);
  });

  it("with the coordinator's user CA: the lease's keys file holds cert-authority lines for its own principal; its certificate logs in as its user, its bare key and another CA's certificate do not; release refuses the certificate at once", async () => {
    const provider = pool();
    const a = newLeaseId();
    const user = leaseUser(a);
    const caKey = readFileSync(join(state.path, 'ca.pub'), 'utf8').trim();
    const spec = { ...(await localSpec(state.path, a)), userCa: { publicKeys: [caKey], principal: user } };
    const machine = await provider.create(spec);
    const keys = readFileSync(join(dirs.keysDir, user), 'utf8');
    assert.match(keys, new RegExp(`^cert-authority,principals="${user}",no-agent-forwarding,no-X11-forwarding ssh-ed25519 `));
    assert.equal(keys.includes(spec.sshPublicKey.split(' ')[1]!), false, 'the lease key is not on the host');
    assert.equal(statSync(join(dirs.keysDir, user)).uid, 0, 'root owns it');

    const signed = (name: string, ca: string, principal: string): string => {
      copyFileSync(identityOf(a), join(state.path, name));
      copyFileSync(`${identityOf(a)}.pub`, join(state.path, `${name}.pub`));
      if (ca) execFileSync('ssh-keygen', ['-q', '-s', join(state.path, ca), '-I', a, '-n', principal, '-V', '-5m:+1h', join(state.path, `${name}.pub`)]);
      return join(state.path, name);
    };
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'other', '-f', join(state.path, `other-ca-${a}`)]);
    const cert = await login(machine.ports[0]!, user, signed(`cert-${a}`, 'ca', user), 'id -un');
    assert.equal(cert.status, 0, cert.stderr);
    assert.equal(cert.stdout.trim(), user);
    assert.equal((await login(machine.ports[0]!, user, identityOf(a), 'true')).status, 255, 'the key alone is refused');
    assert.equal((await login(machine.ports[0]!, user, signed(`foreign-${a}`, `other-ca-${a}`, user), 'true')).status, 255, "another CA's certificate is refused");
    assert.equal((await login(machine.ports[0]!, user, signed(`other-principal-${a}`, 'ca', 'cbx-0123456789ab'), 'true')).status, 255, "another lease's principal is refused");

    assert.equal(await provider.delete(a), 'deleted');
    assert.equal((await login(machine.ports[0]!, user, join(state.path, `cert-${a}`), 'true')).status, 255, 'refused right after release, though still valid');
  });
});

import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { it } from 'node:test';
import { startStaticHost } from '../testing/static-host.ts';
import { tempDir } from '../testing/tmp.ts';
import { runAccessContract, testLease } from './contract.ts';
import { createSshMachineAccess } from './ssh.ts';

if (process.getuid?.() !== 0) throw new Error('the ssh MachineAccess contract needs root (a static host fixture with sudo, lease users); run the suite as root, as CI does');

let n = 0;
runAccessContract('ssh (a static host prepared for a pool: admin user with sudo, sshd reads lease keys from a root-owned dir)', {
  real: true,
  async make() {
    // Under /var/lib: sshd's StrictModes refuses keys below a world-writable directory such as /var/tmp.
    const root = mkdtempSync('/var/lib/crabbox-test-pool-');
    chmodSync(root, 0o755);
    const keysDir = join(root, 'keys');
    const leasesRoot = join(root, 'leases');
    const host = await startStaticHost({ pool: { keysDir } });
    const state = tempDir('crabbox-access-ssh-');
    const access = createSshMachineAccess({ adminKeyFile: host.identityFile, stateDir: state.path, requireReady: false, keysDir, leasesRoot });
    return {
      access,
      machine: { id: `mch_${String(++n).padStart(12, '0')}`, provider: 'ssh', providerId: 'cbx_000000000001', host: '127.0.0.1', ports: [host.ports[0]!], adminUser: host.user, hostKey: host.hostKey },
      ssh: { host: '127.0.0.1', port: host.ports[0]!, hostKey: host.hostKey },
      asRoot: (script) => {
        const r = spawnSync('sh', ['-c', script], { encoding: 'utf8' });
        return { status: r.status ?? 128, stdout: r.stdout };
      },
      async cleanup() {
        await host.stop();
        state.remove();
        rmSync(root, { recursive: true, force: true });
      },
    };
  },
});

it('a grant with sudo (the coordinator\'s choice) lets the lease user sudo through a visudo-checked 0440 entry; a grant without it and revoke and scrub remove it', async () => {
  const root = mkdtempSync('/var/lib/crabbox-test-pool-');
  chmodSync(root, 0o755);
  const keysDir = join(root, 'keys');
  const host = await startStaticHost({ pool: { keysDir } });
  const state = tempDir('crabbox-access-sudo-');
  const access = createSshMachineAccess({ adminKeyFile: host.identityFile, stateDir: state.path, requireReady: false, keysDir, leasesRoot: join(root, 'leases') });
  const machine = { id: 'mch_5ud000000001', provider: 'ssh', host: '127.0.0.1', ports: [host.ports[0]!], adminUser: host.user, hostKey: host.hostKey };
  const { leaseId, user } = testLease();
  const key = join(state.path, 'lease');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
  const publicKey = readFileSync(`${key}.pub`, 'utf8').trim();
  const entry = `/etc/sudoers.d/${user}`;
  const sudoAs = (): number | null => spawnSync('setpriv', ['--reuid', user, '--regid', user, '--init-groups', '--', 'sudo', '-n', 'true'], { encoding: 'utf8' }).status;
  const dirMode = statSync('/etc/sudoers.d').mode;
  try {
    await access.grant(machine, { leaseId, user, publicKey, sudo: true });
    assert.equal(statSync('/etc/sudoers.d').mode, dirMode, "the system's sudoers.d is left as it was");
    const st = statSync(entry);
    assert.deepEqual([st.mode & 0o777, st.uid], [0o440, 0]);
    assert.equal(sudoAs(), 0, 'the lease user may sudo');
    await access.grant(machine, { leaseId, user, publicKey });
    assert.ok(!existsSync(entry), 'granting again without sudo takes it away');
    assert.notEqual(sudoAs(), 0);
    await access.grant(machine, { leaseId, user, publicKey, sudo: true });
    await access.revoke(machine, user);
    assert.ok(!existsSync(entry), 'revoke removes it first');
    await access.grant(machine, { leaseId, user, publicKey, sudo: true });
    assert.deepEqual(await access.scrub(machine, user), { clean: true, left: [] });
    assert.ok(!existsSync(entry), 'scrub removes it');
  } finally {
    await access.scrub(machine, user).catch(() => undefined);
    rmSync(entry, { force: true });
    await host.stop();
    state.remove();
    rmSync(root, { recursive: true, force: true });
  }
});

it('scripts/pool-box.sh is ShellCheck-clean', () => {
  const r = spawnSync('shellcheck', ['--shell=bash', join(import.meta.dirname, 'scripts', 'pool-box.sh')], { encoding: 'utf8' });
  assert.equal(r.error, undefined, 'shellcheck is not installed: bash scripts/setup.sh --test installs it');
  assert.equal(r.status, 0, r.stdout + r.stderr);
});

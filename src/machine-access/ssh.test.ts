import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { it } from 'node:test';
import { startStaticHost } from '../testing/static-host.ts';
import { tempDir } from '../testing/tmp.ts';
import { runAccessContract } from './contract.ts';
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

it('scripts/pool-box.sh is ShellCheck-clean', () => {
  const r = spawnSync('shellcheck', ['--shell=bash', join(import.meta.dirname, 'scripts', 'pool-box.sh')], { encoding: 'utf8' });
  assert.equal(r.error, undefined, 'shellcheck is not installed: bash scripts/setup.sh --test installs it');
  assert.equal(r.status, 0, r.stdout + r.stderr);
});

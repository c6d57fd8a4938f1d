import { spawnSync } from 'node:child_process';
import { generateHostKey } from '../coordinator/host-key.ts';
import { machineLabels } from '../domain/labels.ts';
import { createLocalProvider } from '../providers/local/local-provider.ts';
import { testBoxesRoot } from '../testing/boxes-root.ts';
import { tempDir } from '../testing/tmp.ts';
import { runAccessContract } from './contract.ts';
import { createLocalMachineAccess } from './local.ts';

if (process.getuid?.() !== 0) throw new Error('the local MachineAccess contract needs root (lease users); run the suite as root, as CI does');

let n = 0;
runAccessContract('local (a warm pool box: one private sshd, a Unix user per lease)', {
  real: true,
  async make() {
    const state = tempDir('crabbox-access-local-');
    const boxes = testBoxesRoot();
    const provider = createLocalProvider({ stateDir: state.path, boxesRoot: boxes.path });
    const hex = `${process.pid.toString(16).padStart(6, '0').slice(-6)}${(++n).toString(16).padStart(6, '0')}`;
    const hostKey = await generateHostKey(`cbx_${hex}`);
    const made = await provider.create({
      leaseId: `cbx_${hex}`, slug: 'pool-test', labels: machineLabels({ machineId: `mch_${hex}`, installation: 'test', createdAt: Date.UTC(2026, 0, 1) }),
      sshPublicKey: '', hostKey, shared: true,
    });
    const access = createLocalMachineAccess({ stateDir: state.path, boxesRoot: boxes.path });
    return {
      access,
      machine: { id: `mch_${hex}`, provider: 'local', providerId: made.providerId, host: made.host, ports: made.ports, adminUser: made.sshUser, hostKey: made.hostKey, workRoot: made.workRoot },
      ssh: { host: made.host, port: made.ports[0]!, hostKey: made.hostKey },
      asRoot: (script) => {
        const r = spawnSync('sh', ['-c', script], { encoding: 'utf8' });
        return { status: r.status ?? 128, stdout: r.stdout };
      },
      async cleanup() {
        await provider.delete(made.providerId);
        boxes.remove();
        state.remove();
      },
    };
  },
});

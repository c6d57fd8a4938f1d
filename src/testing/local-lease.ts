import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { baseSpec } from '../providers/provider.contract.ts';
import type { Machine, MachineSpec, Provider } from '../providers/provider.ts';
import { machineLayout, type MachineLayout } from '../providers/local/layout.ts';
import { closeMaster, createClientKey, createHostKey, leaseKeyDir, leaseTarget, sshExec, waitReady, writeKnownHosts, type SshTarget } from '../ssh/index.ts';

/** A spec for a local lease with fresh keys under `<stateDir>/leases/<id>`. */
export async function localSpec(stateDir: string, leaseId: string, labels: Record<string, string> = {}): Promise<MachineSpec> {
  const dir = leaseKeyDir(stateDir, leaseId);
  const sshPublicKey = await createClientKey(dir, leaseId);
  const hostKey = await createHostKey(leaseId);
  return baseSpec(leaseId, { sshPublicKey, hostKey }, labels);
}

/** A created local machine reachable over real ssh with the lease key. */
export interface OpenLease {
  leaseId: string;
  machine: Machine;
  layout: MachineLayout;
  target: SshTarget;
  /** Runs a shell command line on the box as the lease user. */
  sh(script: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }>;
  /** Closes the ControlMaster (the provider's delete does the rest). */
  close(): Promise<void>;
}

export async function openLocalLease(provider: Provider, options: { stateDir: string; boxesRoot: string; leaseId: string; labels?: Record<string, string> }): Promise<OpenLease> {
  const { stateDir, leaseId } = options;
  const machine = await provider.create(await localSpec(stateDir, leaseId, options.labels));
  const keyDir = leaseKeyDir(stateDir, leaseId);
  await writeKnownHosts(join(keyDir, 'known_hosts'), machine.host, machine.ports, machine.hostKey);
  const target = leaseTarget({ keyDir, leaseId, host: machine.host, ports: machine.ports, user: machine.sshUser, connectTimeoutSeconds: 5 });
  await waitReady(target, Date.now() + 20_000);
  return {
    leaseId,
    machine,
    layout: machineLayout({ stateDir, boxesRoot: options.boxesRoot, leaseId }),
    target,
    async sh(script, ...args) {
      const out = new PassThrough();
      const err = new PassThrough();
      let stdout = '';
      let stderr = '';
      out.on('data', (b: Buffer) => (stdout += b.toString()));
      err.on('data', (b: Buffer) => (stderr += b.toString()));
      const { exitCode } = await sshExec(target, ['sh', '-c', script, 'sh', ...args], { stdout: out, stderr: err });
      return { code: exitCode, stdout, stderr };
    },
    close: () => closeMaster(target),
  };
}

import { join } from 'node:path';
import { isLeaseId } from '../../domain/ids.ts';

/** Where box directories (work roots and authorized keys) go by default when running as root. */
export const ROOT_BOXES_DIR = '/var/tmp/crabbox-boxes';

/** Every path of one local machine. Only built from a validated lease id, so no input ever reaches a path unchecked. */
export interface MachineLayout {
  /** `<stateDir>/local/<leaseId>`: state file, sshd config, host key, pid file (0700, owned by the CLI user). */
  machineDir: string;
  stateFile: string;
  sshdConfig: string;
  hostKey: string;
  pidFile: string;
  log: string;
  /** `<boxesRoot>/<leaseId>`: what the lease user may reach (home, authorized keys, work root). */
  boxDir: string;
  /** The lease user's home when crabbox created the user (root mode). */
  home: string;
  authorizedKeys: string;
  workRoot: string;
}

export function machineLayout(options: { stateDir: string; boxesRoot: string; leaseId: string }): MachineLayout {
  if (!isLeaseId(options.leaseId)) throw new Error(`malformed lease id ${JSON.stringify(options.leaseId)}`);
  const machineDir = join(options.stateDir, 'local', options.leaseId);
  const boxDir = join(options.boxesRoot, options.leaseId);
  return {
    machineDir,
    stateFile: join(machineDir, 'machine.json'),
    sshdConfig: join(machineDir, 'sshd_config'),
    hostKey: join(machineDir, 'ssh_host_ed25519_key'),
    pidFile: join(machineDir, 'sshd.pid'),
    log: join(machineDir, 'sshd.log'),
    boxDir,
    home: join(boxDir, 'home'),
    // Under the home dir: sshd's StrictModes walks up from the key file to the home dir and refuses world-writable parents like /var/tmp.
    authorizedKeys: join(boxDir, 'home', '.ssh', 'authorized_keys'),
    workRoot: join(boxDir, 'work'),
  };
}

/** The Unix user a root-run lease gets: `cbx-` and the lease id's 12 hex digits (16 chars, within useradd's 32). */
export function leaseUserName(leaseId: string): string {
  if (!isLeaseId(leaseId)) throw new Error(`malformed lease id ${JSON.stringify(leaseId)}`);
  return `cbx-${leaseId.slice(4)}`;
}

export const LEASE_USER_PATTERN = /^cbx-[0-9a-f]{12}$/;

import { join } from 'node:path';
import { isLeaseId } from '../../domain/ids.ts';

/** Crabbox's own root-owned directory for what it keeps on this machine as root (box dirs, the lease UID registry). */
export const ROOT_LIB_DIR = '/var/lib/crabbox';

/**
 * Where box directories (work roots and authorized keys) go by default when running as root. Root-owned and never
 * writable by anyone else, checked on every create (see boxes-root.ts); never a world-writable place such as /var/tmp.
 */
export const ROOT_BOXES_DIR = join(ROOT_LIB_DIR, 'boxes');

/** Every path of one local machine. Only built from a validated lease id, so no input ever reaches a path unchecked. */
export interface MachineLayout {
  /** `<stateDir>/local/<leaseId>`: state file, sshd config, host key, pid file (0700, owned by the CLI user). */
  machineDir: string;
  stateFile: string;
  sshdConfig: string;
  hostKey: string;
  pidFile: string;
  log: string;
  /** `<boxesRoot>/<leaseId>` (root-owned 0711 as root): what the lease user may reach. */
  boxDir: string;
  /** The lease user's home when crabbox created the user (root mode). */
  home: string;
  /**
   * The one key sshd accepts, beside the home (never inside it): root-owned in a root-owned directory, so nothing the
   * lease user renames or creates in its home changes which key is accepted.
   */
  authorizedKeys: string;
  workRoot: string;
  /** The lease's private TMPDIR (0700, the lease user's). */
  tmpDir: string;
  /** Names the machine dir that owns this box, so the orphan sweep of one state dir never takes another's box. */
  ownerFile: string;
}

/**
 * File names inside a box directory. A warm pool box (one sshd serving lease after lease) has `keys/<user>` (each
 * lease user's one key, root's 0644 in root's 0755 dir) and `leases/<user>/{home,work}` instead of home, work, tmp.
 * With a user CA (docs/ssh-ca.md), `principals` (cold box) or `keys/<user>` (pool box) holds the one certificate
 * principal the login user accepts: sshd reads it as that user, so it lives where the key would, readable, root's.
 */
export const BOX = { home: 'home', work: 'work', tmp: 'tmp', authorizedKeys: 'authorized_keys', principals: 'principals', owner: 'owner', keys: 'keys', leases: 'leases' } as const;

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
    home: join(boxDir, BOX.home),
    authorizedKeys: join(boxDir, BOX.authorizedKeys),
    workRoot: join(boxDir, BOX.work),
    tmpDir: join(boxDir, BOX.tmp),
    ownerFile: join(boxDir, BOX.owner),
  };
}

/** The Unix user a root-run lease gets: `cbx-` and the lease id's 12 hex digits (16 chars, within useradd's 32). */
export function leaseUserName(leaseId: string): string {
  if (!isLeaseId(leaseId)) throw new Error(`malformed lease id ${JSON.stringify(leaseId)}`);
  return `cbx-${leaseId.slice(4)}`;
}

/** The lease id a lease user name belongs to. */
export function leaseIdOfUser(name: string): string | undefined {
  return LEASE_USER_PATTERN.test(name) ? `cbx_${name.slice(4)}` : undefined;
}

export const LEASE_USER_PATTERN = /^cbx-[0-9a-f]{12}$/;

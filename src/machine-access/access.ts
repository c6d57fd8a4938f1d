/**
 * How the coordinator reaches into a pool machine to hand it to one lease and take it back: the per-provider part of
 * the warm pool. A pool machine serves one lease at a time, each as its own Unix user (`cbx-<lease hex>`) with its own
 * key, home and workdir; between leases the machine is scrubbed and checked. Implementations: `local` (this computer,
 * as root, with the local provider's hardening), `ssh` (any box the installation admin key reaches: cloud boxes and
 * static hosts; the box-side steps are scripts/pool-box.sh) and a fake for tests. One contract suite
 * (contract.ts) runs against every implementation.
 */

/** The machine as far as access needs it (a MachineRecord fits). */
export interface AccessTarget {
  id: string;
  provider: string;
  providerId?: string | undefined;
  host?: string | undefined;
  ports: number[];
  /** The admin user Crabbox manages the box as. */
  adminUser?: string | undefined;
  hostKey?: string | undefined;
  workRoot?: string | undefined;
}

export interface LeaseGrant {
  leaseId: string;
  /** `cbx-` + the lease id's 12 hex digits. */
  user: string;
  /** The lease's OpenSSH public key line: the only key its user accepts (on a box without a user CA). */
  publicKey: string;
  /**
   * On a box that trusts the installation's user CA: the one certificate principal its user accepts (the lease's
   * `cbx-<hex>`), in place of the key. Revoking also puts the lease id in the box's KRL.
   */
  principal?: string | undefined;
  /**
   * The user may sudo (`/etc/sudoers.d/<user>`, removed by revoke and scrub): the coordinator's choice from its own
   * config (a pool's `sudo`), never a request's. Decision 0060. Implementations that cannot grant it refuse.
   */
  sudo?: boolean | undefined;
}

/** How the lease logs in once granted. */
export interface GrantedAccess {
  sshUser: string;
  /** The lease's own work root (mode 0700, its user's): the CLI puts `<lease id>/<repo>` under it. */
  workRoot: string;
}

/** What a scrub removed and what (if anything) it found left afterwards. */
export interface ScrubReport {
  /** Nothing of the lease user is left: no process, user, key, home, workdir, crontab, at job or file in the temp dirs. */
  clean: boolean;
  /** What was found left, one short line each (bounded). */
  left: string[];
}

export interface AccessOptions {
  signal?: AbortSignal | undefined;
}

export interface MachineAccess {
  /**
   * Makes a freshly provisioned machine ready for grants and proves it is reachable (cloud: waits for ssh and the
   * bootstrap; static hosts: the key directory). Idempotent.
   */
  prepare(machine: AccessTarget, options?: AccessOptions & { deadline?: number | undefined }): Promise<void>;
  /** Creates the lease's user, key, home and workdir. Idempotent for the same lease (a retry after a crash). */
  grant(machine: AccessTarget, grant: LeaseGrant, options?: AccessOptions): Promise<GrantedAccess>;
  /** Ends the lease's access at once: its key goes and every process of its user is killed. Idempotent. */
  revoke(machine: AccessTarget, user: string, options?: AccessOptions): Promise<void>;
  /**
   * Revokes, then removes everything of the user (processes, crontab, at jobs, files in its home, workdir and the
   * shared temp dirs, the key, the account) and checks that nothing is left. Idempotent; never throws for what it
   * found left (that is the report), only when it could not look.
   */
  scrub(machine: AccessTarget, user: string, options?: AccessOptions): Promise<ScrubReport>;
  /**
   * Makes a prepared machine present `certificate` (its host key's, from the coordinator's host CA; docs/ssh-ca.md)
   * and proves it does: afterwards the machine answers a known_hosts that trusts only the host CA. For machines whose
   * provider cannot install the certificate at creation (cloud boxes: their address comes after the user data).
   */
  certifyHost?(machine: AccessTarget, certificate: string, options?: AccessOptions & { deadline?: number | undefined }): Promise<void>;
}

/** Lease users are `cbx-` and the lease id's 12 hex digits (at most 16 characters, within useradd's 32). */
export const LEASE_USER = /^cbx-[0-9a-f]{12}$/;

export function leaseUser(leaseId: string): string {
  const hex = /^cbx_([0-9a-f]{12})$/.exec(leaseId)?.[1];
  if (!hex) throw new Error(`malformed lease id ${JSON.stringify(leaseId)}`);
  return `cbx-${hex}`;
}

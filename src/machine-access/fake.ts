import { systemClock } from '../domain/clock.ts';
import type { AccessTarget, GrantedAccess, LeaseGrant, MachineAccess, ScrubReport } from './access.ts';
import { LEASE_USER } from './access.ts';

/** One fake box: the lease users on it, with their key and what they left (processes, files). */
export interface FakeBox {
  users: Map<string, { key: string; leaseId: string; processes: number; files: string[] }>;
  /** Every grant the box ever saw, in order (user names). */
  granted: string[];
  /** Most users it ever had at once. */
  maxConcurrentUsers: number;
}

/**
 * MachineAccess for the in-memory `fake` provider: each machine is a FakeBox. Grants and scrubs change it as the real
 * ones change a box, so tests can check "on the boxes" that no machine ever served two leases at once. Faults can be
 * scripted per machine (a scrub that leaves something, a grant that fails).
 */
export class FakeMachineAccess implements MachineAccess {
  readonly boxes = new Map<string, FakeBox>();
  /** Machines whose next scrubs leave a file behind. */
  readonly dirtyScrub = new Set<string>();
  /** Machines whose grants fail. */
  readonly failGrant = new Set<string>();
  readonly calls: { op: string; machine: string; user?: string | undefined; sudo?: boolean | undefined }[] = [];
  /** Milliseconds each grant takes (real time: tests of races over HTTP set it). */
  grantDelayMs = 0;

  box(id: string): FakeBox {
    let box = this.boxes.get(id);
    if (!box) {
      box = { users: new Map(), granted: [], maxConcurrentUsers: 0 };
      this.boxes.set(id, box);
    }
    return box;
  }

  /** Host certificates installed, by machine id. */
  readonly hostCertificates = new Map<string, string>();

  async certifyHost(machine: AccessTarget, certificate: string): Promise<void> {
    this.calls.push({ op: 'certifyHost', machine: machine.id });
    this.hostCertificates.set(machine.id, certificate);
  }

  async prepare(machine: AccessTarget): Promise<void> {
    this.calls.push({ op: 'prepare', machine: machine.id });
    this.box(machine.id);
  }

  async grant(machine: AccessTarget, grant: LeaseGrant): Promise<GrantedAccess> {
    this.calls.push({ op: 'grant', machine: machine.id, user: grant.user, ...(grant.sudo ? { sudo: true } : {}) });
    if (!LEASE_USER.test(grant.user)) throw new Error(`not a lease user: ${grant.user}`);
    if (this.grantDelayMs > 0) await systemClock.sleep(this.grantDelayMs);
    if (this.failGrant.has(machine.id)) throw new Error(`fake: grant on ${machine.id} failed`);
    const box = this.box(machine.id);
    box.users.set(grant.user, { key: grant.publicKey, leaseId: grant.leaseId, processes: 1, files: [`/home/${grant.user}/.bash_history`] });
    box.granted.push(grant.user);
    box.maxConcurrentUsers = Math.max(box.maxConcurrentUsers, box.users.size);
    return { sshUser: grant.user, workRoot: `/var/lib/crabbox/leases/${grant.user}/work` };
  }

  async revoke(machine: AccessTarget, user: string): Promise<void> {
    this.calls.push({ op: 'revoke', machine: machine.id, user });
    if (!LEASE_USER.test(user)) throw new Error(`not a lease user: ${user}`);
    const entry = this.box(machine.id).users.get(user);
    if (entry) {
      entry.key = '';
      entry.processes = 0;
    }
  }

  async scrub(machine: AccessTarget, user: string): Promise<ScrubReport> {
    this.calls.push({ op: 'scrub', machine: machine.id, user });
    if (!LEASE_USER.test(user)) throw new Error(`not a lease user: ${user}`);
    await this.revoke(machine, user);
    const box = this.box(machine.id);
    if (this.dirtyScrub.has(machine.id)) return { clean: false, left: [`/tmp/${user}-left-behind: still there`] };
    box.users.delete(user);
    return { clean: true, left: [] };
  }
}

import { closeSync, existsSync, lstatSync } from 'node:fs';
import { join } from 'node:path';
import { systemClock, type Clock } from '../domain/clock.ts';
import { CrabboxError } from '../domain/errors.ts';
import { isLeaseId } from '../domain/ids.ts';
import { openTrustedDir } from '../providers/local/boxes-root.ts';
import { leaseGate, type LeaseGate } from '../providers/local/gate.ts';
import { BOX, leaseIdOfUser, machineLayout, ROOT_BOXES_DIR, type MachineLayout } from '../providers/local/layout.ts';
import { revokeCertificates, userCaFiles } from '../providers/local/user-ca.ts';
import { isAlive, listProcesses } from '../providers/local/procs.ts';
import { purgeUid, removeEntryAt, SHARED_TEMP_DIRS } from '../providers/local/purge.ts';
import { at, createFileAt, makeDirAt, openDirAt, replaceFileAt, settle, statFd, withFd } from '../providers/local/safe-fs.ts';
import { createLeaseUser, deleteAccount, killUserProcesses, lookupUser } from '../providers/local/users.ts';
import { keepUid, releaseUid, reservedUids, reserveUid } from '../providers/local/uids.ts';
import { LEASE_USER, type AccessTarget, type GrantedAccess, type LeaseGrant, type MachineAccess, type ScrubReport } from './access.ts';

/** Where a lease user may leave files besides its home and workdir: the shared temp dirs, its crontab and at jobs. */
export const LOCAL_SCRUB_DIRS = [...SHARED_TEMP_DIRS, '/var/spool/cron'] as const;

export interface LocalAccessOptions {
  /** The coordinator's state dir and boxes root: the same the local provider was built with. */
  stateDir: string;
  boxesRoot?: string | undefined;
  clock?: Clock | undefined;
  /** Where lease users may leave files outside the box (tests narrow or widen it). */
  scrubDirs?: readonly string[] | undefined;
}

const LOCK_WAIT_MS = 120_000;

/**
 * MachineAccess for warm pool boxes of the `local` provider (root only): a box is one private sshd serving lease after
 * lease. A grant reserves a UID from the lease range, creates the user, its key as root's 0644 file in the box's
 * root-owned `keys/` (the sshd's AuthorizedKeysFile, never in the home), and `leases/<user>/{home,work}` (0700, the
 * user's), every step through directory descriptors that never follow a symlink. A scrub kills every process of the
 * UID (in a loop, so a double-forked daemon dies too), removes the key, the lease dir, everything the UID owns in the
 * shared temp dirs and the cron spool, its IPC objects and the account, then checks. The box's lock (the local
 * provider's gate) orders grants and scrubs against a delete of the box.
 */
export function createLocalMachineAccess(options: LocalAccessOptions): MachineAccess {
  const clock = options.clock ?? systemClock;
  const boxesRoot = options.boxesRoot ?? ROOT_BOXES_DIR;
  const gate: LeaseGate = leaseGate(join(options.stateDir, 'local'), clock);
  const scrubDirs = options.scrubDirs ?? LOCAL_SCRUB_DIRS;

  function layoutOf(machine: AccessTarget): MachineLayout {
    if (process.getuid?.() !== 0) throw new CrabboxError('invalid_config', 'a warm pool on the local provider needs the coordinator to run as root');
    if (!machine.providerId || !isLeaseId(machine.providerId)) throw new CrabboxError('internal', `machine ${machine.id} has no local box id`);
    return machineLayout({ stateDir: options.stateDir, boxesRoot, leaseId: machine.providerId });
  }

  function checkUser(user: string): void {
    if (!LEASE_USER.test(user)) throw new CrabboxError('internal', `refusing to manage user ${JSON.stringify(user)}: not a crabbox lease user`);
  }

  /** Runs `fn` with the box dir open (checked: root's, not a symlink), holding the box's lock. */
  function withBox<T>(machine: AccessTarget, fn: (boxFd: number, layout: MachineLayout) => Promise<T>): Promise<T> {
    const layout = layoutOf(machine);
    return gate.withLock(machine.providerId!, LOCK_WAIT_MS, async () => {
      if (gate.released(machine.providerId!)) throw new CrabboxError('lease_not_active', `pool box ${machine.id} is being deleted`);
      const rootFd = openTrustedDir(boxesRoot, { asRoot: true, uid: 0, mode: 0o711, what: 'local boxes root', hint: 'see docs/providers/local.md' });
      try {
        const boxFd = openDirAt(rootFd, machine.providerId!);
        try {
          if (statFd(boxFd).uid !== 0) throw new CrabboxError('provider_error', `box dir ${layout.boxDir} is not root's`);
          return await fn(boxFd, layout);
        } finally {
          closeSync(boxFd);
        }
      } finally {
        closeSync(rootFd);
      }
    });
  }

  /** The box was made trusting the user CA (docs/ssh-ca.md): its sshd reads principals where keys would be. */
  function certificatesOnly(layout: MachineLayout): boolean {
    return existsSync(userCaFiles(layout.machineDir).caKeys);
  }

  function sshdListening(layout: MachineLayout): boolean {
    return existsSync(layout.pidFile);
  }

  async function killAndDropKey(boxFd: number, user: string, layout: MachineLayout): Promise<void> {
    // Emptied first (no login from now on), removed by the scrub.
    withFd(openDirAt(boxFd, BOX.keys), (keysFd) => {
      try {
        lstatSync(at(keysFd, user));
      } catch {
        return;
      }
      replaceFileAt(keysFd, user, '', 0o644);
    });
    // A box with a user CA also refuses the lease's certificates from now on, whatever principal they name.
    await revokeCertificates(layout.machineDir, [leaseIdOfUser(user)!]);
    const uid = lookupUser(user)?.uid;
    if (uid !== undefined) await killUserProcesses(uid);
  }

  return {
    async prepare(machine) {
      await withBox(machine, async (_fd, layout) => {
        if (!sshdListening(layout)) throw new CrabboxError('provider_error', `pool box ${machine.id} has no sshd running`);
      });
    },

    async grant(machine, grant: LeaseGrant): Promise<GrantedAccess> {
      checkUser(grant.user);
      if (grant.sudo) throw new CrabboxError('invalid_config', `refusing sudo for ${grant.user}: a local box's lease user is a user of this machine, where sudo is root on the coordinator`);
      if (grant.principal !== undefined && !LEASE_USER.test(grant.principal)) throw new CrabboxError('internal', `refusing certificate principal ${JSON.stringify(grant.principal)}: not a crabbox lease user`);
      return withBox(machine, async (boxFd, layout) => {
        const existing = lookupUser(grant.user);
        const ids = existing ?? (await createLeaseUser(grant.user, join(layout.boxDir, BOX.leases, grant.user, 'home'), reserveUid({ user: grant.user, leaseId: grant.leaseId, machineDir: layout.machineDir })));
        withFd(openDirAt(boxFd, BOX.leases), (leasesFd) => {
          try {
            makeDirAt(leasesFd, grant.user, 0o755);
          } catch (error) {
            if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
          }
          withFd(openDirAt(leasesFd, grant.user), (leaseFd) => {
            if (statFd(leaseFd).uid !== 0) throw new CrabboxError('provider_error', `lease dir of ${grant.user} is not root's`);
            for (const dir of ['home', 'work']) {
              try {
                makeDirAt(leaseFd, dir, 0o700, ids);
              } catch (error) {
                if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
                withFd(openDirAt(leaseFd, dir), (fd) => settle(fd, 0o700, ids));
              }
            }
          });
        });
        withFd(openDirAt(boxFd, BOX.keys), (keysFd) => {
          // The box decides by how it was made: one that trusts the CA takes the principal, any other the key.
          const line = `${(certificatesOnly(layout) ? (grant.principal ?? grant.user) : grant.publicKey).trim()}\n`;
          try {
            createFileAt(keysFd, grant.user, line, 0o644);
          } catch (error) {
            if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
            replaceFileAt(keysFd, grant.user, line, 0o644);
          }
        });
        return { sshUser: grant.user, workRoot: join(layout.boxDir, BOX.leases, grant.user, 'work') };
      });
    },

    async revoke(machine, user) {
      checkUser(user);
      await withBox(machine, (boxFd, layout) => killAndDropKey(boxFd, user, layout));
    },

    async scrub(machine, user): Promise<ScrubReport> {
      checkUser(user);
      return withBox(machine, async (boxFd, layout) => {
        const left: string[] = [];
        const uid = lookupUser(user)?.uid ?? reservedUids().find((r) => r.user === user && r.machineDir === layout.machineDir)?.uid;
        await killAndDropKey(boxFd, user, layout);
        if (uid !== undefined) await killUserProcesses(uid);
        for (const dir of [BOX.keys, BOX.leases]) {
          const problem = await withDir(boxFd, dir, async (fd) => {
            let st;
            try {
              st = lstatSync(at(fd, user));
            } catch {
              return undefined;
            }
            return removeEntryAt(fd, user, st);
          });
          if (problem) left.push(`${join(layout.boxDir, dir, user)}: ${problem}`);
        }
        if (uid !== undefined) {
          const purge = await purgeUid(uid, scrubDirs);
          left.push(...purge.problems);
          await deleteAccount(user);
          if (purge.complete) releaseUid(uid);
          else keepUid(uid, purge.problems);
          const alive = listProcesses().filter((p) => p.uid === uid && isAlive(p.pid)).length;
          if (alive > 0) left.push(`${alive} process(es) of uid ${uid} still running`);
        }
        if (lookupUser(user)) left.push(`user ${user} still exists`);
        return { clean: left.length === 0, left: left.slice(0, 20) };
      });
    },
  };
}

async function withDir<T>(boxFd: number, name: string, fn: (fd: number) => Promise<T>): Promise<T> {
  const fd = openDirAt(boxFd, name);
  try {
    return await fn(fd);
  } finally {
    closeSync(fd);
  }
}

import { closeSync, lstatSync } from 'node:fs';
import { userInfo } from 'node:os';
import { CrabboxError } from '../../domain/errors.ts';
import { BOX, type MachineLayout } from './layout.ts';
import { openTrustedDir } from './boxes-root.ts';
import { removeEntryAt } from './purge.ts';
import { at, createFileAt, makeDirAt, openDirAt, settle, statFd, withFd } from './safe-fs.ts';

export interface BoxOwner {
  /** True as root: a per-lease user owns home, work and tmp; the box dir and the key stay root's. */
  asRoot: boolean;
  /** Creates the lease user (as root) once the box dir exists; returns its ids. */
  createUser?: (() => Promise<{ uid: number; gid: number }>) | undefined;
  /** With a user CA: the one certificate principal the box accepts, written to `principals` beside the key file. */
  principal?: string | undefined;
}

/** Opens the boxes root after checking it (see openTrustedDir); the error names the config key that moves it. */
export function openBoxesRoot(path: string, asRoot: boolean): number {
  return openTrustedDir(path, {
    asRoot,
    uid: process.getuid?.() ?? 0,
    mode: asRoot ? 0o711 : 0o700,
    what: 'local boxes root',
    hint: asRoot
      ? `remove it (or set local.workRoot to a directory only root can write, such as /var/lib/crabbox/boxes) and try again`
      : 'set local.workRoot to a directory of yours that nobody else can write, or use the default state dir',
  });
}

/**
 * Makes a warm pool box's directory: `<root>/<id>` root's 0711 with `keys/` (0755) and `leases/` (0711), both root's,
 * and the owner marker. Lease users get their key, home and workdir in them at each grant.
 */
export async function makeSharedBox(layout: MachineLayout, boxesRoot: string): Promise<void> {
  const id = layout.boxDir.slice(layout.boxDir.lastIndexOf('/') + 1);
  const rootFd = openBoxesRoot(boxesRoot, true);
  try {
    try {
      const st = lstatSync(at(rootFd, id));
      const problem = await removeEntryAt(rootFd, id, st);
      if (problem) throw new CrabboxError('provider_error', `could not remove the old box dir ${layout.boxDir}: ${problem}`);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    makeDirAt(rootFd, id, 0o711);
    withFd(openDirAt(rootFd, id), (boxFd) => {
      if (statFd(boxFd).uid !== 0) throw new CrabboxError('provider_error', `box dir ${layout.boxDir} changed owner while it was being made`);
      createFileAt(boxFd, BOX.owner, `${layout.machineDir}\n`, 0o644);
      makeDirAt(boxFd, BOX.keys, 0o755);
      makeDirAt(boxFd, BOX.leases, 0o711);
    });
  } finally {
    closeSync(rootFd);
  }
}

/**
 * Makes a lease's box directory: `<root>/<leaseId>` (root-owned 0711 as root) with the authorized key beside the home
 * (root-owned 0644, so the lease user cannot change which key sshd accepts), the owner marker, and home, work and tmp
 * (0700, the lease user's). Every step goes through directory descriptors opened without following symlinks, and
 * ownership and modes are set on descriptors, so nothing here can be redirected to another file.
 */
export async function makeBox(layout: MachineLayout, boxesRoot: string, publicKey: string, owner: BoxOwner): Promise<void> {
  if (!owner.asRoot) {
    // sshd's StrictModes walks from the key file up to the home dir and refuses group/world-writable parents (/tmp, /var/tmp).
    const home = userInfo().homedir.replace(/\/+$/, '');
    if (!layout.authorizedKeys.startsWith(`${home}/`)) {
      throw new CrabboxError('invalid_config', `local boxes must live under your home directory ${home} (sshd StrictModes), not ${boxesRoot}`, {
        hint: 'set local.workRoot in your user config to a directory under your home, or use the default state dir',
      });
    }
  }
  const leaseId = layout.boxDir.slice(layout.boxDir.lastIndexOf('/') + 1);
  const rootFd = openBoxesRoot(boxesRoot, owner.asRoot);
  try {
    // Nobody else can write the root, so an entry already there is this lease's own, left by a crash: start again.
    try {
      const st = lstatSync(at(rootFd, leaseId));
      const problem = await removeEntryAt(rootFd, leaseId, st);
      if (problem) throw new CrabboxError('provider_error', `could not remove the old box dir ${layout.boxDir}: ${problem}`);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    makeDirAt(rootFd, leaseId, owner.asRoot ? 0o711 : 0o700);
    const boxFd = openDirAt(rootFd, leaseId);
    try {
      if (statFd(boxFd).uid !== (process.getuid?.() ?? 0)) throw new CrabboxError('provider_error', `box dir ${layout.boxDir} changed owner while it was being made`);
      createFileAt(boxFd, BOX.authorizedKeys, `${publicKey.trim()}\n`, owner.asRoot ? 0o644 : 0o600);
      createFileAt(boxFd, BOX.owner, `${layout.machineDir}\n`, owner.asRoot ? 0o644 : 0o600);
      if (owner.principal !== undefined) createFileAt(boxFd, BOX.principals, `${owner.principal}\n`, owner.asRoot ? 0o644 : 0o600);
      for (const dir of [BOX.home, BOX.work, BOX.tmp]) makeDirAt(boxFd, dir, 0o700);
      if (owner.asRoot && owner.createUser) {
        const ids = await owner.createUser();
        for (const dir of [BOX.home, BOX.work, BOX.tmp]) withFd(openDirAt(boxFd, dir), (fd) => settle(fd, 0o700, ids));
      }
    } finally {
      closeSync(boxFd);
    }
  } finally {
    closeSync(rootFd);
  }
}

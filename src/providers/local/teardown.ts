import { existsSync } from 'node:fs';
import { isLeaseId } from '../../domain/ids.ts';
import { LEASE_USER_PATTERN, leaseUserName, type MachineLayout } from './layout.ts';
import { readState } from './state.ts';
import { stopSshd } from './sshd.ts';
import { purgeUid, removeTree, type PurgeReport } from './purge.ts';
import { deleteAccount, killUserProcesses, lookupUser } from './users.ts';
import { keepUid, releaseUid, reservedUids } from './uids.ts';

export interface TeardownResult {
  /** Whether anything of the lease was there. */
  found: boolean;
  /** As root: what the purge of the lease user's files outside the box found; undefined when there was no user. */
  purge?: PurgeReport | undefined;
}

/**
 * Removes everything of one local machine, in an order that never strands anything: sshd (by pid file and by
 * command line, so one whose pid file never appeared is found too), then as root every process of the lease user
 * (a warm pool box: of every lease user granted on it), the box dir, the users' files in the shared temp dirs and
 * their IPC objects, and only then the users themselves; the machine dir (the state file cleanup finds a machine by)
 * goes last. A failing step throws before the later ones, so a retry still finds the lease. The caller holds the
 * lease's lock.
 */
export async function teardown(layout: MachineLayout, asRoot: boolean): Promise<TeardownResult> {
  const leaseId = layout.machineDir.slice(layout.machineDir.lastIndexOf('/') + 1);
  if (!isLeaseId(leaseId)) throw new Error(`malformed lease id in ${layout.machineDir}`);
  const state = await readState(layout.stateFile);
  let found = existsSync(layout.machineDir);
  if (await stopSshd(layout.pidFile, layout.sshdConfig)) found = true;

  const users: { name: string; uid: number }[] = [];
  if (asRoot) {
    const name = leaseUserName(leaseId);
    const uid = lookupUser(name)?.uid ?? reservedUids().find((r) => r.leaseId === leaseId)?.uid;
    if (uid !== undefined) users.push({ name, uid });
    // A warm pool box's lease users: their reservations name this machine dir.
    for (const r of reservedUids()) {
      if (r.machineDir === layout.machineDir && LEASE_USER_PATTERN.test(r.user) && !users.some((u) => u.name === r.user)) users.push({ name: r.user, uid: r.uid });
    }
  }
  for (const { name, uid } of users) {
    if (uid === 0) throw new Error(`lease user ${name} has uid 0; refusing to touch it`);
    found = true;
    await killUserProcesses(uid);
  }

  // The state file names the box dir it used (the boxes root may have moved since); only ever this lease's.
  const boxDirs = new Set([layout.boxDir]);
  if (state?.boxDir && state.boxDir.startsWith('/') && state.boxDir.endsWith(`/${leaseId}`)) boxDirs.add(state.boxDir);
  for (const dir of boxDirs) if (await removeTree(dir)) found = true;

  let purge: PurgeReport | undefined;
  for (const { name, uid } of users) {
    const report = await purgeUid(uid);
    await deleteAccount(name);
    // Not reused while anything of the old user may remain: an incomplete purge keeps the reservation (the orphan sweep retries).
    if (report.complete) releaseUid(uid);
    else keepUid(uid, report.problems);
    purge = purge ? { removed: [...purge.removed, ...report.removed], problems: [...purge.problems, ...report.problems], complete: purge.complete && report.complete } : report;
  }
  if (await removeTree(layout.machineDir)) found = true;
  return { found, purge };
}

import { existsSync } from 'node:fs';
import { isLeaseId } from '../../domain/ids.ts';
import { leaseUserName, type MachineLayout } from './layout.ts';
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
 * command line, so one whose pid file never appeared is found too), then as root every process of the lease user,
 * the box dir, the user's files in the shared temp dirs and its IPC objects, and only then the user itself; the
 * machine dir (the state file cleanup finds a machine by) goes last. A failing step throws before the later ones, so
 * a retry still finds the lease. The caller holds the lease's lock.
 */
export async function teardown(layout: MachineLayout, asRoot: boolean): Promise<TeardownResult> {
  const leaseId = layout.machineDir.slice(layout.machineDir.lastIndexOf('/') + 1);
  if (!isLeaseId(leaseId)) throw new Error(`malformed lease id in ${layout.machineDir}`);
  const state = await readState(layout.stateFile);
  let found = existsSync(layout.machineDir);
  if (await stopSshd(layout.pidFile, layout.sshdConfig)) found = true;

  const name = leaseUserName(leaseId);
  const user = asRoot ? lookupUser(name) : undefined;
  const reserved = asRoot ? reservedUids().find((r) => r.leaseId === leaseId) : undefined;
  const uid = user?.uid ?? reserved?.uid;
  if (uid === 0) throw new Error(`lease user ${name} has uid 0; refusing to touch it`);
  if (uid !== undefined) {
    found = true;
    await killUserProcesses(uid);
  }

  // The state file names the box dir it used (the boxes root may have moved since); only ever this lease's.
  const boxDirs = new Set([layout.boxDir]);
  if (state?.boxDir && state.boxDir.startsWith('/') && state.boxDir.endsWith(`/${leaseId}`)) boxDirs.add(state.boxDir);
  for (const dir of boxDirs) if (await removeTree(dir)) found = true;

  let purge: PurgeReport | undefined;
  if (uid !== undefined) {
    purge = await purgeUid(uid);
    await deleteAccount(name);
    // Not reused while anything of the old user may remain: an incomplete purge keeps the reservation (the orphan sweep retries).
    if (purge.complete) releaseUid(uid);
    else keepUid(uid, purge.problems);
  }
  if (await removeTree(layout.machineDir)) found = true;
  return { found, purge };
}

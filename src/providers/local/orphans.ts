import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { basename, dirname, isAbsolute, join } from 'node:path';
import type { DanglingObject, DanglingSweepReport } from '../provider.ts';
import { isLeaseId } from '../../domain/ids.ts';
import { BOX } from './layout.ts';
import { listProcesses } from './procs.ts';
import { sshdConfigOf, sshdsWithConfig } from './sshd.ts';
import { reservedUids } from './uids.ts';

export interface OrphanScope {
  /** `<stateDir>/local`: machines of this state dir, and only those, are this sweep's. */
  localDir: string;
  boxesRoot: string;
  asRoot: boolean;
}

/** An orphan, and for a box of another state dir, that state dir (its teardown needs that layout, not ours). */
export type Orphan = DanglingObject & { stateDir?: string | undefined };

/**
 * What is left of leases whose machine dir is gone. The machine dir is made before anything else of a lease and
 * removed after everything else, so without it nothing is being created or used: an sshd started with a config in it
 * (a create that lost a race with delete, before this was fixed, left those listening forever), a box dir whose owner
 * marker names it, a lease UID reservation naming it (a user, or files of a removed user still being purged).
 * As root, also a box dir whose marker names another state dir's machine dir when that machine dir is gone and no
 * sshd serves the box: nothing can reach or manage it any more (its state dir was deleted with a lease still on it),
 * and the same order of creation proves no create is under way. A box whose sshd still runs is left to its own state
 * dir's sweep.
 */
export function findOrphans(scope: OrphanScope): Map<string, Orphan> {
  const out = new Map<string, Orphan>();
  const gone = (leaseId: string): boolean => isLeaseId(leaseId) && !existsSync(join(scope.localDir, leaseId));
  const prefix = `${scope.localDir}/`;
  for (const p of listProcesses()) {
    const config = sshdConfigOf(p.pid);
    if (!config?.startsWith(prefix) || !config.endsWith('/sshd_config')) continue;
    const leaseId = config.slice(prefix.length, -'/sshd_config'.length);
    if (gone(leaseId)) out.set(leaseId, { kind: 'sshd', name: `pid ${p.pid}`, leaseId, reason: 'listening without its machine dir' });
  }
  let boxes: string[] = [];
  try {
    boxes = readdirSync(scope.boxesRoot);
  } catch {
    // no boxes root yet
  }
  for (const leaseId of boxes) {
    if (out.has(leaseId) || !gone(leaseId)) continue;
    let owner = '';
    try {
      owner = readFileSync(join(scope.boxesRoot, leaseId, BOX.owner), 'utf8').trim();
    } catch {
      continue; // no marker: not provably this state dir's box
    }
    if (owner === join(scope.localDir, leaseId)) out.set(leaseId, { kind: 'box dir', name: join(scope.boxesRoot, leaseId), leaseId, reason: 'left without its machine dir' });
    else if (scope.asRoot && isForeignDeadBox(owner, leaseId)) {
      const stateDir = dirname(dirname(owner));
      out.set(leaseId, { kind: 'box dir', name: join(scope.boxesRoot, leaseId), leaseId, stateDir, reason: `left without its machine dir in another state dir (${stateDir}), and no sshd serves it` });
    }
  }
  if (scope.asRoot) {
    for (const r of reservedUids()) {
      if (out.has(r.leaseId) || r.machineDir !== join(scope.localDir, r.leaseId) || !gone(r.leaseId)) continue;
      out.set(r.leaseId, { kind: 'lease user', name: `${r.user} (uid ${r.uid})`, leaseId: r.leaseId, reason: 'user or its files left without its machine dir' });
    }
  }
  return out;
}

export type { DanglingSweepReport };

/** A marker `<state dir>/local/<lease id>` whose machine dir is gone and whose sshd is not running. */
function isForeignDeadBox(owner: string, leaseId: string): boolean {
  if (!isAbsolute(owner) || basename(owner) !== leaseId || basename(dirname(owner)) !== 'local') return false;
  return !existsSync(owner) && sshdsWithConfig(join(owner, 'sshd_config')).length === 0;
}

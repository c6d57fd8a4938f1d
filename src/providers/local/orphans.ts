import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { DanglingObject, DanglingSweepReport } from '../provider.ts';
import { isLeaseId } from '../../domain/ids.ts';
import { BOX } from './layout.ts';
import { listProcesses } from './procs.ts';
import { sshdConfigOf } from './sshd.ts';
import { reservedUids } from './uids.ts';

export interface OrphanScope {
  /** `<stateDir>/local`: machines of this state dir, and only those, are this sweep's. */
  localDir: string;
  boxesRoot: string;
  asRoot: boolean;
}

/**
 * What is left of leases whose machine dir is gone. The machine dir is made before anything else of a lease and
 * removed after everything else, so without it nothing is being created or used: an sshd started with a config in it
 * (a create that lost a race with delete, before this was fixed, left those listening forever), a box dir whose owner
 * marker names it, a lease UID reservation naming it (a user, or files of a removed user still being purged).
 */
export function findOrphans(scope: OrphanScope): Map<string, DanglingObject> {
  const out = new Map<string, DanglingObject>();
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

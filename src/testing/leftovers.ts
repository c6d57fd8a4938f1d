import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isLeaseId } from '../domain/ids.ts';
import { commandLine, listProcesses } from '../providers/local/procs.ts';
import { ROOT_BOXES_DIR, leaseUserName } from '../providers/local/layout.ts';
import { lookupUser } from '../providers/local/users.ts';
import { createLocalProvider } from '../providers/local/local-provider.ts';
import { reservedUids } from '../providers/local/uids.ts';

/** Everything a local lease could leave behind, as readable strings (empty when nothing is left). */
export function leaseLeftovers(options: { stateDir: string; leaseId: string; boxesRoot?: string }): string[] {
  const { stateDir, leaseId } = options;
  const left: string[] = [];
  const machineDir = join(stateDir, 'local', leaseId);
  for (const path of [machineDir, join(stateDir, 'leases', leaseId), join(options.boxesRoot ?? ROOT_BOXES_DIR, leaseId)]) {
    if (existsSync(path)) left.push(`path ${path}`);
  }
  for (const p of listProcesses()) {
    const line = commandLine(p.pid)?.join(' ') ?? '';
    if (line.includes(machineDir) || line.includes(leaseId) || line.includes(leaseUserName(leaseId))) left.push(`process ${p.pid}: ${line}`);
  }
  if (lookupUser(leaseUserName(leaseId))) left.push(`user ${leaseUserName(leaseId)}`);
  const reserved = reservedUids().find((r) => r.leaseId === leaseId);
  if (reserved) left.push(`uid ${reserved.uid} still reserved${reserved.left ? `: ${reserved.left.join('; ')}` : ''}`);
  return left;
}

/** Lease ids that have a machine dir under a state dir (not the provider's `.locks` and `.released`). */
export function machineDirs(stateDir: string): string[] {
  try {
    return readdirSync(join(stateDir, 'local')).filter(isLeaseId);
  } catch {
    return [];
  }
}

/**
 * Deletes every `local` box a coordinator made under its state dir (pool machines outlive the coordinator process by
 * design), then returns the boxes under the shared root still owned by a path under `ownerPrefix`: empty when the
 * test left nothing behind.
 */
export async function removeCoordinatorBoxes(coordinatorStateDir: string, ownerPrefix: string): Promise<string[]> {
  const local = createLocalProvider({ stateDir: coordinatorStateDir });
  for (const m of await local.list({})) await local.delete(m.providerId);
  return readdirSync(ROOT_BOXES_DIR).filter((id) => {
    try {
      return readFileSync(join(ROOT_BOXES_DIR, id, 'owner'), 'utf8').startsWith(ownerPrefix);
    } catch {
      return false;
    }
  });
}

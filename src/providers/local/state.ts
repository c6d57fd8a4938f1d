import { readdir } from 'node:fs/promises';
import { writeFileAtomic } from '../../fs/atomic-write.ts';
import { join } from 'node:path';
import type { Labels } from '../../domain/labels.ts';
import { isLeaseId } from '../../domain/ids.ts';
import { readSmall } from '../../fs/small-read.ts';

/** What the local provider remembers about one machine (the state file, `machine.json`). */
export interface LocalMachineState {
  leaseId: string;
  labels: Labels;
  host: string;
  port: number;
  sshUser: string;
  /** True when this machine has its own Unix user (created by crabbox as root), removed with it. */
  ownUser: boolean;
  boxDir: string;
  workRoot: string;
  hostKey: string;
  phase: 'provisioning' | 'running';
  createdAt: number;
  /** A warm pool box: no user of its own; lease users are added and removed by src/machine-access/local.ts. */
  shared?: boolean | undefined;
}

/** Writes the state file atomically: a temp file (0600) renamed over the old one. */
export async function writeState(file: string, state: LocalMachineState): Promise<void> {
  writeFileAtomic(file, `${JSON.stringify(state, null, 2)}\n`);
}

/** Reads a state file; undefined when missing or not a well-formed state. */
export async function readState(file: string): Promise<LocalMachineState | undefined> {
  const text = readSmall(file);
  if (text === undefined) return undefined;
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return undefined;
  }
  const s = data as Partial<LocalMachineState>;
  if (!s || typeof s !== 'object' || typeof s.leaseId !== 'string' || !isLeaseId(s.leaseId) || typeof s.labels !== 'object' || typeof s.port !== 'number') return undefined;
  return s as LocalMachineState;
}

/** The lease ids that have a machine directory under `<stateDir>/local`. */
export async function machineIds(localDir: string): Promise<string[]> {
  try {
    return (await readdir(localDir)).filter(isLeaseId).sort();
  } catch {
    return [];
  }
}

export const stateFileIn = (machineDir: string): string => join(machineDir, 'machine.json');

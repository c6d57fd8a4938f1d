import { readFileSync } from 'node:fs';

/** The process that owns a running record: its pid and, where /proc exists, its start time (to survive pid reuse). */
export interface OwnerProcess {
  pid: number;
  /** Field 22 of /proc/<pid>/stat (clock ticks since boot); absent where there is no /proc. */
  startTicks?: string;
}

/** The start time of a process from /proc, or undefined when it cannot be read. */
function startTicks(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: count fields after its closing parenthesis.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** This process, as a run record stores it. */
export function currentProcess(): OwnerProcess {
  const ticks = startTicks(process.pid);
  return { pid: process.pid, ...(ticks === undefined ? {} : { startTicks: ticks }) };
}

/** True when the owner has certainly exited: no such pid, or the pid now belongs to a process started later. */
export function ownerGone(owner: OwnerProcess): boolean {
  if (!Number.isInteger(owner.pid) || owner.pid <= 0) return false;
  try {
    process.kill(owner.pid, 0);
  } catch (error) {
    // EPERM: the pid is alive but someone else's; only ESRCH proves it is gone.
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return true;
  }
  if (owner.startTicks === undefined) return false;
  const now = startTicks(owner.pid);
  return now !== undefined && now !== owner.startTicks;
}

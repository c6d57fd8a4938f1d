import { spawn } from 'node:child_process';
import { closeSync, existsSync, lstatSync, readFileSync, readdirSync, unlinkSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { CrabboxError } from '../../domain/errors.ts';
import { at, openDir, openDirAt, statFd } from './safe-fs.ts';

/** Where any account may leave files: a lease user's files there are removed with the user. */
export const SHARED_TEMP_DIRS = ['/tmp', '/var/tmp', '/dev/shm', '/run/lock', '/dev/mqueue'] as const;

/** How deep the scan follows other accounts' directories, and how many entries it looks at, before it gives up. */
const MAX_DEPTH = 64;
const MAX_ENTRIES = 500_000;

/** What a purge did. `complete` is false when something of the UID may remain (the UID then stays reserved). */
export interface PurgeReport {
  removed: string[];
  problems: string[];
  complete: boolean;
}

/**
 * `rm -rf --one-file-system` of one entry: GNU rm walks the tree relative to directory descriptors, so depth is not
 * limited by PATH_MAX, it never follows a symlink, and it never leaves the file system it started on. `dirFd` is handed
 * to rm as its fd 3 and the entry is named through it, so the path to the parent is not resolved again.
 */
function rmTreeAt(dirFd: number, name: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('rm', ['-rf', '--one-file-system', '--', `/proc/self/fd/3/${name}`], { stdio: ['ignore', 'ignore', 'pipe', dirFd] });
    let stderr = '';
    child.stderr?.on('data', (b: Buffer) => {
      if (stderr.length < 4096) stderr += b.toString();
    });
    child.on('error', reject);
    child.on('close', () => resolve(stderr.trim()));
  });
}

function lstatAt(dirFd: number, name: string): Stats | undefined {
  try {
    return lstatSync(at(dirFd, name));
  } catch {
    return undefined;
  }
}

/** Removes one entry of a directory (a whole tree for a directory); returns a problem, or undefined when it is gone. */
export async function removeEntryAt(dirFd: number, name: string, st: Stats): Promise<string | undefined> {
  let detail = '';
  if (st.isDirectory()) detail = await rmTreeAt(dirFd, name);
  else {
    try {
      unlinkSync(at(dirFd, name));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') detail = (error as Error).message;
    }
  }
  return lstatAt(dirFd, name) ? detail.split('\n')[0] || 'still there' : undefined;
}

/**
 * Removes a tree crabbox made (a box directory). The parent must be trusted (root's and not writable by others): the
 * tree's own content may be anything a lease user made, deeper than PATH_MAX included.
 */
export async function removeTree(path: string): Promise<boolean> {
  const slash = path.lastIndexOf('/');
  const parent = path.slice(0, slash) || '/';
  const name = path.slice(slash + 1);
  let dirFd: number;
  try {
    dirFd = openDir(parent);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
  try {
    const st = lstatAt(dirFd, name);
    if (!st) return false;
    const problem = await removeEntryAt(dirFd, name, st);
    if (problem) throw new CrabboxError('provider_error', `could not remove ${path}: ${problem}`);
    return true;
  } finally {
    closeSync(dirFd);
  }
}

interface Walk {
  uid: number;
  dev: number;
  entries: number;
  report: PurgeReport;
}

async function walk(state: Walk, dirFd: number, shown: string, depth: number): Promise<void> {
  let names: string[];
  try {
    names = readdirSync(`/proc/self/fd/${dirFd}`);
  } catch (error) {
    state.report.problems.push(`${shown}: ${(error as Error).message}`);
    state.report.complete = false;
    return;
  }
  for (const name of names) {
    if (++state.entries > MAX_ENTRIES) {
      if (state.report.complete) state.report.problems.push(`more than ${MAX_ENTRIES} entries; stopped looking`);
      state.report.complete = false;
      return;
    }
    const st = lstatAt(dirFd, name);
    if (!st || st.dev !== state.dev) continue; // gone meanwhile, or another file system mounted here
    const path = join(shown, name);
    if (st.uid === state.uid) {
      const problem = await removeEntryAt(dirFd, name, st);
      if (problem) {
        state.report.problems.push(`${path}: ${problem}`);
        state.report.complete = false;
      } else {
        state.report.removed.push(path);
      }
      continue;
    }
    if (!st.isDirectory()) continue;
    if (depth >= MAX_DEPTH) {
      state.report.problems.push(`${path}: deeper than ${MAX_DEPTH} levels; not searched`);
      state.report.complete = false;
      continue;
    }
    let child: number;
    try {
      child = openDirAt(dirFd, name);
    } catch {
      continue; // replaced or removed since the lstat; it is someone else's entry either way
    }
    try {
      const now = statFd(child);
      if (now.ino === st.ino && now.dev === st.dev) await walk(state, child, path, depth + 1);
    } finally {
      closeSync(child);
    }
  }
}

/**
 * Removes everything a UID owns in the shared temp directories (whole trees for its directories, whatever is inside),
 * searching other accounts' directories there too, without following symlinks or leaving the directory's file system.
 * Runs after every process of the UID is gone, so nothing of it changes meanwhile.
 */
export async function purgeUid(uid: number, dirs: readonly string[] = SHARED_TEMP_DIRS): Promise<PurgeReport> {
  const report: PurgeReport = { removed: [], problems: [], complete: true };
  for (const dir of dirs) {
    if (!existsSync(dir)) continue;
    let fd: number;
    try {
      fd = openDir(dir);
    } catch (error) {
      report.problems.push(`${dir}: ${(error as Error).message}`);
      report.complete = false;
      continue;
    }
    try {
      await walk({ uid, dev: statFd(fd).dev, entries: 0, report }, fd, dir, 0);
    } finally {
      closeSync(fd);
    }
  }
  await removeIpc(uid, report);
  return report;
}

const IPC_KINDS = [
  { file: '/proc/sysvipc/shm', flag: '-m', name: 'shared memory segment' },
  { file: '/proc/sysvipc/msg', flag: '-q', name: 'message queue' },
  { file: '/proc/sysvipc/sem', flag: '-s', name: 'semaphore set' },
] as const;

/** System V IPC objects a UID owns or created, by kind, from /proc/sysvipc. */
export function ipcObjectsOf(uid: number): { flag: string; id: string; name: string }[] {
  const out: { flag: string; id: string; name: string }[] = [];
  for (const kind of IPC_KINDS) {
    let lines: string[];
    try {
      lines = readFileSync(kind.file, 'utf8').trim().split('\n');
    } catch {
      continue;
    }
    const header = (lines.shift() ?? '').trim().split(/\s+/);
    const uidAt = header.indexOf('uid');
    const cuidAt = header.indexOf('cuid');
    for (const line of lines) {
      const cols = line.trim().split(/\s+/);
      if (cols[uidAt] === String(uid) || cols[cuidAt] === String(uid)) out.push({ flag: kind.flag, id: cols[1]!, name: kind.name });
    }
  }
  return out;
}

async function removeIpc(uid: number, report: PurgeReport): Promise<void> {
  for (const object of ipcObjectsOf(uid)) {
    const problem = await new Promise<string>((resolve) => {
      const child = spawn('ipcrm', [object.flag, object.id], { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
      child.on('error', (error) => resolve(error.message));
      child.on('close', () => resolve(stderr.trim()));
    });
    const left = ipcObjectsOf(uid).some((o) => o.flag === object.flag && o.id === object.id);
    if (left) {
      report.problems.push(`${object.name} ${object.id}: ${problem || 'still there'}`);
      report.complete = false;
    } else {
      report.removed.push(`${object.name} ${object.id}`);
    }
  }
}

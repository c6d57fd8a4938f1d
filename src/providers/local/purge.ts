import { spawn } from 'node:child_process';
import { closeSync, existsSync, lstatSync, readFileSync, unlinkSync, type Stats } from 'node:fs';
import { CrabboxError } from '../../domain/errors.ts';
import { at, openDir, openDirAt, statFd } from './safe-fs.ts';

/** Where any account may leave files: a lease user's files there are removed with the user. */
export const SHARED_TEMP_DIRS = ['/tmp', '/var/tmp', '/dev/shm', '/run/lock', '/dev/mqueue'] as const;

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
    // Missing, or not a real directory (a symlink in its place): nothing crabbox made can be below it.
    if (['ENOENT', 'ENOTDIR', 'ELOOP'].includes((error as NodeJS.ErrnoException).code ?? '')) return false;
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

/** Paths under `dir` (not leaving its file system) owned by `uid`; a directory of the UID is listed, not its content. */
function findOwned(uid: number, dir: string): Promise<{ paths: string[]; problems: string[] }> {
  return new Promise((resolve, reject) => {
    const child = spawn('find', [dir, '-xdev', '-uid', String(uid), '-prune', '-print0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => {
      if (stderr.length < 16_384) stderr += b.toString();
    });
    child.on('error', reject);
    child.on('close', () => {
      // Entries of other accounts that vanish during the search are no concern of ours.
      const problems = stderr.split('\n').filter((l) => l.trim() && !/No such file or directory/.test(l));
      resolve({ paths: Buffer.concat(out).toString().split('\0').filter(Boolean), problems });
    });
  });
}

/**
 * Removes one path `find` reported, reaching it from the shared directory one component at a time through
 * descriptors opened without following symlinks: another account may rename or swap its own directories on the way
 * while this runs, but can never make root remove anything outside the directory it started from. Paths longer than
 * PATH_MAX are fine (no call ever sees the whole path).
 */
async function removeFound(rootFd: number, rootDev: number, relative: string, uid: number): Promise<string | undefined> {
  const parts = relative.split('/').filter(Boolean);
  const name = parts.pop();
  if (!name) return 'nothing to remove';
  let fd = rootFd;
  try {
    for (const part of parts) {
      let next: number;
      try {
        next = openDirAt(fd, part);
      } catch (error) {
        return `${part}: ${(error as NodeJS.ErrnoException).code ?? 'cannot open'} on the way`;
      }
      if (fd !== rootFd) closeSync(fd);
      fd = next;
      if (statFd(fd).dev !== rootDev) return 'on another file system';
    }
    const st = lstatAt(fd, name);
    if (!st) return undefined; // gone meanwhile
    if (st.uid !== uid) return 'owner changed'; // swapped: whatever is there now is not the UID's
    return await removeEntryAt(fd, name, st);
  } finally {
    if (fd !== rootFd) closeSync(fd);
  }
}

/**
 * Removes everything a UID owns in the shared temp directories (whole trees for its directories, whatever is inside),
 * also inside other accounts' directories there, without following symlinks or leaving the directory's file system;
 * then searches again, so `complete` means nothing of the UID was found there any more. Runs after every process
 * of the UID is gone, so nothing of it changes meanwhile.
 */
export async function purgeUid(uid: number, dirs: readonly string[] = SHARED_TEMP_DIRS): Promise<PurgeReport> {
  const report: PurgeReport = { removed: [], problems: [], complete: true };
  const fail = (problem: string): void => {
    report.problems.push(problem);
    report.complete = false;
  };
  for (const dir of dirs) {
    if (!existsSync(dir)) continue;
    let fd: number;
    try {
      fd = openDir(dir);
    } catch (error) {
      fail(`${dir}: ${(error as Error).message}`);
      continue;
    }
    try {
      const dev = statFd(fd).dev;
      const found = await findOwned(uid, dir);
      for (const path of found.paths) {
        if (path === dir) {
          fail(`${dir} itself belongs to uid ${uid}`);
          continue;
        }
        const problem = await removeFound(fd, dev, path.slice(dir.length), uid);
        if (problem) fail(`${path}: ${problem}`);
        else report.removed.push(path);
      }
      const again = await findOwned(uid, dir);
      for (const problem of again.problems) fail(problem);
      for (const path of again.paths.filter((p) => !report.problems.some((q) => q.startsWith(`${p}:`)))) fail(`${path}: still there`);
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

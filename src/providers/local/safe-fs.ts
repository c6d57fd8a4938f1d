import { randomBytes } from 'node:crypto';
import { closeSync, constants, existsSync, fchmodSync, fchownSync, fstatSync, mkdirSync, openSync, renameSync, rmSync, writeSync, type Stats } from 'node:fs';

// Root writes into directories other accounts may be able to reach, so every step here works on an open directory
// descriptor instead of a path: `/proc/self/fd/<fd>/<name>` resolves <name> inside the directory that descriptor
// holds, however the path to it has been renamed or swapped for a symlink since it was opened. That is the
// openat(2)/mkdirat(2) family, which Node does not expose. The last component is never followed (O_NOFOLLOW).

const { O_RDONLY, O_WRONLY, O_CREAT, O_EXCL, O_DIRECTORY, O_NOFOLLOW } = constants;

const DIR_FLAGS = O_RDONLY | O_DIRECTORY | O_NOFOLLOW;

function checkName(name: string): string {
  if (name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\0')) throw new Error(`not a single path component: ${JSON.stringify(name)}`);
  return name;
}

/** The path of `name` inside the directory open as `dirFd`, resolved through the descriptor, not the directory's path. */
export function at(dirFd: number, name: string): string {
  if (!existsSync('/proc/self/fd')) throw new Error('/proc is not mounted; the local provider needs it');
  return `/proc/self/fd/${dirFd}/${checkName(name)}`;
}

/** Opens a directory without following a symlink in the last component (ELOOP / ENOTDIR when it is not a real directory). */
export function openDir(path: string): number {
  return openSync(path, DIR_FLAGS);
}

/** Opens the directory `name` inside `dirFd`, never through a symlink. */
export function openDirAt(dirFd: number, name: string): number {
  return openSync(at(dirFd, name), DIR_FLAGS);
}

/** Creates the directory `name` inside `dirFd` (EEXIST when anything of that name is there, a symlink included). */
export function mkdirAt(dirFd: number, name: string, mode: number): void {
  mkdirSync(at(dirFd, name), { mode });
}

/** Sets exact mode (whatever the umask was) and, when given, the owner, through a descriptor. */
export function settle(fd: number, mode: number, owner?: { uid: number; gid: number }): void {
  if (owner) fchownSync(fd, owner.uid, owner.gid);
  fchmodSync(fd, mode);
}

/** Runs `fn` with a descriptor and closes it afterwards. */
export function withFd<T>(fd: number, fn: (fd: number) => T): T {
  try {
    return fn(fd);
  } finally {
    closeSync(fd);
  }
}

/** Creates a new directory inside `dirFd` and gives it its exact mode and owner through its own descriptor. */
export function makeDirAt(dirFd: number, name: string, mode: number, owner?: { uid: number; gid: number }): void {
  mkdirAt(dirFd, name, 0o700);
  withFd(openDirAt(dirFd, name), (fd) => settle(fd, mode, owner));
}

/**
 * Writes a file that must not exist yet inside `dirFd`: created exclusively (O_EXCL never opens an existing file or
 * follows a symlink), mode and owner set on the descriptor before the content goes in.
 */
export function createFileAt(dirFd: number, name: string, text: string, mode: number, owner?: { uid: number; gid: number }): void {
  withFd(openSync(at(dirFd, name), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600), (fd) => {
    settle(fd, mode, owner);
    writeSync(fd, text);
  });
}

/** Replaces (or creates) a file inside `dirFd` atomically: a fresh exclusive temp file renamed over the name. */
export function replaceFileAt(dirFd: number, name: string, text: string, mode: number): void {
  const tmp = `.${checkName(name)}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    createFileAt(dirFd, tmp, text, mode);
    renameSync(at(dirFd, tmp), at(dirFd, name));
  } catch (error) {
    rmSync(at(dirFd, tmp), { force: true });
    throw error;
  }
}

/** fstat of an open descriptor. */
export const statFd = (fd: number): Stats => fstatSync(fd);

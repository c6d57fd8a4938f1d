import { closeSync, lstatSync, mkdirSync, realpathSync, type Stats } from 'node:fs';
import { dirname, isAbsolute, join, resolve, sep } from 'node:path';
import { CrabboxError } from '../../domain/errors.ts';
import { openDir, settle, statFd, withFd } from './safe-fs.ts';

const STICKY = 0o1000;

/** Who must own a trusted directory: root (as root), or the invoking user (a normal user's own boxes). */
export interface TrustOptions {
  /** True when crabbox runs as root: the directory and every ancestor must be root's. */
  asRoot: boolean;
  /** The invoking user's uid (the owner of a normal user's boxes root). */
  uid: number;
  /** Mode given to the directory when crabbox creates it. */
  mode: number;
  /** What the directory is, for messages ("local boxes root"). */
  what: string;
  hint: string;
}

const octal = (mode: number): string => `0${(mode & 0o7777).toString(8)}`;

function refuse(options: TrustOptions, path: string, why: string): never {
  throw new CrabboxError('invalid_config', `refusing the ${options.what} ${path}: ${why}`, { hint: options.hint });
}

function lstatOrUndefined(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/**
 * An ancestor of a root-owned directory is safe when nobody but root can rename what is inside it: root's, and either
 * not writable by group or others, or sticky (then only an entry's owner, root, may rename that entry). It must also
 * be searchable by others, or a lease user could not reach its home below it.
 */
function checkAncestor(options: TrustOptions, path: string, st: Stats): void {
  if (!st.isDirectory()) refuse(options, path, `${path} is not a directory`);
  if (st.uid !== 0) refuse(options, path, `its parent ${path} is owned by uid ${st.uid}, not root`);
  if ((st.mode & 0o022) !== 0 && (st.mode & STICKY) === 0) refuse(options, path, `its parent ${path} is writable by others (mode ${octal(st.mode)})`);
  if ((st.mode & 0o001) === 0) refuse(options, path, `its parent ${path} is not searchable by other users (mode ${octal(st.mode)}), so a lease user could not reach its box`);
}

function checkTarget(options: TrustOptions, path: string, st: Stats): void {
  const owner = options.asRoot ? 0 : options.uid;
  if (st.isSymbolicLink()) refuse(options, path, 'it is a symlink');
  if (!st.isDirectory()) refuse(options, path, 'it is not a directory');
  if (st.uid !== owner) refuse(options, path, `it is owned by uid ${st.uid}, not ${options.asRoot ? 'root' : `you (uid ${owner})`}`);
  if ((st.mode & 0o022) !== 0) refuse(options, path, `it is writable by group or others (mode ${octal(st.mode)})`);
}

/**
 * Makes sure a directory crabbox writes into as root is really its own, and returns it open (O_NOFOLLOW). Checked with
 * lstat on every call, not only when created: a real directory, owned by root (by the invoking user when not root),
 * not writable by group or others; as root every ancestor too (see checkAncestor). Missing components are created one
 * level at a time (ancestors 0755, the directory itself `mode`), each set to its exact mode through its descriptor
 * and checked again, so a directory another account made first, or swapped in, is refused rather than used.
 */
export function openTrustedDir(path: string, options: TrustOptions): number {
  if (!isAbsolute(path)) refuse(options, path, 'it is not an absolute path');
  const wanted = resolve(path);
  // Symlinks in ancestors (such as /var/run -> /run) are resolved once, up front; every component is then checked as a
  // real directory. The directory itself is never resolved: a symlink there is refused.
  let existing = dirname(wanted);
  while (!lstatOrUndefined(existing) && dirname(existing) !== existing) existing = dirname(existing);
  const target = join(realpathSync(existing), wanted.slice(existing.length));
  const parts = target.split(sep).filter(Boolean);
  let current: string = sep;
  for (let i = 0; i < parts.length; i++) {
    const last = i === parts.length - 1;
    current = join(current, parts[i]!);
    let st = lstatOrUndefined(current);
    if (!st) {
      try {
        mkdirSync(current, { mode: 0o700 });
        withFd(openDir(current), (fd) => settle(fd, last ? options.mode : 0o755));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      st = lstatSync(current);
    }
    if (!last && options.asRoot) checkAncestor(options, current, st);
    else if (!last && !st.isDirectory()) refuse(options, current, `${current} is not a directory`);
    if (last) checkTarget(options, current, st);
  }
  const fd = openDir(target);
  try {
    const st = statFd(fd);
    checkTarget(options, target, st);
    return fd;
  } catch (error) {
    closeSync(fd);
    throw error;
  }
}

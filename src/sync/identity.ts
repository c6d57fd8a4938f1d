import { createHash, type Hash } from 'node:crypto';
import { createReadStream, type BigIntStats } from 'node:fs';
import { lstat, readlink } from 'node:fs/promises';

/**
 * What a synced path holds, named the way git names it: `<mode> <object id>`, with mode 100644, 100755 or 120000
 * (symlink). Two paths with the same identity have the same bytes and the same executable bit, so the identity is
 * all the fingerprint and the change list need. A clean tracked file's identity is its index entry; a changed or
 * untracked file's is computed here (git's blob id of the bytes on disk).
 */
export interface FileState {
  id: string;
  /** lstat size: file bytes, or the link target's length for a symlink. */
  size: number;
}

/** What lstat says about a path, as far as sync cares. */
export type PathKind = 'file' | 'symlink' | 'directory' | 'other' | 'missing';

export function kindOf(st: BigIntStats | undefined): PathKind {
  if (!st) return 'missing';
  if (st.isFile()) return 'file';
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isDirectory()) return 'directory';
  return 'other';
}

/** git's mode for a file or symlink (only the owner's executable bit counts, as in git). */
export function gitMode(st: BigIntStats): string {
  if (st.isSymbolicLink()) return '120000';
  return (st.mode & 0o100n) !== 0n ? '100755' : '100644';
}

/**
 * The stat fields that change whenever a file's bytes or mode change: size, nanosecond mtime and ctime, inode, mode.
 * ctime cannot be set by a program, so an edit that restores size and mtime (`touch -d`) still changes it.
 */
export function statSignature(st: BigIntStats): string {
  return `${st.size}:${st.mtimeNs}:${st.ctimeNs}:${st.ino}:${st.mode}:${st.dev}`;
}

/** lstat with nanosecond times; undefined when the path is gone (or a parent is no longer a folder). */
export async function lstatExact(path: string): Promise<BigIntStats | undefined> {
  try {
    return await lstat(path, { bigint: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw error;
  }
}

async function hashStream(hash: Hash, path: string): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    let bytes = 0;
    const stream = createReadStream(path);
    stream.on('data', (chunk) => {
      bytes += chunk.length;
      hash.update(chunk);
    });
    stream.on('error', reject);
    stream.on('end', () => resolve(bytes));
  });
}

/**
 * The identity of a file or symlink whose lstat is `st`, hashed the way git hashes a blob with `algorithm` (sha1,
 * or sha256 for a SHA-256 repository). Undefined when the path changed kind or vanished while being read.
 */
export async function identify(path: string, st: BigIntStats, algorithm: 'sha1' | 'sha256'): Promise<FileState | undefined> {
  const hash = createHash(algorithm);
  try {
    if (st.isSymbolicLink()) {
      const target = await readlink(path, { encoding: 'buffer' });
      hash.update(`blob ${target.length}\0`).update(target);
      return { id: `120000 ${hash.digest('hex')}`, size: target.length };
    }
    // git's header carries the length lstat saw. A file that changes while it is read gets an id no clean file
    // has, and its new stat signature makes the next run read it again.
    hash.update(`blob ${st.size}\0`);
    const size = await hashStream(hash, path);
    return { id: `${gitMode(st)} ${hash.digest('hex')}`, size };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR' || code === 'EINVAL') return undefined;
    throw error;
  }
}

import { lstat, readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { encodeBlob, field } from './protocol.ts';

/** At most this many files, this many bytes in all, go inline; more is rsync's job. */
export const INLINE_MAX_FILES = 4;
export const INLINE_MAX_BYTES = 1 << 20;

/**
 * A few small files as the wrapper's `inline_files` reads them (src/sync/remote/crabbox-run.sh): the word
 * `inline`, a count, then per file its path, kind, mode, mtime and content or link target. Undefined when the
 * files are too many or too big, or one is not a regular file or symlink any more: rsync sends them then.
 */
export async function inlinePayload(repoRoot: string, paths: readonly string[]): Promise<Buffer | undefined> {
  if (paths.length === 0 || paths.length > INLINE_MAX_FILES) return undefined;
  const parts: Buffer[] = [field('inline'), field(paths.length)];
  let bytes = 0;
  for (const path of paths) {
    const full = join(repoRoot, path);
    const st = await lstat(full, { bigint: true }).catch(() => undefined);
    if (!st || (!st.isFile() && !st.isSymbolicLink())) return undefined;
    bytes += Number(st.size);
    if (bytes > INLINE_MAX_BYTES) return undefined;
    const mtime = `${st.mtimeNs / 1_000_000_000n}.${String(st.mtimeNs % 1_000_000_000n).padStart(9, '0')}`;
    const mode = (Number(st.mode) & 0o777).toString(8).padStart(3, '0');
    if (st.isSymbolicLink()) {
      const target = await readlink(full).catch(() => undefined);
      if (target === undefined || target.includes('\0')) return undefined;
      parts.push(...[path, 'l', mode, mtime, target].map(field));
    } else {
      const content = await readFile(full).catch(() => undefined);
      if (!content || content.length > INLINE_MAX_BYTES) return undefined;
      parts.push(...[path, 'f', mode, mtime].map(field), encodeBlob(content));
    }
  }
  return Buffer.concat(parts);
}

import { randomBytes } from 'node:crypto';
import { closeSync, fchmodSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/**
 * Writes `text` to `path` atomically with mode 0600: a fresh temp file in the same directory (created exclusively,
 * fsynced), renamed over the old file. Readers see the old or the new content, never a torn one; the temp file is
 * removed when anything fails. The directory must exist; errors are the raw Node errors. `durable: false` skips the
 * fsync, for files whose loss in a power cut is harmless (readers still never see a torn file while the system runs).
 */
export function writeFileAtomic(path: string, text: string | Uint8Array, options: { durable?: boolean } = {}): void {
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    const fd = openSync(tmp, 'wx', 0o600);
    try {
      // Exactly 0600 whatever the umask, before the name becomes visible.
      fchmodSync(fd, 0o600);
      if (typeof text === 'string') writeSync(fd, text);
      else writeSync(fd, text);
      if (options.durable !== false) fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (error) {
    rmSync(tmp, { force: true });
    throw error;
  }
}

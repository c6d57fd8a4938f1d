import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { gitChangedSinceHead, gitHead } from './git.ts';
import type { Manifest } from './manifest.ts';
import { manifestList } from './manifest.ts';

/** Bump when anything that decides the box's tree changes meaning (rsync flags, deletion rules). */
export const SYNC_FORMAT = 'crabbox-sync/1';

async function hashFile(hash: Hash, path: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const stream = createReadStream(path);
    stream.on('data', (chunk) => hash.update(chunk));
    stream.on('error', reject);
    stream.on('end', resolve);
  });
}

/**
 * A digest of everything that decides the tree on the box: HEAD, the manifest, the content of every file that
 * may differ from HEAD (all files when there is no HEAD) and the sync settings. Equal digests mean equal trees,
 * so the box can skip rsync. Clean tracked files are covered by HEAD, so a warm rerun hashes only dirty files.
 */
export async function computeFingerprint(manifest: Manifest, settings: Record<string, unknown>): Promise<string> {
  const head = await gitHead(manifest.repoRoot);
  const changed = head ? await gitChangedSinceHead(manifest.repoRoot) : undefined;
  const hash = createHash('sha256');
  hash.update(`${SYNC_FORMAT}\nhead=${head ?? 'none'}\n`);
  hash.update(`settings=${JSON.stringify(settings)}\n`);
  hash.update(`rules=${JSON.stringify(manifest.rules.patterns)}\n`);
  hash.update(`manifest=${createHash('sha256').update(manifestList(manifest)).digest('hex')}\n`);
  for (const entry of manifest.entries) {
    if (entry.tracked && changed && !changed.has(entry.path)) continue;
    const full = join(manifest.repoRoot, entry.path);
    hash.update(`path=${entry.path}\0`);
    try {
      const st = await lstat(full);
      if (st.isSymbolicLink()) {
        hash.update(`link=${await readlink(full)}\0`);
      } else {
        hash.update(`mode=${(st.mode & 0o111) !== 0 ? 'x' : '-'} size=${st.size}\0`);
        await hashFile(hash, full);
      }
    } catch {
      hash.update('missing\0');
    }
  }
  return hash.digest('hex');
}

import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { gitHeadState } from './git.ts';
import type { Manifest } from './manifest.ts';
import { manifestList } from './manifest.ts';

/** Bump when anything that decides the box's tree changes meaning (rsync flags, deletion rules). */
export const SYNC_FORMAT = 'crabbox-sync/1';

/** Streams a file into several hashes at once. */
async function hashFile(hashes: Hash[], path: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const stream = createReadStream(path);
    stream.on('data', (chunk) => {
      for (const h of hashes) h.update(chunk);
    });
    stream.on('error', reject);
    stream.on('end', resolve);
  });
}

/** What a path holds now: git's mode, its git blob id and a content digest; undefined when it is gone. */
async function describe(full: string): Promise<{ mode: string; blob: string; digest: string } | undefined> {
  try {
    const st = await lstat(full);
    const blob = createHash('sha1');
    const digest = createHash('sha256');
    if (st.isSymbolicLink()) {
      const target = Buffer.from(await readlink(full, 'buffer'));
      blob.update(`blob ${target.length}\0`).update(target);
      digest.update('link\0').update(target);
      return { mode: '120000', blob: blob.digest('hex'), digest: digest.digest('hex') };
    }
    const mode = (st.mode & 0o100) !== 0 ? '100755' : '100644';
    blob.update(`blob ${st.size}\0`);
    digest.update(`file ${mode}\0`);
    await hashFile([blob, digest], full);
    return { mode, blob: blob.digest('hex'), digest: digest.digest('hex') };
  } catch {
    return undefined;
  }
}

/**
 * A digest of everything that decides the tree on the box: HEAD, the manifest, the content of every file that
 * may differ from HEAD (all files when there is no HEAD) and the sync settings. Equal digests mean equal trees,
 * so the box can skip rsync. Clean tracked files are covered by HEAD, so a warm rerun hashes only dirty files.
 * `headState` lets a caller ask git for HEAD while the manifest is being built.
 */
export async function computeFingerprint(manifest: Manifest, settings: Record<string, unknown>, headState?: ReturnType<typeof gitHeadState>): Promise<string> {
  const { head, changed } = await (headState ?? gitHeadState(manifest.repoRoot));
  const hash = createHash('sha256');
  hash.update(`${SYNC_FORMAT}\nhead=${head ?? 'none'}\n`);
  hash.update(`settings=${JSON.stringify(settings)}\n`);
  hash.update(`rules=${JSON.stringify(manifest.rules.patterns)}\n`);
  hash.update(`manifest=${createHash('sha256').update(manifestList(manifest)).digest('hex')}\n`);
  for (const entry of manifest.entries) {
    const atHead = changed?.get(entry.path);
    if (entry.tracked && changed && !atHead) continue;
    const now = await describe(join(manifest.repoRoot, entry.path));
    // git's stat cache may call a file changed that is not: the same mode and blob as HEAD means clean.
    if (entry.tracked && atHead && now && now.mode === atHead.mode && now.blob === atHead.blob) continue;
    hash.update(`path=${entry.path}\0${now ? now.digest : 'missing'}\0`);
  }
  return hash.digest('hex');
}

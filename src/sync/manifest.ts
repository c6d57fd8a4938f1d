import { CrabboxError } from '../domain/errors.ts';
import type { ExcludeRules } from './excludes.ts';
import { gitTopLevel } from './git.ts';
import { compareBytes } from './order.ts';
import { scanCheckout, stateEntries, trackedOf } from './scan.ts';

export { compareBytes };

export interface ManifestEntry {
  path: string;
  /** lstat size: file bytes, or the link target's length for a symlink. */
  size: number;
  kind: 'file' | 'symlink';
  tracked: boolean;
}

export interface Manifest {
  repoRoot: string;
  /** Sorted by path (byte order of the UTF-8 names, the order `sort -z` uses on the box with LC_ALL=C). */
  entries: ManifestEntry[];
  bytes: number;
  /** Tracked files missing from the working tree: they leave the manifest, so they are deleted on the box. */
  deletedTracked: string[];
  /** Counts of what was left out, for `sync-plan`. */
  skipped: { excluded: number; directories: string[] };
  rules: ExcludeRules;
}

/** Finds the checkout root for `cwd` or fails with a clear sync error. */
export async function requireRepoRoot(cwd: string): Promise<string> {
  const root = await gitTopLevel(cwd);
  if (!root) throw new CrabboxError('sync_failed', `${cwd} is not inside a git checkout; crabbox syncs what git sees`, { hint: 'run it from a git checkout, or pass --no-sync' });
  return root;
}

/**
 * The set of files a sync sends, listed in full: tracked plus untracked-not-ignored files (git), minus excludes.
 * Directories (submodules, nested repositories) are skipped; symlinks are kept as links. `cacheDir` lets the scan
 * start from the sync cache (it is only read here).
 */
export async function buildManifest(options: { repoRoot: string; exclude: readonly string[]; cacheDir?: string | undefined }): Promise<Manifest> {
  const scan = await scanCheckout({ repoRoot: options.repoRoot, exclude: options.exclude, cacheDir: options.cacheDir, writable: false });
  const { state } = scan;
  const entries: ManifestEntry[] = [];
  let bytes = 0;
  for await (const e of stateEntries(state)) {
    entries.push({ path: e.path, size: e.state.size, kind: e.state.id.startsWith('120000 ') ? 'symlink' : 'file', tracked: e.tracked });
    bytes += e.state.size;
  }
  const directories = [...scan.untrackedDirectories];
  let excluded = scan.untrackedExcluded;
  for (const record of (await trackedOf(state)).records()) {
    if (record.flag === 'd') directories.push(record.path);
    else if (record.flag === 'x') excluded++;
  }
  const deletedTracked: string[] = [];
  for (const [path, e] of state.dirty) {
    if (e.dir) directories.push(path);
    else if (e.tracked && e.now === null) deletedTracked.push(path);
  }
  deletedTracked.sort(compareBytes);
  return { repoRoot: options.repoRoot, entries, bytes, deletedTracked, skipped: { excluded, directories }, rules: scan.rules };
}

import { lstat, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CrabboxError } from '../domain/errors.ts';
import { CRABBOXIGNORE, excludeRules, type ExcludeRules } from './excludes.ts';
import { gitFiles, gitTopLevel } from './git.ts';
import { showPath, unsafePathReason } from './paths.ts';

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

/** Byte-order comparison of UTF-8 strings (what `LC_ALL=C sort` does). */
export function compareBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** Finds the checkout root for `cwd` or fails with a clear sync error. */
export async function requireRepoRoot(cwd: string): Promise<string> {
  const root = await gitTopLevel(cwd);
  if (!root) throw new CrabboxError('sync_failed', `${cwd} is not inside a git checkout; crabbox syncs what git sees`, { hint: 'run it from a git checkout, or pass --no-sync' });
  return root;
}

async function readIgnoreFile(repoRoot: string): Promise<string | undefined> {
  try {
    return await readFile(join(repoRoot, CRABBOXIGNORE), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new CrabboxError('sync_failed', `cannot read ${CRABBOXIGNORE}: ${(error as Error).message}`);
  }
}

/** Runs `fn` over items with at most `limit` in flight (lstat of many files without exhausting descriptors). */
async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/**
 * The set of files a sync sends: tracked plus untracked-not-ignored files (git), minus excludes.
 * Directories (submodules, nested repositories) are skipped; symlinks are kept as links.
 */
export async function buildManifest(options: { repoRoot: string; exclude: readonly string[] }): Promise<Manifest> {
  const { repoRoot } = options;
  const rules = excludeRules({ configured: options.exclude, crabboxignore: await readIgnoreFile(repoRoot) });
  const { tracked, all } = await gitFiles(repoRoot);
  const skipped = { excluded: 0, directories: [] as string[] };
  const candidates: string[] = [];
  for (const path of all) {
    if (path.endsWith('/')) {
      skipped.directories.push(path.slice(0, -1));
      continue;
    }
    const reason = unsafePathReason(path);
    if (reason) throw new CrabboxError('sync_failed', `refusing to sync ${showPath(path)}: ${reason}`);
    if (rules.excludes(path, tracked.has(path))) skipped.excluded++;
    else candidates.push(path);
  }
  const deletedTracked: string[] = [];
  const stats = await mapLimit(candidates, 64, async (path) => {
    try {
      return await lstat(join(repoRoot, path));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT' || (error as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
      throw new CrabboxError('sync_failed', `cannot read ${showPath(path)}: ${(error as Error).message}`);
    }
  });
  const entries: ManifestEntry[] = [];
  let bytes = 0;
  candidates.forEach((path, i) => {
    const st = stats[i];
    if (!st) {
      if (tracked.has(path)) deletedTracked.push(path);
      return;
    }
    if (st.isDirectory()) {
      skipped.directories.push(path);
      return;
    }
    if (!st.isFile() && !st.isSymbolicLink()) return; // sockets, fifos: nothing to copy
    entries.push({ path, size: st.size, kind: st.isSymbolicLink() ? 'symlink' : 'file', tracked: tracked.has(path) });
    bytes += st.size;
  });
  entries.sort((a, b) => compareBytes(a.path, b.path));
  deletedTracked.sort(compareBytes);
  return { repoRoot, entries, bytes, deletedTracked, skipped, rules };
}

/** The manifest as the NUL-terminated list rsync (`--from0 --files-from=-`) and the box read. */
export function manifestList(manifest: Pick<Manifest, 'entries'>): Buffer {
  return Buffer.from(manifest.entries.map((e) => `${e.path}\0`).join(''), 'utf8');
}

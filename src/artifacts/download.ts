import { lstatSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Clock } from '../domain/clock.ts';
import { CrabboxError } from '../domain/errors.ts';
import type { BoxConnection } from '../sync/box.ts';
import { fetchFromBox, type BoxEntry, type FetchLimits } from './fetch.ts';
import { downloadMatcher, rootOf } from './globs.ts';
import type { ArtifactsSummary } from '../domain/artifacts.ts';

export type { ArtifactsSummary };

export const PATHS_KEPT = 200;

/** A folder under the checkout, made if missing; refused when it is a symlink or not a folder. */
function realFolder(path: string, shown: string): void {
  try {
    mkdirSync(path, { mode: 0o755 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  if (!lstatSync(path).isDirectory()) throw new CrabboxError('invalid_input', `${shown} is not a folder (a symlink or a file): artifacts are never written through it`, { hint: `remove ${shown}` });
}

/**
 * Copies the files matching `patterns` from the checkout on the box into `<repoRoot>/.crabbox/artifacts/<name>/`,
 * keeping their relative paths. The folder is made only when something matches; it must not exist yet.
 */
export async function downloadArtifacts(options: {
  box: BoxConnection;
  workdir: string;
  /** Validated patterns (validateDownloadPattern). */
  patterns: readonly string[];
  repoRoot: string;
  /** The run id (or another name unique to this run). */
  name: string;
  limits: FetchLimits;
  warn: (line: string) => void;
  /** Bounds the transfer (10 minutes). */
  clock?: Pick<Clock, 'setTimeout'> | undefined;
}): Promise<ArtifactsSummary> {
  const dir = `.crabbox/artifacts/${options.name}`;
  const summary: ArtifactsSummary = { dir, files: 0, bytes: 0, paths: [], omitted: 0, skipped: 0 };
  const matcher = downloadMatcher(options.patterns);
  const matched = new Set<number>();
  const dest = join(options.repoRoot, '.crabbox', 'artifacts', options.name);
  let created = false;
  try {
    const result = await fetchFromBox({
      box: options.box, workdir: options.workdir, roots: [...new Set(options.patterns.map(rootOf))], limits: options.limits, clock: options.clock,
      select: (entries: BoxEntry[]) => {
        const chosen = new Map<string, string>();
        for (const entry of entries) {
          const index = matcher(entry.path);
          if (index === undefined) continue;
          matched.add(index);
          if (entry.kind === 'file') chosen.set(entry.path, entry.path);
          else summary.skipped++;
        }
        if (chosen.size > 0 && chosen.size <= options.limits.maxFiles) {
          realFolder(join(options.repoRoot, '.crabbox'), '.crabbox');
          realFolder(join(options.repoRoot, '.crabbox', 'artifacts'), '.crabbox/artifacts');
          try {
            mkdirSync(dest, { mode: 0o755 });
            created = true;
          } catch (error) {
            if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw new CrabboxError('invalid_input', `${dir} already exists; artifacts are never written over`);
            throw error;
          }
        }
        return { dest, files: chosen };
      },
    });
    summary.files = result.files.length;
    summary.bytes = result.bytes;
    summary.paths = result.files.slice(0, PATHS_KEPT);
    summary.omitted = Math.max(0, result.files.length - PATHS_KEPT);
  } catch (error) {
    // A copy that stopped part way leaves nothing behind: what came back is all or nothing.
    if (created) rmSync(dest, { recursive: true, force: true });
    summary.error = (error as Error).message;
    options.warn(`warning: download: ${summary.error}`);
  }
  options.patterns.forEach((pattern, index) => {
    if (!matched.has(index) && !summary.error) options.warn(`warning: download ${JSON.stringify(pattern)}: nothing matched on the box`);
  });
  if (summary.skipped > 0) options.warn(`warning: download: ${summary.skipped} matching symlinks or special files were not copied`);
  return summary;
}

import { lstatSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BoxConnection } from '../sync/box.ts';
import { listBoxFiles, readBoxFiles } from '../sync/box-files.ts';
import { matchJUnitFiles, validateJUnitPattern } from './globs.ts';
import { JUNIT_LIMITS, summarizeJUnit, type JUnitInputFile, type JUnitSummary } from './junit.ts';

/** Where report files come from: the box's workdir over ssh, or a local folder. Paths are `/`-separated and relative. */
export interface JUnitSource {
  /** Sizes are optional: without one, the read itself is capped and the summarizer checks what came back. */
  list(): Promise<{ path: string; size?: number | undefined }[]>;
  read(path: string): Promise<Uint8Array>;
}

/**
 * Finds the reports the patterns name, reads only those within the caps (a report over 16 MiB, or past the 64 MiB
 * total or the file count, is never read), and summarizes them. A pattern that matches nothing is a warning.
 */
export async function collectJUnit(patterns: readonly string[], source: JUnitSource): Promise<JUnitSummary> {
  const checked = patterns.map(validateJUnitPattern);
  const listing = await source.list();
  const sizes = new Map(listing.map((f) => [f.path, f.size]));
  const matched = matchJUnitFiles(listing.map((f) => f.path), checked);
  const files: JUnitInputFile[] = [];
  let total = 0;
  for (const [index, path] of matched.entries()) {
    const known = sizes.get(path);
    const size = known ?? 0;
    const readable = index < JUNIT_LIMITS.files && size <= JUNIT_LIMITS.fileBytes && total + size <= JUNIT_LIMITS.totalBytes;
    const content = readable ? await source.read(path) : new Uint8Array(0);
    if (readable) total += known ?? content.byteLength;
    files.push({ path, ...(known === undefined ? {} : { size: known }), content });
  }
  const summary = summarizeJUnit(files);
  for (const pattern of checked) {
    if (matchJUnitFiles(matched, [pattern]).length === 0 && summary.warnings.length < JUNIT_LIMITS.warnings) summary.warnings.push(`no file matched ${JSON.stringify(pattern)}`);
  }
  return summary;
}

const SKIP_DIRS = new Set(['.git', 'node_modules']);
const MAX_ENTRIES = 100_000;

/** A JUnitSource over a local folder (regular files only; symlinks are not followed; .git and node_modules skipped). */
export function localJUnitSource(root: string): JUnitSource {
  return {
    async list() {
      const out: { path: string; size: number }[] = [];
      const walk = (rel: string): void => {
        for (const entry of readdirSync(join(root, rel), { withFileTypes: true })) {
          if (out.length >= MAX_ENTRIES) return;
          const path = rel ? `${rel}/${entry.name}` : entry.name;
          if (entry.isDirectory() && !SKIP_DIRS.has(entry.name)) walk(path);
          else if (entry.isFile()) out.push({ path, size: lstatSync(join(root, path)).size });
        }
      };
      walk('');
      return out;
    },
    async read(path) {
      return readFileSync(join(root, path));
    },
  };
}

/**
 * A JUnitSource over the workdir on a leased box. The listing has no sizes, so each read is cut one byte past the
 * per-report cap: an oversized report then reaches the summarizer as over the cap and is skipped with a warning.
 */
export function boxJUnitSource(box: BoxConnection, workdir: string): JUnitSource {
  return {
    async list() {
      return (await listBoxFiles(box, workdir)).map((path) => ({ path }));
    },
    async read(path) {
      const [file] = await readBoxFiles(box, workdir, [path], { maxBytes: JUNIT_LIMITS.fileBytes + 1 });
      return file?.content ?? new Uint8Array(0);
    },
  };
}

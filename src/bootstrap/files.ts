import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

/**
 * The bootstrap's template and script files ship inside the package (`src/bootstrap/files`, listed in package.json
 * `files`). They are found from the package root, so the same lookup works from src/ and from the dist/ bundle.
 * (The Worker build replaces this module with one that carries the files: scripts/worker-build.ts.)
 */
export function bootstrapFilesDir(from: string = import.meta.url): string {
  let dir = dirname(fileURLToPath(from));
  for (;;) {
    const candidate = join(dir, 'src', 'bootstrap', 'files');
    if (existsSync(join(dir, 'package.json')) && existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) throw new Error('crabbox: cannot find src/bootstrap/files in the package; the installation is incomplete');
    dir = parent;
  }
}

/** Files the bootstrap ships from elsewhere in the package, by the name it uses for them. */
export const OTHER_FILES: Record<string, string> = { 'pool-box.sh': '../../machine-access/scripts/pool-box.sh' };

/** Reads one bootstrap file by its path under the files directory (or one of OTHER_FILES by its name). */
export function readBootstrapFile(name: string): string {
  return readFileSync(join(bootstrapFilesDir(), OTHER_FILES[name] ?? name), 'utf8');
}

/**
 * The text of a bootstrap file as it ships in the user data: pool-box.sh without its comment-only lines (its comments
 * are for readers of the source and would cost about 1.8 KB of EC2's 16 KB; it has no heredoc nor multi-line string,
 * so no such line is data). Every other file ships as it is.
 */
export function shippedText(name: string, text: string): string {
  if (name !== 'pool-box.sh') return text;
  return text.split('\n').filter((line, i) => i === 0 || !/^\s*#/.test(line)).join('\n');
}

/** One bootstrap file gzipped and in base64, for cloud-init's `encoding: gz+b64` (keeps the user data under 16 KB). */
export function gzippedBootstrapFile(name: string): string {
  return gzipSync(Buffer.from(shippedText(name, readBootstrapFile(name)), 'utf8'), { level: 9 }).toString('base64');
}

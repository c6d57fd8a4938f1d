import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The bootstrap's template and script files ship inside the package (`src/bootstrap/files`, listed in package.json
 * `files`). They are found from the package root, so the same lookup works from src/ and from the dist/ bundle.
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

/** Reads one bootstrap file by its path under the files directory. */
export function readBootstrapFile(name: string): string {
  return readFileSync(join(bootstrapFilesDir(), name), 'utf8');
}

import { accessSync, constants } from 'node:fs';
import { spawnSync } from 'node:child_process';

/**
 * Preconditions of tests that need what CI has: the suite runs as root after `bash scripts/setup.sh --test`.
 * A missing precondition throws (the test fails with the reason); tests are never skipped for it.
 */

const HOW = 'run the suite as root after `bash scripts/setup.sh --test`, as CI does (README: "npm test")';

export function requireRoot(why: string): void {
  if (process.getuid?.() !== 0) throw new Error(`this test needs root (${why}); ${HOW}`);
}

export function requireCommands(...tools: string[]): void {
  const missing = tools.filter((tool) => spawnSync('sh', ['-c', `command -v '${tool}'`]).status !== 0);
  if (missing.length > 0) throw new Error(`this test needs ${missing.join(', ')}, not installed; ${HOW}`);
}

export function requireWritable(dir: string, why: string): void {
  try {
    accessSync(dir, constants.W_OK);
  } catch {
    throw new Error(`this test needs write access to ${dir} (${why}); ${HOW}`);
  }
}

import ignore, { type Ignore } from 'ignore';

/**
 * Folders that are almost always dependencies, build output or caches. They apply to untracked files only:
 * a file git tracks is part of the tree the user committed, so only an explicit exclude can drop it
 * (see docs/decisions/0010-sync-builtin-excludes.md).
 */
export const BUILTIN_EXCLUDES: readonly string[] = [
  '.git/',
  'node_modules/',
  '.turbo/',
  '.next/',
  '.nuxt/',
  '.svelte-kit/',
  '.parcel-cache/',
  '.cache/',
  'dist/',
  'coverage/',
  '.nyc_output/',
  '.pnpm-store/',
  '.yarn/cache/',
  '.npm/',
  '.gradle/',
  'target/',
  '.venv/',
  '__pycache__/',
  '.pytest_cache/',
  '.mypy_cache/',
  '.ruff_cache/',
  '.tox/',
  '.DS_Store',
  // What `crabbox run --download` brought back from the box (docs/artifacts.md): never sent to the next box.
  '.crabbox/artifacts/',
];

export const CRABBOXIGNORE = '.crabboxignore';

export interface ExcludeRules {
  /** True when the path is never synced (configured excludes and .crabboxignore; always `.git`). */
  excludes(path: string, tracked: boolean): boolean;
  /** The patterns in force, for the fingerprint and `sync-plan`. */
  readonly patterns: { builtin: readonly string[]; configured: readonly string[]; crabboxignore: readonly string[] };
}

/** Splits a .crabboxignore file into pattern lines (comments and blanks dropped, as git does). */
export function parseIgnoreFile(text: string): string[] {
  return text.split(/\r?\n/).filter((line) => line.trim() !== '' && !line.startsWith('#'));
}

/** Builds the exclude rules from the built-in list, config `sync.exclude` and the repo's `.crabboxignore` text. */
export function excludeRules(options: { configured: readonly string[]; crabboxignore?: string | undefined; builtin?: readonly string[] }): ExcludeRules {
  const builtin = options.builtin ?? BUILTIN_EXCLUDES;
  const crabboxignore = parseIgnoreFile(options.crabboxignore ?? '');
  const untracked: Ignore = ignore().add([...builtin]);
  const explicit: Ignore = ignore().add(['.git/', ...options.configured, ...crabboxignore]);
  return {
    excludes: (path, tracked) => explicit.ignores(path) || (!tracked && untracked.ignores(path)),
    patterns: { builtin, configured: [...options.configured], crabboxignore },
  };
}

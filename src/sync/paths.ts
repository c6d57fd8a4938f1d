/** Rules for the relative paths Crabbox syncs and deletes: checked locally and again on the box. */

/** Why a path from git cannot be synced, or undefined when it is safe. */
export function unsafePathReason(path: string): string | undefined {
  if (path === '') return 'empty path';
  if (path.startsWith('/')) return 'absolute path';
  if (path.includes('\0')) return 'NUL byte in path';
  for (const segment of path.split('/')) {
    if (segment === '') return 'empty path segment';
    if (segment === '.' || segment === '..') return `"${segment}" path segment`;
  }
  return undefined;
}

/** A name safe to use as one remote directory component: letters, digits, `.`, `_`, `-`; never empty or dots only. */
export function safeDirName(name: string): string {
  const cleaned = name.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 64);
  return cleaned === '' || /^\.+$/.test(cleaned) ? 'repo' : cleaned;
}

export { showPath } from '../domain/show-path.ts';

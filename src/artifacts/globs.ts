import { CrabboxError } from '../domain/errors.ts';
import { globToRegExp } from '../results/globs.ts';

/**
 * Download paths are globs relative to the checkout on the box, as JUnit paths are: `coverage/**`, `report.html`,
 * `test-results/` (a folder: everything under it), `logs/*.txt`. `**` spans folders, `*` and `?` stay in one segment.
 */

/** Refuses a path that could reach outside the checkout (absolute, `~`, `..`), a leading `-`, or control characters. */
export function validateDownloadPattern(pattern: string, label = '--download'): string {
  const shown = JSON.stringify(pattern.slice(0, 80));
  if (pattern === '' || pattern.length > 500) throw new CrabboxError('bad_request', `${label} ${shown}: must be 1 to 500 characters`);
  if (/[\0-\x1f]/.test(pattern)) throw new CrabboxError('bad_request', `${label} ${shown}: contains a control character`);
  if (pattern.startsWith('/') || pattern.startsWith('~')) throw new CrabboxError('bad_request', `${label} ${shown}: must be relative to the checkout on the box`);
  if (pattern.split('/').includes('..')) throw new CrabboxError('bad_request', `${label} ${shown}: must not contain ..`);
  if (pattern.startsWith('-')) throw new CrabboxError('bad_request', `${label} ${shown}: must not start with -`);
  const clean = pattern.replace(/^(\.\/)+/, '').replace(/\/+$/, '');
  return clean === '' || clean === '.' ? '.' : clean;
}

const GLOB = /[*?]/;

/** The folder (or file) the box lists for a pattern: its segments before the first one with a wildcard. */
export function rootOf(pattern: string): string {
  const segs = pattern.split('/').filter((s) => s !== '' && s !== '.');
  const literal: string[] = [];
  for (const seg of segs) {
    if (GLOB.test(seg)) break;
    literal.push(seg);
  }
  return literal.length ? literal.join('/') : '.';
}

/** A matcher over relative paths: a path matches a pattern itself, or lies under a folder the pattern names. */
export function downloadMatcher(patterns: readonly string[]): (path: string) => number | undefined {
  const res = patterns.map((p) => (p === '.' ? /^.*$/ : globToRegExp(p)));
  return (path) => {
    const prefixes: string[] = [];
    for (let at = path.indexOf('/'); at >= 0; at = path.indexOf('/', at + 1)) prefixes.push(path.slice(0, at));
    const index = res.findIndex((re) => re.test(path) || prefixes.some((dir) => re.test(dir)));
    return index < 0 ? undefined : index;
  };
}

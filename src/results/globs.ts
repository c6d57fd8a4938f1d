import { CrabboxError } from '../domain/errors.ts';

/**
 * JUnit report globs are relative to the workdir on the box: `reports/**\/*.xml`, `junit.xml`.
 * `**` matches any number of folders, `*` and `?` stay within one path segment.
 */

/** Refuses a pattern that could reach outside the workdir (absolute, `..`) or is not a plain glob. */
export function validateJUnitPattern(pattern: string): string {
  const shown = JSON.stringify(pattern.slice(0, 80));
  if (pattern === '' || pattern.length > 500) throw new CrabboxError('bad_request', `JUnit path ${shown} must be 1 to 500 characters`);
  if (/[\0\n\r]/.test(pattern)) throw new CrabboxError('bad_request', `JUnit path ${shown} contains a control character`);
  if (pattern.startsWith('/') || pattern.startsWith('~') || /^[A-Za-z]:[\\/]/.test(pattern)) {
    throw new CrabboxError('bad_request', `JUnit path ${shown} must be relative to the workdir`);
  }
  if (pattern.split(/[\\/]/).includes('..')) throw new CrabboxError('bad_request', `JUnit path ${shown} must not contain ..`);
  if (pattern.startsWith('-')) throw new CrabboxError('bad_request', `JUnit path ${shown} must not start with -`);
  return pattern.replace(/^(\.\/)+/, '');
}

/** Compiles a validated glob to a regular expression over `/`-separated relative paths. */
export function globToRegExp(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*' && pattern[i + 1] === '*') {
      const slash = pattern[i + 2] === '/';
      re += slash ? '(?:.*/)?' : '.*';
      i += slash ? 2 : 1;
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/** The relative paths (from a listing of the workdir) that any of the patterns names, in listing order, no duplicates. */
export function matchJUnitFiles(paths: readonly string[], patterns: readonly string[]): string[] {
  const res = patterns.map((p) => globToRegExp(validateJUnitPattern(p)));
  return paths.filter((path) => res.some((re) => re.test(path.replace(/^(\.\/)+/, ''))));
}

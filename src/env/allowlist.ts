import { CrabboxError } from '../domain/errors.ts';

/** An env name as crabbox accepts it: what POSIX shells can export. */
export const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** One allowlist entry: an exact name or a `PREFIX_*` prefix. */
export type EnvPattern = { kind: 'exact'; name: string } | { kind: 'prefix'; prefix: string };

/** Names never forwarded, whatever the allowlist says: crabbox's own credentials (the coordinator's and Cloudflare Access's). */
export const NEVER_FORWARD: ReadonlySet<string> = new Set(['CRABBOX_COORDINATOR_TOKEN', 'CRABBOX_ACCESS_CLIENT_SECRET', 'CRABBOX_ACCESS_TOKEN']);

export const DEFAULT_ENV_ALLOW = ['CI', 'NODE_OPTIONS'] as const;

/** Parses one allowlist entry; anything but `NAME` or `PREFIX*` (a bare `*`, `A-B`, `X=$(...)`) is refused in one line. */
export function parseEnvPattern(pattern: string): EnvPattern {
  const isPrefix = pattern.endsWith('*');
  const body = isPrefix ? pattern.slice(0, -1) : pattern;
  if (!ENV_NAME.test(body)) {
    const shown = JSON.stringify(pattern.length > 80 ? `${pattern.slice(0, 80)}…` : pattern);
    const why = pattern === '*' ? 'a bare * would forward every variable' : 'expected NAME or PREFIX_* (letters, digits, _; not starting with a digit)';
    throw new CrabboxError('invalid_config', `env allowlist pattern ${shown} refused: ${why}`, { hint: 'list each variable, or a prefix such as MYAPP_*' });
  }
  return isPrefix ? { kind: 'prefix', prefix: body } : { kind: 'exact', name: body };
}

/** Parses a whole allowlist; the first bad entry throws. */
export function parseEnvAllowlist(patterns: readonly string[]): EnvPattern[] {
  return patterns.map(parseEnvPattern);
}

/** True when the variable name is allowed by one of the patterns (and is a valid, forwardable name). */
export function isAllowed(name: string, patterns: readonly EnvPattern[]): boolean {
  if (!ENV_NAME.test(name) || NEVER_FORWARD.has(name)) return false;
  return patterns.some((p) => (p.kind === 'exact' ? p.name === name : name.startsWith(p.prefix)));
}

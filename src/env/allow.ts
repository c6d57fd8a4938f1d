import { CrabboxError } from '../domain/errors.ts';
import { registerSecret } from '../redact/redact.ts';

const PATTERN = /^[A-Za-z_][A-Za-z0-9_]*\*?$/;

/** Crabbox's own credentials: never forwarded, whatever the allowlist says. */
const NEVER_FORWARD = new Set(['CRABBOX_COORDINATOR_TOKEN']);

/** Checks allowlist patterns: exact names or `PREFIX_*`; a bare `*` or anything else is refused. */
export function validateAllowPatterns(patterns: readonly string[]): void {
  for (const p of patterns) {
    if (!PATTERN.test(p)) throw new CrabboxError('invalid_config', `env.allow: ${JSON.stringify(p.slice(0, 60))} is not an env name or PREFIX_* pattern (a bare * is not allowed)`);
  }
}

/** Whether an env name is allowed by the patterns. */
export function isAllowed(name: string, patterns: readonly string[]): boolean {
  return patterns.some((p) => (p.endsWith('*') ? name.startsWith(p.slice(0, -1)) : name === p));
}

/**
 * The env entries to forward: allowed names present in `env`, sorted. Every forwarded value is registered with the
 * redaction choke point, so it can never show up in diagnostics or stored log tails.
 */
export function selectEnv(env: NodeJS.ProcessEnv, patterns: readonly string[]): [string, string][] {
  validateAllowPatterns(patterns);
  const out: [string, string][] = [];
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined || NEVER_FORWARD.has(name) || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(name) || !isAllowed(name, patterns)) continue;
    registerSecret(value);
    out.push([name, value]);
  }
  return out.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

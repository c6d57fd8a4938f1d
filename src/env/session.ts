import { CrabboxError } from '../domain/errors.ts';
import { ENV_NAME, NEVER_FORWARD } from './allowlist.ts';
import type { EnvPair } from './select.ts';

/**
 * The caller's session context a run always gets (docs/env.md, "Session context"): a fixed list of non-secret names,
 * so a box answers `tput`, collation and time zone questions as the caller's machine does. Nothing else is forwarded
 * without the allowlist or `--env`. `LC_*` is every locale category the caller sets.
 */
export const SESSION_ENV_NAMES = ['TERM', 'LANG', 'LC_*', 'TZ', 'COLUMNS', 'LINES', 'CI'] as const;

/** The names describing the run itself, set by crabbox on the box. */
export const RUN_ENV_NAMES = ['CRABBOX_LEASE_ID', 'CRABBOX_RUN_ID', 'CRABBOX_SLUG', 'CRABBOX_PROVIDER'] as const;

/** The caller's terminal, when the command's output goes to one. */
export interface Terminal {
  columns?: number | undefined;
  rows?: number | undefined;
}

/** True for a name the session context owns (the allowlist never sends those: their values here are not secrets). */
export function isSessionName(name: string): boolean {
  return name === 'TERM' || name === 'LANG' || name === 'TZ' || name === 'COLUMNS' || name === 'LINES' || name === 'CI' || name.startsWith('LC_')
    || (RUN_ENV_NAMES as readonly string[]).includes(name);
}

/**
 * The session context of a caller: TERM (`dumb` without a terminal), LANG and LC_*, TZ and CI when set, COLUMNS and
 * LINES with a terminal. Values are not registered as secrets (they are not ones, and redacting `xterm` would mangle
 * output). Sorted by name.
 */
export function sessionEnv(env: NodeJS.ProcessEnv, terminal: Terminal | undefined, options: { pty?: boolean } = {}): EnvPair[] {
  // With a pty on the box the terminal is real there: its size lives on the pty (so a resize is seen), not in env.
  if (options.pty) return sessionEnv(env, undefined).map((p) => (p.name === 'TERM' ? { name: 'TERM', value: env.TERM && env.TERM !== 'dumb' ? env.TERM : 'xterm-256color' } : p));
  const pairs: EnvPair[] = [{ name: 'TERM', value: terminal ? env.TERM || 'dumb' : 'dumb' }];
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined || value.includes('\0') || !ENV_NAME.test(name)) continue;
    if (name === 'LANG' || name.startsWith('LC_') || name === 'TZ' || name === 'CI') pairs.push({ name, value });
  }
  if (terminal?.columns) pairs.push({ name: 'COLUMNS', value: String(terminal.columns) });
  if (terminal?.rows) pairs.push({ name: 'LINES', value: String(terminal.rows) });
  return pairs.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** The variables describing the run itself; the run id is absent when the run could not be recorded. */
export function runEnv(run: { leaseId: string; runId: string | undefined; slug: string; provider: string }): EnvPair[] {
  return [
    { name: 'CRABBOX_LEASE_ID', value: run.leaseId },
    { name: 'CRABBOX_PROVIDER', value: run.provider },
    ...(run.runId ? [{ name: 'CRABBOX_RUN_ID', value: run.runId }] : []),
    { name: 'CRABBOX_SLUG', value: run.slug },
  ];
}

/**
 * Checks the names of `--env NAME` (one more name forwarded for one run). A value (`--env A=b`) is refused: values
 * are read from the caller's environment, never from argv, where other users and shell history can see them.
 */
export function parseEnvFlag(name: string): string {
  const shown = JSON.stringify(name.length > 40 ? `${name.slice(0, 40)}…` : name);
  if (name.includes('=')) {
    const given = JSON.stringify(name.slice(0, Math.min(name.indexOf('='), 40)));
    throw new CrabboxError('bad_request', `--env ${given} with a value refused: give a name only; values are read from your environment, never from the command line`);
  }
  if (!ENV_NAME.test(name)) throw new CrabboxError('bad_request', `--env ${shown}: not an env name (letters, digits, _; not starting with a digit)`);
  if (NEVER_FORWARD.has(name)) throw new CrabboxError('bad_request', `--env ${name} refused: crabbox's own credentials are never forwarded`);
  return name;
}

/** One run's env: the allowlisted pairs (secrets, redacted), the session context and the run's own names; later wins. */
export function mergeEnv(...lists: (readonly EnvPair[])[]): EnvPair[] {
  const byName = new Map<string, string>();
  for (const list of lists) for (const { name, value } of list) byName.set(name, value);
  return [...byName].map(([name, value]) => ({ name, value })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

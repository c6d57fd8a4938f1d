import { registerSecret } from '../redact/redact.ts';
import { isAllowed, parseEnvAllowlist } from './allowlist.ts';
import { isSessionName } from './session.ts';

/** A forwarded variable. */
export interface EnvPair {
  name: string;
  value: string;
}

/**
 * Picks the variables the allowlist forwards from the local environment, sorted by name.
 * Every forwarded value is registered with the redactor, so it never shows up in output crabbox prints or stores.
 * A malformed pattern throws (nothing is forwarded). The session context's names (session.ts) are left to it: their
 * values are sent as they are and never registered, whatever the allowlist says.
 */
export function selectEnv(processEnv: NodeJS.ProcessEnv, patterns: readonly string[]): EnvPair[] {
  const allow = parseEnvAllowlist(patterns);
  const pairs: EnvPair[] = [];
  for (const [name, value] of Object.entries(processEnv)) {
    if (value === undefined || isSessionName(name) || !isAllowed(name, allow)) continue;
    pairs.push({ name, value });
  }
  pairs.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const pair of pairs) registerSecret(pair.value);
  return pairs;
}

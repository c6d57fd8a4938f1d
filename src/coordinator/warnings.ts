import { loginOnlyEntries } from './auth/identity.ts';
import type { CoordinatorConfig } from './config.ts';

/**
 * Settings that work but are probably not what the operator meant; `coordinator serve` logs each at start and
 * `crabbox doctor` shows them. One line each, with the fix.
 */
export function configWarnings(config: Pick<CoordinatorConfig, 'auth' | 'login'>): string[] {
  const warnings: string[] = [];
  if (config.login.github) {
    const names = loginOnlyEntries(config);
    if (names.length > 0) {
      warnings.push(`admins/maintainers ${names.map((n) => JSON.stringify(n)).join(', ')} grant nothing to GitHub logins, which match by immutable id only (a login can be renamed and reclaimed); list them as github-<id> (\`crabbox whoami\` shows it) - they still match operator-issued tokens`);
    }
  }
  return warnings;
}

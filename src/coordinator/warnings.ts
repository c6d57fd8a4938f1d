import { loginOnlyEntries } from './auth/identity.ts';
import type { CoordinatorConfig } from './config.ts';

/**
 * Settings that work but are probably not what the operator meant; `coordinator serve` logs each at start and
 * `crabbox doctor` shows them. One line each, with the fix.
 */
export function configWarnings(config: Pick<CoordinatorConfig, 'auth' | 'login'> & Partial<Pick<CoordinatorConfig, 'pools' | 'sshCa'>>): string[] {
  const warnings: string[] = [];
  if (config.login.github) {
    const names = loginOnlyEntries(config);
    if (names.length > 0) {
      warnings.push(`admins/maintainers ${names.map((n) => JSON.stringify(n)).join(', ')} grant nothing to GitHub logins, which match by immutable id only (a login can be renamed and reclaimed); list them as github-<id> (\`crabbox whoami\` shows it) - they still match operator-issued tokens`);
    }
  }
  const pools = (config.pools ?? []).filter((p) => p.max > 0);
  if (pools.length > 0 && !config.sshCa) {
    warnings.push(`warm pool${pools.length === 1 ? '' : 's'} ${pools.map((p) => p.name).join(', ')} without an SSH CA: pool machines outlive leases, and a lease's access ends only when its key is removed (a lost release keeps it until the scrub); set CRABBOX_SSH_CA_KEY_FILE so each lease gets a certificate that expires with it and is revoked at release (docs/ssh-ca.md)`);
  }
  return warnings;
}

import type { CoordinatorClient } from '../api/client.ts';
import { loadConfig, type Config } from '../config/load.ts';
import { CrabboxError } from '../domain/errors.ts';
import type { LeaseService } from '../leases/service.ts';
import type { AppContext } from './context.ts';
import { configFlags, directSession, poolFlag, type LeaseFlags } from './direct.ts';

export type { LeaseFlags } from './direct.ts';

/** Everything a lease use case needs, whichever mode is configured. */
export interface LeaseSession {
  config: Readonly<Config>;
  leases: LeaseService;
  /** Set in brokered mode. */
  coordinator?: CoordinatorClient | undefined;
  /** Whether the box is on this machine (rsync skips compression). */
  local: boolean;
  clock: AppContext['clock'];
}

/** The parts of the context the session needs (the CLI's login and whoami pass theirs). */
export type SessionContext = Pick<AppContext, 'env' | 'cwd' | 'clock' | 'debug' | 'warn'>;

/**
 * The one place the mode is chosen: with a coordinator configured (user config, CRABBOX_COORDINATOR, or
 * `crabbox login`) leases go through it; otherwise crabbox talks to the provider itself.
 */
export async function leaseSession(ctx: SessionContext, flags: LeaseFlags = {}): Promise<LeaseSession> {
  const config = loadConfig({ env: ctx.env, cwd: ctx.cwd, flags: configFlags(flags) });
  const pool = poolFlag(flags.pool);
  if (pool && !config.coordinator) {
    throw new CrabboxError('invalid_config', '--pool needs a coordinator: warm pools live there', { hint: 'run `crabbox login` (or set CRABBOX_COORDINATOR), or lease without --pool' });
  }
  if (!config.coordinator) {
    const direct = await directSession(ctx, flags, config);
    return { config: direct.config, leases: direct.leases, local: direct.provider.capabilities.local, clock: ctx.clock };
  }
  // Brokered mode's code (the coordinator client and its wire schemas) loads only when a coordinator is configured.
  const { brokeredSession } = await import('./coordinator-session.ts');
  return brokeredSession(ctx, flags, config, pool);
}

import type { AppContext } from './context.ts';
import { CrabboxError } from '../domain/errors.ts';
import { loadConfig, type Config, type ConfigFlags } from '../config/load.ts';
import type { Provider } from '../providers/provider.ts';
import { providerFor, localProviderFor } from '../providers/registry.ts';
import { resolveCallerCidr } from '../net/caller.ts';
import { createDirectLeaseService, type DirectLeaseService } from '../leases/direct.ts';
import { sweepIfDue } from '../leases/sweep.ts';
import { routedLeaseService } from '../leases/routed.ts';
import { pruneIndex } from '../leases/index-prune.ts';
import type { LeaseService } from '../leases/service.ts';

export interface DirectSession {
  config: Readonly<Config>;
  provider: Provider;
  leases: DirectLeaseService;
}
/** The lease settings a command or tool may override (the rest comes from config). */
export interface LeaseFlags {
  provider?: string;
  ttl?: string;
  idleTimeout?: string;
  keep?: boolean;
  class?: string;
  type?: string;
  /** `--pool [name]`: draw a warm pool machine (brokered mode only). */
  pool?: string | boolean;
}

const POOL_NAME = /^[a-z0-9][a-z0-9-]{0,31}$/;

/** `--pool` as the coordinator takes it: true, or a pool's name (checked here, in the flag's own terms). */
export function poolFlag(value: string | boolean | undefined): string | true | undefined {
  if (value === undefined || value === false) return undefined;
  if (value === true) return true;
  if (!POOL_NAME.test(value)) throw new CrabboxError('bad_request', `--pool ${JSON.stringify(value.slice(0, 40))}: expected a pool name (lowercase letters, digits and -, at most 32)`);
  return value;
}

export function configFlags(flags: LeaseFlags): ConfigFlags {
  return { provider: flags.provider, ttl: flags.ttl, idleTimeout: flags.idleTimeout, keep: flags.keep, class: flags.class, type: flags.type };
}

/**
 * Loads config, picks the provider and runs the opportunistic sweep of expired local machines (rate-limited),
 * so every direct-mode command also cleans up after forgotten or crashed sessions. `loaded`: the config the
 * caller already loaded with the same flags (read and validated once).
 */
export async function directSession(ctx: Pick<AppContext, 'env' | 'cwd' | 'clock' | 'debug' | 'warn'>, flags: LeaseFlags = {}, loaded?: Readonly<Config>): Promise<DirectSession> {
  const config = loaded ?? loadConfig({ env: ctx.env, cwd: ctx.cwd, flags: configFlags(flags) });
  const provider = await providerFor(config, { env: ctx.env, clock: ctx.clock });
  const buildProvider = (name: string): Promise<Provider> => providerFor({ ...config, provider: name as Config['provider'] }, { env: ctx.env, clock: ctx.clock });
  // What the sweep removed (a crashed session's box, a forgotten lease) is the user's to know, not only a debug line.
  const swept = await sweepIfDue({ provider: localProviderFor(config), clock: ctx.clock, stateDir: config.paths.stateDir, owner: config.owner, coordinator: config.coordinator, log: ctx.debug, report: (line) => ctx.warn(`crabbox: ${line}`) });
  // With the sweep (rate-limited): index entries of other providers whose machine is gone. Never fails the command.
  if (swept) await pruneIndex({ stateDir: config.paths.stateDir, providerFor: buildProvider, skip: 'local', trustTouched: { now: ctx.clock.now() }, log: ctx.debug }).catch(() => undefined);
  const callerCidr = (): Promise<string | undefined> => resolveCallerCidr({ env: ctx.env, warn: (line) => ctx.warn(line) });
  const serviceFor = (p: Provider): LeaseService => createDirectLeaseService({ config, provider: p, clock: ctx.clock, log: ctx.debug, callerCidr });
  const own = serviceFor(provider);
  // An explicit --provider wins; otherwise a ref the lease index knows goes to the provider that made it.
  const leases = flags.provider
    ? own
    : routedLeaseService({
        configured: own,
        configuredProvider: provider.name,
        stateDir: config.paths.stateDir,
        serviceFor: async (name) => serviceFor(await buildProvider(name)),
        log: ctx.debug,
      });
  return { config, provider, leases };
}

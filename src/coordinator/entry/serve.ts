import { join } from 'node:path';
import { stateDir } from '../../config/paths.ts';
import type { Clock } from '../../domain/clock.ts';
import { CrabboxError } from '../../domain/errors.ts';
import { describeStore } from '../../storage/open.ts';
import type { Logger } from '../deps.ts';
import { loadServeSettings } from '../load-config.ts';
import { createProviderEventSink } from '../provider-events.ts';
import { buildProviders } from '../providers.ts';
import { startCoordinator, type RunningCoordinator } from './node.ts';
import { buildMachineAccess, loadAdminKey } from '../pool/wiring.ts';
import { loadConfig } from '../../config/load.ts';
import { mergeClasses } from '../../providers/classes.ts';
import { unknownSudoClasses } from '../config.ts';

/** `crabbox coordinator serve` flags, as given. */
export interface ServeFlags {
  host?: string | undefined;
  port?: number | undefined;
  db?: string | undefined;
  config?: string | undefined;
  providers?: string | undefined;
}

/**
 * The Node coordinator as `crabbox coordinator serve` starts it: settings from env and flags, the providers, the
 * store, provider events into the audit trail. A port that cannot be had is one line (exit 69).
 */
export async function serveCoordinator(options: { env: NodeJS.ProcessEnv; cwd: string; clock: Clock; logger: Logger; warn: (line: string) => void; flags: ServeFlags }): Promise<{ running: RunningCoordinator; providers: string[]; database: string }> {
  const { env, flags } = options;
  const settings = loadServeSettings(env, { host: flags.host, port: flags.port, database: flags.db, config: flags.config });
  const names = (flags.providers ?? env.CRABBOX_COORDINATOR_PROVIDERS ?? 'local').split(',').map((s) => s.trim()).filter(Boolean);
  const events = createProviderEventSink();
  const coordinatorState = join(stateDir(env), 'coordinator');
  const providers = await buildProviders(names, { env, cwd: options.cwd, clock: options.clock, stateDir: coordinatorState, onEvent: events.onEvent });
  // Warm pools: the installation admin key (a coordinator secret) and how each provider's pool machines are reached.
  const adminKey = await loadAdminKey(env, coordinatorState);
  const access = buildMachineAccess(settings.config.pools, providers, { stateDir: coordinatorState, adminKey });
  // The class table is the operator's (built-in classes plus `classes` in their user config), as the providers use it.
  const known = Object.keys(mergeClasses(loadConfig({ env, cwd: options.cwd, noRepo: true }).classes));
  const unknown = unknownSudoClasses(settings.config.sudo.classes, known);
  if (unknown.length > 0) throw new CrabboxError('invalid_config', `sudo.classes: unknown class ${unknown.map((c) => JSON.stringify(c)).join(', ')}`, { hint: `known classes: ${known.join(', ')} (add one under classes: in the operator's user config); docs/classes.md` });
  if (!settings.config.defaultProvider || !providers[settings.config.defaultProvider]) settings.config.defaultProvider = names[0]!;
  if (!settings.config.auth.sharedToken && !settings.config.auth.sessionSecret) options.warn('warning: no CRABBOX_SHARED_TOKEN or CRABBOX_SESSION_SECRET set: every route but /v1/health and /v1/ready will answer 401 (`eval "$(crabbox coordinator init-secrets)"` makes both)');
  let running: RunningCoordinator;
  try {
    running = await startCoordinator({ settings, providers, access, adminPublicKey: adminKey?.publicKey, clock: options.clock, logger: options.logger });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') throw new CrabboxError('unavailable', `cannot listen on ${settings.host}:${settings.port} (${code})`, { hint: 'pick another --port, or 0 for any free port' });
    throw error;
  }
  events.attach({ store: running.deps.store, clock: running.deps.clock });
  return { running, providers: names, database: describeStore({ sqlitePath: settings.database, postgresUrl: settings.databaseUrl, postgresSchema: settings.databaseSchema }) };
}

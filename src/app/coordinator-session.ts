import { CoordinatorClient } from '../api/client.ts';
import { loadConfig, validateCoordinatorUrl, type Config } from '../config/load.ts';
import { parseDuration } from '../domain/duration.ts';
import { CrabboxError } from '../domain/errors.ts';
import { createBrokeredLeaseService } from '../leases/brokered.ts';
import { brokeredKeySweepIfDue } from '../leases/brokered-keys.ts';
import { resolveCallerCidr } from '../net/caller.ts';
import { providerWantsCallerCidr } from '../providers/registry.ts';
import { accessCredentials } from './access.ts';
import type { AppContext } from './context.ts';
import type { LeaseFlags } from './direct.ts';
import type { LeaseSession, SessionContext } from './session.ts';

// Brokered mode: the coordinator client and the lease session over it. A module of its own so that direct mode, the
// default, never loads the client and its wire schemas (leaseSession imports this only when a coordinator is set).

const DEFAULT_TIMEOUT_MS = 30_000;

/** How long one coordinator request may take: CRABBOX_COORDINATOR_TIMEOUT (a duration), default 30s. */
function requestTimeoutMs(env: NodeJS.ProcessEnv): number {
  const raw = env.CRABBOX_COORDINATOR_TIMEOUT;
  if (!raw) return DEFAULT_TIMEOUT_MS;
  const seconds = parseDuration(raw, 'CRABBOX_COORDINATOR_TIMEOUT');
  if (seconds < 1 || seconds > 600) throw new CrabboxError('invalid_config', 'CRABBOX_COORDINATOR_TIMEOUT must be between 1s and 10m');
  return seconds * 1000;
}

/** The coordinator client for the configured coordinator; a one-line error when there is no token for it. */
export function brokeredClient(ctx: Pick<AppContext, 'env'>, config: Readonly<Config>): CoordinatorClient {
  const c = config.coordinator;
  if (!c) throw new CrabboxError('invalid_config', 'no coordinator configured', { hint: 'run `crabbox login --url URL` or set CRABBOX_COORDINATOR' });
  if (!c.token) throw new CrabboxError('unauthorized', `no token for the coordinator at ${c.url}`, { hint: 'run `crabbox login` (or set CRABBOX_COORDINATOR_TOKEN); `crabbox logout` removes the URL to go back to direct mode' });
  return clientFor(ctx, config, c);
}

/** The one place a coordinator client is built: owner/org (for the shared token), the request timeout, Access credentials. */
function clientFor(ctx: Pick<AppContext, 'env'>, config: Readonly<Config>, c: { url: string; token?: string | undefined; tokenKind: 'shared' | 'user' }): CoordinatorClient {
  return new CoordinatorClient({ url: c.url, token: c.token, tokenKind: c.tokenKind, owner: config.owner, org: config.org, timeoutMs: requestTimeoutMs(ctx.env), access: accessCredentials(ctx.env) });
}

/**
 * A coordinator client for login and whoami, which may name another coordinator (`--url`) or carry a token not
 * stored yet. The stored token belongs to the stored URL: it is never sent to another coordinator named by --url.
 */
export function coordinatorClient(ctx: Pick<AppContext, 'env' | 'cwd'>, overrides: { url?: string | undefined; token?: string | undefined; tokenKind?: 'shared' | 'user' } = {}): { client: CoordinatorClient; config: Readonly<Config>; url: string } {
  const config = loadConfig({ env: ctx.env, cwd: ctx.cwd, noRepo: true });
  const url = overrides.url !== undefined ? validateCoordinatorUrl(overrides.url) : config.coordinator?.url;
  if (!url) throw new CrabboxError('invalid_config', 'no coordinator configured', { hint: 'pass --url https://crabbox.example.com or set CRABBOX_COORDINATOR' });
  const token = overrides.token ?? (url === config.coordinator?.url ? config.coordinator?.token : undefined);
  const tokenKind = overrides.tokenKind ?? config.coordinator?.tokenKind ?? 'shared';
  return { client: clientFor(ctx, config, { url, token, tokenKind }), config, url };
}

/** The brokered half of leaseSession: leases go through the configured coordinator. */
export async function brokeredSession(ctx: SessionContext, flags: LeaseFlags, config: Readonly<Config>, pool: string | true | undefined): Promise<LeaseSession> {
  const client = brokeredClient(ctx, config);
  ctx.debug(`brokered mode: coordinator ${client.url}`);
  // Keys a killed CLI left behind (rate-limited like direct mode's sweep; never fails the command).
  await brokeredKeySweepIfDue({ client, stateDir: config.paths.stateDir, clock: ctx.clock, log: ctx.debug });
  const leases = createBrokeredLeaseService({
    client,
    stateDir: config.paths.stateDir,
    clock: ctx.clock,
    connectTimeoutSeconds: config.ssh.connectTimeoutSeconds,
    proxy: config.proxy,
    // Only what the user chose is sent; otherwise the coordinator's own defaults (within its own TTL cap) apply.
    defaults: {
      ttlSeconds: config.sources['lease.ttl'] === 'default' ? undefined : config.lease.ttlSeconds,
      idleTimeoutSeconds: config.sources['lease.idleTimeout'] === 'default' ? undefined : config.lease.idleTimeoutSeconds,
      keep: config.lease.keep,
      class: config.lease.class,
      type: config.lease.type,
      provider: flags.provider,
      ...(pool ? { pool } : {}),
    },
    log: ctx.debug,
    callerCidr: () => brokeredCallerCidr(ctx, flags.provider),
  });
  return { config, leases, coordinator: client, local: false, clock: ctx.clock };
}

/**
 * What a brokered create sends as the caller's CIDR: an explicit CRABBOX_CALLER_CIDR, or a detected address when the
 * named provider puts boxes behind a caller-only firewall. Otherwise nothing, and the coordinator uses the
 * request's source address.
 */
export async function brokeredCallerCidr(ctx: Pick<AppContext, 'env' | 'warn'>, provider: string | undefined): Promise<string | undefined> {
  const explicit = ctx.env.CRABBOX_CALLER_CIDR?.trim();
  if (!explicit && !(provider && providerWantsCallerCidr(provider))) return undefined;
  return resolveCallerCidr({ env: ctx.env, warn: (line) => ctx.warn(line) });
}

/** The config and, when one is configured, the coordinator client (history, logs, results read from it). */
export function maybeCoordinator(ctx: Pick<AppContext, 'env' | 'cwd'>): { config: Readonly<Config>; client: CoordinatorClient | undefined } {
  const config = loadConfig({ env: ctx.env, cwd: ctx.cwd });
  return { config, client: config.coordinator ? brokeredClient(ctx, config) : undefined };
}

/** The coordinator client, or a one-line error saying the command needs one. */
export function requireCoordinator(ctx: Pick<AppContext, 'env' | 'cwd'>, command: string): CoordinatorClient {
  const { client } = maybeCoordinator(ctx);
  if (!client) throw new CrabboxError('invalid_config', `\`crabbox ${command}\` needs a coordinator`, { hint: 'run `crabbox login --url URL` or set CRABBOX_COORDINATOR' });
  return client;
}
